-- Instance-wide settings (key/value) that admins change at run time.
CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every actor we know: local users, groups, the instance actor, and remote actors.
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL,
    -- NULL for actors hosted here; lower-case host[:port] otherwise.
    domain TEXT,
    -- Person, Group, Service, Application or Organization.
    actor_type TEXT NOT NULL DEFAULT 'Person',
    uri TEXT NOT NULL UNIQUE,
    url TEXT,
    display_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    fields TEXT NOT NULL DEFAULT '[]',
    avatar_url TEXT,
    header_url TEXT,
    inbox_url TEXT,
    outbox_url TEXT,
    shared_inbox_url TEXT,
    followers_url TEXT,
    following_url TEXT,
    public_key_pem TEXT,
    private_key_pem TEXT,
    public_key_id TEXT,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    discoverable BOOLEAN NOT NULL DEFAULT TRUE,
    bot BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    fetched_at TIMESTAMP,
    suspended_at TIMESTAMP,
    silenced_at TIMESTAMP
);
CREATE UNIQUE INDEX accounts_username_domain ON accounts (lower(username), COALESCE(domain, ''));
CREATE INDEX accounts_domain ON accounts (domain);

-- Sign-in data of local accounts.
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- user, moderator or admin.
    role TEXT NOT NULL DEFAULT 'user',
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    approved BOOLEAN NOT NULL DEFAULT TRUE,
    confirmed_at TIMESTAMP,
    locale TEXT NOT NULL DEFAULT 'en',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- Follow relations, pending until accepted (locked accounts, closed groups).
CREATE TABLE follows (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri TEXT,
    pending BOOLEAN NOT NULL DEFAULT FALSE,
    show_reblogs BOOLEAN NOT NULL DEFAULT TRUE,
    notify BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX follows_target ON follows (target_account_id);

-- Posts and boosts (a boost is a status with reblog_of_id set).
CREATE TABLE statuses (
    id BIGINT PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    url TEXT,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    local BOOLEAN NOT NULL,
    -- public, unlisted, private (followers only), direct or local (never federated).
    visibility TEXT NOT NULL,
    text TEXT,
    content TEXT NOT NULL DEFAULT '',
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    language TEXT,
    in_reply_to_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    in_reply_to_uri TEXT,
    in_reply_to_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    reblog_of_id BIGINT REFERENCES statuses (id) ON DELETE CASCADE,
    replies_count BIGINT NOT NULL DEFAULT 0,
    reblogs_count BIGINT NOT NULL DEFAULT 0,
    favourites_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    edited_at TIMESTAMP,
    deleted_at TIMESTAMP
);
CREATE INDEX statuses_account ON statuses (account_id, id);
CREATE INDEX statuses_in_reply_to ON statuses (in_reply_to_id);
CREATE UNIQUE INDEX statuses_one_reblog ON statuses (account_id, reblog_of_id) WHERE reblog_of_id IS NOT NULL;
CREATE INDEX statuses_reblog_of ON statuses (reblog_of_id);
