-- Trends inside the organization, recomputed by the workers: the tags and
-- posts of the last run, best first. An admin hides a tag from trends.
CREATE TABLE trend_tags (
    tag TEXT PRIMARY KEY,
    score DOUBLE PRECISION NOT NULL,
    accounts BIGINT NOT NULL,
    uses BIGINT NOT NULL,
    -- Mastodon's Tag `history` of the last 7 days, as the run saw them.
    history TEXT NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
CREATE TABLE trend_statuses (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    score DOUBLE PRECISION NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
CREATE TABLE trend_hidden_tags (
    tag TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);
