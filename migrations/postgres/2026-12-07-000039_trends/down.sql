DROP TABLE trend_hidden_tags;
DROP TABLE trend_statuses;
DROP TABLE trend_tags;
