DROP TABLE oauth_codes;
DROP TABLE oauth_tokens;
DROP TABLE oauth_applications;
