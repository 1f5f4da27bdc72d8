-- Invitations to local groups: following the group accepts one, even a
-- closed group's, without another approval.
CREATE TABLE group_invites (
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    invited_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_invites_account ON group_invites (account_id);
