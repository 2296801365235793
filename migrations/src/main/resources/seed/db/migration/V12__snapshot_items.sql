-- Issue 17: a preference snapshot covers the rankings of a chosen set of annotation items (the items a run loaded,
-- or a set an operator names), not every ranking in the database: two runs on one server must not train their
-- reward models on each other's candidates.
--
--   scope            'ITEMS': only rankings of the items in item_ids.
--                    'ALL':   every accepted ranking up to the watermark; a writer must ask for it by name.
--                    Rows written before this migration snapshotted everything, so they are 'ALL'.
--   item_ids         the items the snapshot covers, sorted and distinct: for 'ITEMS' the set asked for (an item
--                    nobody ranked yet is still in it), for 'ALL' the items its rankings belong to.
--                    NULL only on rows written before this migration.
--   item_ids_sha256  SHA-256 (hex) of the ids as decimal numbers joined by ',' (e.g. '3,5,8'), so a lineage record
--                    names the set by count and hash without carrying every id.
--
-- The rankings query filters on ranking_events.item_id, which leads the unique index ranking_events_chain (V11.19):
-- no new index is needed. Snapshot rows stay immutable (the V1 triggers refuse UPDATE and DELETE).
ALTER TABLE preference_snapshots
    ADD COLUMN scope           TEXT     NOT NULL DEFAULT 'ALL' CHECK (scope IN ('ITEMS', 'ALL')),
    ADD COLUMN item_ids        BIGINT[],
    ADD COLUMN item_ids_sha256 CHAR(64);

ALTER TABLE preference_snapshots ADD CONSTRAINT preference_snapshots_item_set CHECK (
    -- the hash comes with the ids, never alone
    (item_ids IS NULL) = (item_ids_sha256 IS NULL)
    -- a snapshot restricted to items names them
    AND (scope = 'ALL' OR item_ids IS NOT NULL)
);
