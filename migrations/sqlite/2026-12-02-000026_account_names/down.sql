DROP TRIGGER accounts_names_fts_update;
DROP TRIGGER accounts_names_fts_delete;
DROP TRIGGER accounts_names_fts_insert;
DROP TABLE account_names_fts;
