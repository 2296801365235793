-- An annotator's optional note on a ranking (why, what was hard), kept with the ranking for review.
ALTER TABLE ranking_events ADD COLUMN comment TEXT CHECK (comment IS NULL OR length(comment) <= 2000);
