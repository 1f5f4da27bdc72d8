-- Likes (Mastodon: favourites).
CREATE TABLE favourites (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    uri TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX favourites_status ON favourites (status_id);

-- Accounts a status mentions (also its direct audience).
CREATE TABLE mentions (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    UNIQUE (status_id, account_id)
);
CREATE INDEX mentions_account ON mentions (account_id);

-- Hashtags of a status, lower-cased.
CREATE TABLE status_tags (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (status_id, tag)
);
CREATE INDEX status_tags_tag ON status_tags (tag, status_id);

-- Earlier versions of edited statuses, oldest first.
CREATE TABLE status_edits (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    spoiler_text TEXT NOT NULL,
    sensitive BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);
