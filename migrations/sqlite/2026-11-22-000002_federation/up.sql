-- Partner policy: which domains federate (allow) or never do (block).
CREATE TABLE domain_policies (
    domain TEXT PRIMARY KEY,
    -- allow or block.
    policy TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Ids of activities already received, so a replay is ignored.
CREATE TABLE received_activities (
    ap_id TEXT PRIMARY KEY,
    received_at TIMESTAMP NOT NULL
);

-- Outgoing activities, one row per target inbox, written with the change
-- that caused them and sent by a worker.
CREATE TABLE deliveries (
    id BIGINT PRIMARY KEY,
    activity_id TEXT NOT NULL,
    sender_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- pending, sending, done, rejected (final 4xx) or failed (gave up).
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE UNIQUE INDEX deliveries_once ON deliveries (activity_id, inbox);
