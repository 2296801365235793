-- Gold gating: a snapshot may admit only annotators whose rankings of gold items agree with the gold order
-- (Spearman >= min_gold_agreement); the ones left out are recorded with it, so the snapshot says who it trusts.
ALTER TABLE preference_snapshots ADD COLUMN min_gold_agreement DOUBLE PRECISION
    CHECK (min_gold_agreement IS NULL OR min_gold_agreement BETWEEN -1 AND 1);
ALTER TABLE preference_snapshots ADD COLUMN excluded_annotators BIGINT[] NOT NULL DEFAULT '{}';
