-- The admin console at scale (benches/admin.rs): sign-ups waiting, people
-- active this month, and the local post count read from an index.
CREATE INDEX users_approved ON users (approved);
CREATE INDEX oauth_tokens_last_used ON oauth_tokens (last_used_at);
CREATE INDEX web_sessions_created ON web_sessions (created_at);
CREATE INDEX accounts_domain_statuses ON accounts (domain, statuses_count);
