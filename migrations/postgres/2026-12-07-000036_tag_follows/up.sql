-- Followed hashtags: their public posts enter the follower's home
-- timeline. `id` orders `GET /api/v1/followed_tags` for Link paging.
CREATE TABLE tag_follows (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tag_follows_account_tag ON tag_follows (account_id, tag);
CREATE INDEX tag_follows_tag ON tag_follows (tag);
