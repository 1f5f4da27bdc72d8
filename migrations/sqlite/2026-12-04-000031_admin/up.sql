-- The Mastodon admin API and console: who handles a report, who acted on
-- it, accounts marked sensitive, and the log of every admin action.
ALTER TABLE reports ADD COLUMN assigned_account_id BIGINT;
ALTER TABLE reports ADD COLUMN action_taken_by_account_id BIGINT;
-- Apart from accounts: its media shows as sensitive (the accounts table
-- stays within diesel's 32 columns).
CREATE TABLE sensitized_accounts (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE admin_action_logs (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX admin_action_logs_account ON admin_action_logs (account_id, id);
