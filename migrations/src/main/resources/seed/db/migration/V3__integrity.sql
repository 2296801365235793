-- What the database itself enforces about rankings, so that no client (a bug, a forged record that slipped past the
-- ingester, a person with a SQL prompt and the application's credentials) can store or change them wrongly.

-- The record's HMAC (see Signing): tells a redelivery (same bytes) from the same event id with other content.
-- Null only for rows ingested before this migration.
ALTER TABLE ranking_events ADD COLUMN payload_mac BYTEA CHECK (payload_mac IS NULL OR length(payload_mac) = 32);

-- Cheap row checks (no function calls: COPY runs them for every row at ~100k rows/s). Content rules that need the
-- item's K (permutation of 0..K-1, index ranges) are the ingester's RankingRules; these catch what must never be.
ALTER TABLE ranking_events
    ADD CONSTRAINT ranking_events_ids CHECK (item_id > 0 AND annotator_id > 0 AND kafka_partition >= 0 AND kafka_offset >= 0),
    ADD CONSTRAINT ranking_events_skip CHECK (NOT skip OR (cardinality(ranking) = 0 AND cardinality(ties) = 0)),
    ADD CONSTRAINT ranking_events_ranking CHECK (skip OR (cardinality(ranking) >= 2
        AND 0 <= ALL (ranking) AND cardinality(ranking) > ALL (ranking))),
    ADD CONSTRAINT ranking_events_ties CHECK (cardinality(ties) % 2 = 0 AND 0 <= ALL (ties)
        AND (skip OR cardinality(ranking) > ALL (ties))),
    ADD CONSTRAINT ranking_events_unsafe CHECK (0 <= ALL (unsafe) AND (skip OR cardinality(ranking) > ALL (unsafe))),
    ADD CONSTRAINT ranking_events_source CHECK (source IN ('web', 'api', 'import', 'synthetic', 'bench')),
    ADD CONSTRAINT ranking_events_submitted_at CHECK (submitted_at >= TIMESTAMPTZ '2020-01-01 00:00:00+00'
        AND submitted_at <= ingested_at + INTERVAL '1 day');

ALTER TABLE rejected_events
    ADD CONSTRAINT rejected_events_sizes CHECK (length(payload) <= 70000 AND length(reason) <= 1000
        AND (event_id IS NULL OR length(event_id) <= 100));

-- Append-only: accepted and rejected rankings are the audit trail; refuse UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION seed_refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ranking_events_append_only BEFORE UPDATE OR DELETE ON ranking_events
    FOR EACH ROW EXECUTE FUNCTION seed_refuse_write();
CREATE TRIGGER ranking_events_no_truncate BEFORE TRUNCATE ON ranking_events
    FOR EACH STATEMENT EXECUTE FUNCTION seed_refuse_write();
CREATE TRIGGER rejected_events_append_only BEFORE UPDATE OR DELETE ON rejected_events
    FOR EACH ROW EXECUTE FUNCTION seed_refuse_write();
CREATE TRIGGER rejected_events_no_truncate BEFORE TRUNCATE ON rejected_events
    FOR EACH STATEMENT EXECUTE FUNCTION seed_refuse_write();
-- Row triggers do not fire on TRUNCATE: the snapshots need statement-level ones too.
CREATE TRIGGER preference_snapshots_no_truncate BEFORE TRUNCATE ON preference_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION seed_refuse_write();
CREATE TRIGGER snapshot_members_no_truncate BEFORE TRUNCATE ON snapshot_members
    FOR EACH STATEMENT EXECUTE FUNCTION seed_refuse_write();

-- Keys the API and the importer sign ranking records with (HMAC-SHA256); created by the first start.
CREATE TABLE signing_keys (
    name        TEXT        PRIMARY KEY CHECK (name ~ '^[a-z]{1,20}$'),
    secret      BYTEA       NOT NULL CHECK (length(secret) >= 32),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Claims to reconcile (an event that never reached Kafka): found by claim time, without scanning every assignment.
CREATE INDEX assignments_claimed ON assignments (submitted_at) WHERE submitted_event_id IS NOT NULL;
