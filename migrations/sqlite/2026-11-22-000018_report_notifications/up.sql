-- Moderators are notified of new reports (Mastodon's admin.report).
ALTER TABLE notifications ADD COLUMN report_id BIGINT REFERENCES reports (id) ON DELETE CASCADE;
