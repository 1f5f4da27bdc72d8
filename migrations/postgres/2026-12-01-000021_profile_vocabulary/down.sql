DROP INDEX accounts_note_fts;
DROP INDEX profile_terms_term;
DROP INDEX accounts_actor_type;
DROP TABLE profile_vocabulary;
