-- ActivityPub relays this instance subscribes to (#18), as Mastodon does:
-- the instance actor follows the relay (object: Public) at its inbox; the
-- relay's Accept names its actor. `state`: pending, accepted, rejected.
CREATE TABLE relays (
    id BIGINT PRIMARY KEY,
    inbox_url TEXT NOT NULL UNIQUE,
    actor_uri TEXT,
    state TEXT NOT NULL,
    follow_id TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
