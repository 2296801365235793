-- Least privilege: the application does not work as the schema owner. Two group roles (NOLOGIN) hold exactly what
-- each part needs; Seed's connections switch to them (SET ROLE) when the login user is a member, which it is for the
-- embedded PostgreSQL. For an external PostgreSQL, GRANT seed_api / seed_ingester to the users Seed logs in with.
-- The migration owner (the user Flyway runs as) keeps ownership of every table.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'seed_api') THEN
        CREATE ROLE seed_api NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'seed_ingester') THEN
        CREATE ROLE seed_ingester NOLOGIN;
    END IF;
END $$;

-- The ingester: reads items, assignments and keys; appends rankings and refusals; releases stranded claims.
GRANT SELECT ON annotation_items, assignments, signing_keys, ranking_events TO seed_ingester;
GRANT INSERT ON ranking_events, rejected_events TO seed_ingester;
GRANT UPDATE (submitted_event_id, submitted_at) ON assignments TO seed_ingester;
GRANT USAGE ON SEQUENCE ranking_events_seq_seq, rejected_events_id_seq TO seed_ingester;

-- The API, CLI and snapshots: catalog, annotators, assignments and claims, snapshots; reads rankings, never writes
-- them (the SHARE lock a snapshot takes on ranking_events needs UPDATE privilege, which the append-only trigger
-- still refuses to use).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO seed_api;
GRANT INSERT ON prompts, candidate_sets, annotation_items, annotators, assignments, preference_snapshots,
    snapshot_members, signing_keys TO seed_api;
GRANT UPDATE ON prompts, annotation_items TO seed_api;
GRANT UPDATE (submitted_event_id, submitted_at) ON assignments TO seed_api;
GRANT UPDATE ON ranking_events TO seed_api;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO seed_api;
REVOKE SELECT ON seed_schema_history FROM seed_api;

-- Tables later migrations add (lineage, V10+) are used through the same API connections: give seed_api the usual
-- rights on them by default, so a new module's tables work without a grant of their own; a migration that wants
-- less for its table REVOKEs explicitly.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO seed_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO seed_api;
