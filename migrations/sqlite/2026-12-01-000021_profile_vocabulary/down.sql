DROP TRIGGER accounts_notes_fts_update;
DROP TRIGGER accounts_notes_fts_delete;
DROP TRIGGER accounts_notes_fts_insert;
DROP TABLE account_notes_fts;
DROP INDEX profile_terms_term;
DROP INDEX accounts_actor_type;
DROP TABLE profile_vocabulary;
