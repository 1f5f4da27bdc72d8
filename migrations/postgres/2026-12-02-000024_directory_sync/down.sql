DROP INDEX accounts_updated_at;
DROP TABLE directory_entries;
DROP TABLE directory_peers;
