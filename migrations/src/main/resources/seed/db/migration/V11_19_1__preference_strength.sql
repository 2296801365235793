-- Issue 19: preference strength, as Llama 2's annotators gave it. strengths[p] grades the pair (ranking[p],
-- ranking[p+1]): 4 significantly better, 3 better, 2 slightly better, 1 negligibly better, 0 tie (the pair is in
-- ties). Empty = not given. Exported as TRL's "margin" column (Llama 2's margin loss). Versioned 11.19.1 (issue 19).
ALTER TABLE ranking_events ADD COLUMN strengths INT[] NOT NULL DEFAULT '{}';
ALTER TABLE ranking_events ADD CONSTRAINT ranking_events_strengths CHECK (0 <= ALL (strengths) AND 4 >= ALL (strengths)
    AND (cardinality(strengths) = 0 OR (NOT skip AND cardinality(strengths) = cardinality(ranking) - 1)));
