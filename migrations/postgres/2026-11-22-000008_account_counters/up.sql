-- Counters shown with every account, kept up to date by the writes that
-- change them instead of being counted on each read.
ALTER TABLE accounts ADD COLUMN statuses_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN followers_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN following_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN last_status_at TIMESTAMP;
UPDATE accounts SET
    statuses_count = (SELECT COUNT(*) FROM statuses s WHERE s.account_id = accounts.id AND s.reblog_of_id IS NULL),
    followers_count = (SELECT COUNT(*) FROM follows f WHERE f.target_account_id = accounts.id AND NOT f.pending),
    following_count = (SELECT COUNT(*) FROM follows f WHERE f.account_id = accounts.id AND NOT f.pending),
    last_status_at = (SELECT MAX(s.created_at) FROM statuses s WHERE s.account_id = accounts.id AND s.reblog_of_id IS NULL);
