-- Bearer tokens identity providers provision users with (SCIM 2.0); only
-- the SHA-256 (hex) of each is kept.
CREATE TABLE scim_tokens (
    id BIGINT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

-- The SCIM side of provisioned users: the provider's userName and
-- externalId, and the attributes it sent (given back as sent).
CREATE TABLE scim_users (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    external_id TEXT,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (lower(user_name));
CREATE INDEX scim_users_external_id ON scim_users (external_id);
