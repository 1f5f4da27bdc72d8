-- Groups (FEP-1b12): a Group actor is an accounts row; these tables hold
-- what is particular to groups. Members are the group's followers.
CREATE TABLE group_settings (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    closed BOOLEAN NOT NULL DEFAULT FALSE,
    announcement_only BOOLEAN NOT NULL DEFAULT FALSE,
    owner_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    moderators_url TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE group_moderators (
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, account_id)
);

-- Posts a group accepted and redistributed, with the group's Announce.
CREATE TABLE group_posts (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    announce_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (status_id, group_id)
);
CREATE INDEX group_posts_group ON group_posts (group_id, status_id);
