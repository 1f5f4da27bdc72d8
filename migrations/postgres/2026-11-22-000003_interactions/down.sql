DROP TABLE status_edits;
DROP TABLE status_tags;
DROP TABLE mentions;
DROP TABLE favourites;
