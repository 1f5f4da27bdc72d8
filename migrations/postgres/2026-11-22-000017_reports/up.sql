-- Reports of accounts and posts to this instance's moderators: filed by
-- local users, or received from other servers as Flag activities.
CREATE TABLE reports (
    id BIGINT PRIMARY KEY,
    -- The Flag's id, for reports that came from or went to another server.
    uri TEXT UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Reported status ids, comma-separated.
    status_ids TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT 'other',
    forwarded BOOLEAN NOT NULL DEFAULT FALSE,
    action_taken_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX reports_open ON reports (action_taken_at, id);
CREATE INDEX reports_target ON reports (target_account_id);
