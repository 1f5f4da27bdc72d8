-- Every distinct profile term, so "who knows X?" matches typos and word
-- forms against a few thousand words instead of every profile's rows.
-- Terms nobody uses any more are pruned by housekeeping.
CREATE TABLE profile_vocabulary (
    term TEXT PRIMARY KEY
);
INSERT INTO profile_vocabulary (term) SELECT DISTINCT term FROM profile_terms;
-- Expertise search looks terms up whatever their field.
CREATE INDEX profile_terms_term ON profile_terms (term, field, account_id);
-- Groups are found by name among a few actors, not among every account.
CREATE INDEX accounts_actor_type ON accounts (actor_type);

-- Bios, full-text (Porter stems), kept in step with accounts by triggers.
CREATE VIRTUAL TABLE account_notes_fts USING fts5(
    note, content='accounts', content_rowid='id', tokenize='porter unicode61'
);
INSERT INTO account_notes_fts (rowid, note) SELECT id, note FROM accounts;
CREATE TRIGGER accounts_notes_fts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO account_notes_fts (rowid, note) VALUES (new.id, new.note);
END;
CREATE TRIGGER accounts_notes_fts_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO account_notes_fts (account_notes_fts, rowid, note) VALUES ('delete', old.id, old.note);
END;
CREATE TRIGGER accounts_notes_fts_update AFTER UPDATE OF note ON accounts BEGIN
    INSERT INTO account_notes_fts (account_notes_fts, rowid, note) VALUES ('delete', old.id, old.note);
    INSERT INTO account_notes_fts (rowid, note) VALUES (new.id, new.note);
END;
