-- Hashtags by id (the Tag entity's `id`), one row per name ever used in a
-- post or featured; status_tags keeps the name, as before.
CREATE TABLE tags (
    id BIGINT PRIMARY KEY,
    -- Lower case, without '#'.
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO tags (id, name, created_at)
SELECT row_number() OVER (ORDER BY tag), tag, CURRENT_TIMESTAMP
FROM (SELECT DISTINCT tag FROM status_tags) used;

-- Hashtags people feature on their profile (Mastodon's featured tags):
-- shown on the profile, federated as the actor's featuredTags collection,
-- and counted as declared interests by "who knows X?". Remote accounts'
-- rows come from their collection.
CREATE TABLE featured_tags (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Lower case, without '#'.
    name TEXT NOT NULL,
    -- As the person wrote it ("KubeCon"), for display.
    display_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, name)
);
