-- Deliveries know their target host (per-host limits, unreachable hosts);
-- hosts that keep failing are marked unreachable until they answer again.
ALTER TABLE deliveries ADD COLUMN host TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_host ON deliveries (host, state);

CREATE TABLE delivery_hosts (
    host TEXT PRIMARY KEY,
    failing_since TIMESTAMP,
    unreachable_since TIMESTAMP,
    last_success_at TIMESTAMP,
    last_probe_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

-- Inbound activities accepted (signature verified) and not yet processed.
CREATE TABLE inbound_activities (
    id BIGINT PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX inbound_activities_due ON inbound_activities (state, next_attempt_at);
