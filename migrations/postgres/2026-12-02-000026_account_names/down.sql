DROP INDEX accounts_names_fts;
