-- Model registry (issue 20): named aliases (production, candidate, ...) pointing at checkpoints by SHA-256 and path.
-- The history is the registry: every change (a promotion, a gated candidate, a rollback) is one appended row saying
-- who, when, why and the evaluation that justified it; an alias points at the checkpoint of its newest row. Nothing
-- is ever updated or deleted, so an alias's whole past stays readable and a rollback is a new row, not an edit.
-- Every row also names the signed lineage record of the same change (lineage_task_run -> lineage_records).
CREATE TABLE model_alias_history (
    seq              BIGSERIAL   PRIMARY KEY,
    alias            TEXT        NOT NULL CHECK (alias ~ '^[a-z][a-z0-9_-]{0,39}$'),
    action           TEXT        NOT NULL CHECK (action IN ('promote', 'candidate', 'rollback')),
    sha256           CHAR(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    path             TEXT        NOT NULL CHECK (length(path) BETWEEN 1 AND 4096),
    previous_sha256  CHAR(64)    CHECK (previous_sha256 IS NULL OR previous_sha256 ~ '^[0-9a-f]{64}$'),
    changed_by       TEXT        NOT NULL CHECK (length(changed_by) BETWEEN 1 AND 200),
    reason           TEXT        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    metrics          JSONB       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metrics) = 'object'),
    gates            JSONB       CHECK (gates IS NULL OR jsonb_typeof(gates) = 'object'),
    execution_id     TEXT,
    lineage_task_run TEXT        NOT NULL,
    changed_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX model_alias_history_alias ON model_alias_history (alias, seq DESC);
CREATE INDEX model_alias_history_sha256 ON model_alias_history (sha256);

-- The aliases as they are now: each alias's newest row.
CREATE VIEW model_aliases AS
    SELECT DISTINCT ON (alias) alias, sha256, path, seq, action, changed_by, reason, metrics, changed_at
    FROM model_alias_history ORDER BY alias, seq DESC;

-- Append-only, as rankings (V3) and lineage (V10): the database refuses UPDATE, DELETE and TRUNCATE for everyone.
CREATE TRIGGER model_alias_history_append_only BEFORE UPDATE OR DELETE ON model_alias_history
    FOR EACH ROW EXECUTE FUNCTION seed_refuse_write();
CREATE TRIGGER model_alias_history_no_truncate BEFORE TRUNCATE ON model_alias_history
    FOR EACH STATEMENT EXECUTE FUNCTION seed_refuse_write();

-- The application role (V4) may only read and append: V4's default privileges gave it UPDATE and DELETE on every
-- later table, so take them back. The registry switches to seed_api (SET LOCAL ROLE) for each change.
REVOKE ALL ON model_alias_history, model_aliases FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON model_alias_history FROM seed_api;
GRANT SELECT, INSERT ON model_alias_history TO seed_api;
GRANT SELECT ON model_aliases TO seed_api;
GRANT USAGE ON SEQUENCE model_alias_history_seq_seq TO seed_api;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON model_aliases FROM seed_api;
