-- One identity model for every HTTP surface (annotator page, operator API, auditor page): a token belongs to one
-- person with one role. annotator ranks; operator manages (load, stats, progress) but does not rank; auditor reads
-- and changes nothing; importer sends existing preference data through the same path.
ALTER TABLE annotators DROP CONSTRAINT annotators_role_check;
ALTER TABLE annotators ADD CONSTRAINT annotators_role_check
    CHECK (role IN ('annotator', 'operator', 'auditor', 'importer'));
