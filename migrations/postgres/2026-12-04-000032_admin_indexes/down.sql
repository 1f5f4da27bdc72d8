DROP INDEX accounts_domain_statuses;
DROP INDEX web_sessions_created;
DROP INDEX oauth_tokens_last_used;
DROP INDEX users_approved;
