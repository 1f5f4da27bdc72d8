-- Notifications of local accounts.
CREATE TABLE notifications (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- follow, follow_request, mention, reblog, favourite, status, update.
    kind TEXT NOT NULL,
    status_id BIGINT REFERENCES statuses (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_account ON notifications (account_id, id);
