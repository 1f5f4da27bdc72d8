DROP TABLE profile_terms;
DROP TABLE skill_synonyms;
DROP TABLE profile_fields;
ALTER TABLE accounts DROP COLUMN indexable;
