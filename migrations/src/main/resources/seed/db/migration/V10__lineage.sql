-- Seed lineage (issue 8): an append-only, hash-chained, signed ledger of task runs. Three layers of tamper evidence:
-- the database refuses UPDATE/DELETE/TRUNCATE here (triggers) and the application role may only INSERT and SELECT;
-- every record carries the SHA-256 of its canonical body and of the previous record; every record is signed
-- (Ed25519) and the chain head is also written to the Kafka topic seed.lineage, so even a superuser who rewrites
-- rows and recomputes the chain is detected by `seed lineage verify`.

-- Public keys that signed records. key_id = SHA-256 of the base64 X.509 encoding.
CREATE TABLE lineage_keys (
    key_id      CHAR(64)    PRIMARY KEY,
    algorithm   TEXT        NOT NULL CHECK (algorithm = 'Ed25519'),
    public_key  TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per task-run event. body is the canonical JSON that sha256 and signature cover; it includes seq and
-- prev_sha256, so rows cannot be reordered. The other columns repeat body fields for lookups.
CREATE TABLE lineage_records (
    seq           BIGINT      PRIMARY KEY CHECK (seq >= 1),
    event         TEXT        NOT NULL CHECK (event IN ('START', 'COMPLETE', 'FAIL', 'ABORT')),
    execution_id  TEXT        NOT NULL,
    task_run_id   TEXT        NOT NULL,
    stage         TEXT        NOT NULL,
    body          TEXT        NOT NULL,
    prev_sha256   CHAR(64)    NOT NULL,
    sha256        CHAR(64)    NOT NULL UNIQUE,
    key_id        CHAR(64)    NOT NULL REFERENCES lineage_keys (key_id),
    signature     TEXT        NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lineage_records_execution ON lineage_records (execution_id);
CREATE INDEX lineage_records_task_run ON lineage_records (task_run_id);

CREATE FUNCTION seed_lineage_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lineage is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER lineage_records_no_row_change BEFORE UPDATE OR DELETE ON lineage_records
    FOR EACH ROW EXECUTE FUNCTION seed_lineage_append_only();
CREATE TRIGGER lineage_records_no_statement_change BEFORE UPDATE OR DELETE OR TRUNCATE ON lineage_records
    FOR EACH STATEMENT EXECUTE FUNCTION seed_lineage_append_only();
CREATE TRIGGER lineage_keys_no_row_change BEFORE UPDATE OR DELETE ON lineage_keys
    FOR EACH ROW EXECUTE FUNCTION seed_lineage_append_only();
CREATE TRIGGER lineage_keys_no_statement_change BEFORE UPDATE OR DELETE OR TRUNCATE ON lineage_keys
    FOR EACH STATEMENT EXECUTE FUNCTION seed_lineage_append_only();

-- Seed's application role (seed_api, V4) may only INSERT and SELECT here: V4's default privileges gave it UPDATE and
-- DELETE on every later table, so take them back. The recorder switches to seed_api (SET LOCAL ROLE) for each append
-- even on a pool that logs in as the owner. Migrations run as the owner.
REVOKE ALL ON lineage_keys, lineage_records FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON lineage_keys, lineage_records FROM seed_api;
GRANT SELECT, INSERT ON lineage_keys, lineage_records TO seed_api;
