-- What post search reads of a post: its text, content warning, media
-- descriptions and poll options as plain text, written with the post (same
-- transaction) and again on every edit. Posts written before this
-- migration are indexed by the workers in batches.
CREATE TABLE status_search (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    -- A link other than a mention or hashtag (`has:link`).
    has_link BOOLEAN NOT NULL DEFAULT FALSE,
    -- Stored, so matching a row (a recheck, or a walk newest first) does
    -- not parse the text again.
    document TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX status_search_fts ON status_search USING GIN (document);
