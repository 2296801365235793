-- Seed annotation schema: from a prompt and its K candidate responses to a person's ranking, durable and auditable,
-- and the immutable preference snapshots the reward model trains on.

-- A prompt text, stored once (deduplicated by its SHA-256).
CREATE TABLE prompts (
    id          BIGSERIAL PRIMARY KEY,
    text        TEXT        NOT NULL,
    sha256      CHAR(64)    NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- K responses to one prompt, with the checkpoint that generated them (lineage).
CREATE TABLE candidate_sets (
    id                 BIGSERIAL PRIMARY KEY,
    prompt_id          BIGINT      NOT NULL REFERENCES prompts (id),
    responses          TEXT[]      NOT NULL CHECK (cardinality(responses) >= 2),
    checkpoint         TEXT        NOT NULL,
    checkpoint_sha256  CHAR(64),
    source             TEXT        NOT NULL DEFAULT 'candidates',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What annotators are shown: one candidate set, to be ranked by annotators_needed distinct people.
-- gold_order is a known best-first order (a gold item) used to measure annotators.
CREATE TABLE annotation_items (
    id                 BIGSERIAL PRIMARY KEY,
    candidate_set_id   BIGINT      NOT NULL REFERENCES candidate_sets (id),
    k                  INT         NOT NULL CHECK (k >= 2),
    annotators_needed  INT         NOT NULL CHECK (annotators_needed >= 1),
    assigned_count     INT         NOT NULL DEFAULT 0,
    gold_order         INT[],
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (assigned_count <= annotators_needed),
    CHECK (gold_order IS NULL OR cardinality(gold_order) = k)
);
CREATE INDEX annotation_items_open ON annotation_items (id) WHERE assigned_count < annotators_needed;

-- People (and importers) who rank. Only the SHA-256 of the personal token is stored.
CREATE TABLE annotators (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT        NOT NULL UNIQUE,
    role          TEXT        NOT NULL CHECK (role IN ('annotator', 'operator', 'importer')),
    token_sha256  CHAR(64)    NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Who must rank what. submitted_event_id is claimed by the HTTP/API layer when it accepts a submission, so a
-- second submission for the same assignment is refused before it reaches Kafka.
CREATE TABLE assignments (
    item_id             BIGINT      NOT NULL REFERENCES annotation_items (id),
    annotator_id        BIGINT      NOT NULL REFERENCES annotators (id),
    assigned_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    submitted_event_id  UUID,
    submitted_at        TIMESTAMPTZ,
    PRIMARY KEY (item_id, annotator_id)
);
CREATE INDEX assignments_by_annotator ON assignments (annotator_id) WHERE submitted_event_id IS NULL;

-- Accepted rankings, written by the Kafka ingester only. event_id makes redelivery idempotent;
-- (item_id, annotator_id) makes a second ranking of the same item by the same person impossible.
-- ranking: response indices best first (empty when skipped); ties: [i,j] pairs judged equal, flattened (i1,j1,i2,j2..);
-- unsafe: indices of responses flagged unsafe. seq orders rows by ingestion (the snapshot watermark).
-- No foreign key to assignments: the ingester inserts only rows whose (item, annotator) assignment exists, checked in
-- the same INSERT ... SELECT; a per-row FK trigger (which also locks the assignment row) halved ingest speed.
CREATE TABLE ranking_events (
    seq              BIGSERIAL   NOT NULL,
    event_id         UUID        PRIMARY KEY,
    item_id          BIGINT      NOT NULL,
    annotator_id     BIGINT      NOT NULL,
    ranking          INT[]       NOT NULL,
    ties             INT[]       NOT NULL,
    skip             BOOLEAN     NOT NULL,
    unsafe           INT[]       NOT NULL,
    source           TEXT        NOT NULL,
    submitted_at     TIMESTAMPTZ NOT NULL,
    ingested_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    kafka_partition  INT         NOT NULL,
    kafka_offset     BIGINT      NOT NULL,
    UNIQUE (item_id, annotator_id)
);

-- Records the ingester refused, with the reason; the same records also go to the dead-letter topic.
CREATE TABLE rejected_events (
    id               BIGSERIAL   PRIMARY KEY,
    kafka_topic      TEXT        NOT NULL,
    kafka_partition  INT         NOT NULL,
    kafka_offset     BIGINT      NOT NULL,
    event_id         TEXT,
    payload          TEXT        NOT NULL,
    reason           TEXT        NOT NULL,
    rejected_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

-- Immutable preference snapshots: every accepted ranking with seq <= watermark, frozen into a file.
CREATE TABLE preference_snapshots (
    id          BIGSERIAL   PRIMARY KEY,
    watermark   BIGINT      NOT NULL,
    count       INT         NOT NULL,
    sha256      CHAR(64)    NOT NULL,
    path        TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE snapshot_members (
    snapshot_id  BIGINT NOT NULL REFERENCES preference_snapshots (id),
    event_id     UUID   NOT NULL REFERENCES ranking_events (event_id),
    line         INT    NOT NULL,
    PRIMARY KEY (snapshot_id, event_id)
);

-- A snapshot never changes: refuse UPDATE and DELETE on snapshots and their members at the database.
CREATE FUNCTION seed_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'preference snapshots are immutable (% on %)', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER preference_snapshots_immutable BEFORE UPDATE OR DELETE ON preference_snapshots
    FOR EACH ROW EXECUTE FUNCTION seed_refuse_change();
CREATE TRIGGER snapshot_members_immutable BEFORE UPDATE OR DELETE ON snapshot_members
    FOR EACH ROW EXECUTE FUNCTION seed_refuse_change();
