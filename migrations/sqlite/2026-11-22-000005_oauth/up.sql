-- Client applications registered through POST /api/v1/apps.
CREATE TABLE oauth_applications (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    website TEXT,
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    -- SHA-256 (hex) of the client secret.
    client_secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Access tokens; only their SHA-256 (hex) is kept.
CREATE TABLE oauth_tokens (
    id BIGINT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    application_id BIGINT REFERENCES oauth_applications (id) ON DELETE CASCADE,
    -- NULL for app-only tokens (client_credentials).
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id);

-- Authorization codes (short-lived, single use); only their SHA-256 is kept.
CREATE TABLE oauth_codes (
    id BIGINT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
