DROP TABLE admin_action_logs;
DROP TABLE sensitized_accounts;
ALTER TABLE reports DROP COLUMN action_taken_by_account_id;
ALTER TABLE reports DROP COLUMN assigned_account_id;
