DROP TABLE tag_follows;
