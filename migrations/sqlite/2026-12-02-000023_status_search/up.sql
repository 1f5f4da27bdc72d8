-- What post search reads of a post: its text, content warning, media
-- descriptions and poll options as plain text, written with the post (same
-- transaction) and again on every edit. Posts written before this
-- migration are indexed by the workers in batches.
CREATE TABLE status_search (
    -- INTEGER PRIMARY KEY: the rowid the full-text table points at.
    status_id INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    -- A link other than a mention or hashtag (`has:link`).
    has_link BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE VIRTUAL TABLE status_search_fts USING fts5(
    body, content='status_search', content_rowid='status_id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER status_search_fts_insert AFTER INSERT ON status_search BEGIN
    INSERT INTO status_search_fts (rowid, body) VALUES (new.status_id, new.body);
END;
CREATE TRIGGER status_search_fts_delete AFTER DELETE ON status_search BEGIN
    INSERT INTO status_search_fts (status_search_fts, rowid, body) VALUES ('delete', old.status_id, old.body);
END;
CREATE TRIGGER status_search_fts_update AFTER UPDATE OF body ON status_search BEGIN
    INSERT INTO status_search_fts (status_search_fts, rowid, body) VALUES ('delete', old.status_id, old.body);
    INSERT INTO status_search_fts (rowid, body) VALUES (new.status_id, new.body);
END;
