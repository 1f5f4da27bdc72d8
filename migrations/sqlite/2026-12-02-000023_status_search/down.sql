DROP TRIGGER status_search_fts_update;
DROP TRIGGER status_search_fts_delete;
DROP TRIGGER status_search_fts_insert;
DROP TABLE status_search_fts;
DROP TABLE status_search;
