-- Polls on statuses (local, or remote Questions), their options with
-- counts, and the votes of this instance's users (and remote voters on
-- local polls).
CREATE TABLE polls (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    expires_at TIMESTAMP,
    multiple BOOLEAN NOT NULL DEFAULT FALSE,
    hide_totals BOOLEAN NOT NULL DEFAULT FALSE,
    votes_count BIGINT NOT NULL DEFAULT 0,
    voters_count BIGINT NOT NULL DEFAULT 0,
    ended_notified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX polls_ending ON polls (ended_notified, expires_at);

CREATE TABLE poll_options (
    poll_id BIGINT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    title TEXT NOT NULL,
    votes_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, idx)
);

CREATE TABLE poll_votes (
    id BIGINT PRIMARY KEY,
    poll_id BIGINT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    choice INTEGER NOT NULL,
    uri TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (poll_id, account_id, choice)
);
CREATE INDEX poll_votes_account ON poll_votes (account_id, poll_id);
