DROP TABLE statuses;
DROP TABLE follows;
DROP TABLE users;
DROP TABLE accounts;
DROP TABLE instance_settings;
