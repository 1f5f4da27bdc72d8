-- Instance announcements (Mastodon's), read by every local person: who
-- dismissed which, their emoji reactions.
CREATE TABLE announcements (
    id BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    content TEXT NOT NULL,
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    all_day BOOLEAN NOT NULL DEFAULT FALSE,
    -- NULL while a draft.
    published_at TIMESTAMP,
    -- Accounts mentioned and posts linked in the text: "id,id,...".
    mention_ids TEXT NOT NULL DEFAULT '',
    status_ids TEXT NOT NULL DEFAULT '',
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- Kept until the streams heard of the deletion.
    deleted_at TIMESTAMP,
    -- What the user streams were last told ('none', 'shown', 'gone') and
    -- whether a change waits to be told: the CLI on SQLite cannot reach a
    -- running server's streams, so the workers tell them.
    streamed TEXT NOT NULL DEFAULT 'none',
    stream_pending BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX announcements_pending ON announcements (stream_pending);

CREATE TABLE announcement_dismissals (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (announcement_id, account_id)
);

CREATE TABLE announcement_reactions (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (announcement_id, account_id, name)
);
