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

-- Bios, full-text (English stems).
CREATE INDEX accounts_note_fts ON accounts USING GIN (to_tsvector('english', note));
