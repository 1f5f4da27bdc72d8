DROP TRIGGER accounts_notes_fts_update;
DROP TRIGGER accounts_notes_fts_delete;
DROP TRIGGER accounts_notes_fts_insert;
DROP TABLE account_notes_fts;
DROP INDEX profile_terms_term;
DROP TABLE profile_vocabulary;
