-- Account search by name (and autocomplete) matches the start of any word
-- of the username or display name, as Mastodon's database search does,
-- from an index instead of reading every account.
CREATE VIRTUAL TABLE account_names_fts USING fts5(
    username, display_name, content='accounts', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
);
INSERT INTO account_names_fts (rowid, username, display_name)
SELECT id, username, display_name FROM accounts;
CREATE TRIGGER accounts_names_fts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO account_names_fts (rowid, username, display_name) VALUES (new.id, new.username, new.display_name);
END;
CREATE TRIGGER accounts_names_fts_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO account_names_fts (account_names_fts, rowid, username, display_name) VALUES ('delete', old.id, old.username, old.display_name);
END;
CREATE TRIGGER accounts_names_fts_update AFTER UPDATE OF username, display_name ON accounts BEGIN
    INSERT INTO account_names_fts (account_names_fts, rowid, username, display_name) VALUES ('delete', old.id, old.username, old.display_name);
    INSERT INTO account_names_fts (rowid, username, display_name) VALUES (new.id, new.username, new.display_name);
END;
