DROP INDEX accounts_note_fts;
DROP INDEX profile_terms_term;
DROP TABLE profile_vocabulary;
