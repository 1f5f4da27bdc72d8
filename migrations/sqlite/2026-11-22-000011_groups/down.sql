DROP TABLE group_posts;
DROP TABLE group_moderators;
DROP TABLE group_settings;
