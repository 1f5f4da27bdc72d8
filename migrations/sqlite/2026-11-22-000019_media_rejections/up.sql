-- Domains whose media this instance does not download (Mastodon's
-- "reject media" domain block): their posts still federate, attachments
-- stay links to the origin.
CREATE TABLE domain_media_rejections (
    domain TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);
