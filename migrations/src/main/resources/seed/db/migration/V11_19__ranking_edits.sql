-- Issue 19: an annotator may revisit and edit a submitted ranking. An edit is a new signed event that names the
-- event it supersedes; nothing is updated in place (ranking_events stays append-only), so the lineage keeps both and
-- a snapshot takes the latest of each (item, annotator) chain. Versioned 11.19 (issue 19) so it cannot clash with
-- other migrations added in parallel.

ALTER TABLE ranking_events ADD COLUMN supersedes UUID;

-- One original per (item, annotator) (NULLS NOT DISTINCT: two rows without supersedes conflict), and each event
-- superseded at most once: the edits form one chain. The index is a full one, not a partial one on the originals, so
-- it still serves every lookup by (item, annotator): the ingester's staging path joins on it for every staged row.
-- NULLS NOT DISTINCT needs PostgreSQL 15 or later.
ALTER TABLE ranking_events DROP CONSTRAINT ranking_events_item_id_annotator_id_key;
CREATE UNIQUE INDEX ranking_events_chain ON ranking_events (item_id, annotator_id, supersedes) NULLS NOT DISTINCT;
CREATE UNIQUE INDEX ranking_events_supersedes ON ranking_events (supersedes) WHERE supersedes IS NOT NULL;
ALTER TABLE ranking_events ADD CONSTRAINT ranking_events_not_self CHECK (supersedes IS NULL OR supersedes <> event_id);

-- While an edit is on its way, the assignment's claim is the edit's event and this column the event it replaces, so
-- a claim given back (Kafka did not take the edit, or it never arrived) returns to the stored ranking, not to
-- "unsubmitted".
ALTER TABLE assignments ADD COLUMN superseded_event_id UUID;
GRANT UPDATE (superseded_event_id) ON assignments TO seed_api;
GRANT UPDATE (superseded_event_id) ON assignments TO seed_ingester;
