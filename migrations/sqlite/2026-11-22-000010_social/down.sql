ALTER TABLE users DROP COLUMN invite_id;
ALTER TABLE users DROP COLUMN sign_up_reason;
DROP TABLE invites;
DROP TABLE markers;
DROP TABLE status_pins;
DROP TABLE list_accounts;
DROP TABLE lists;
DROP TABLE mutes;
