DROP TABLE trend_hidden_links;
DROP TABLE trend_links;
DROP TABLE status_cards;
DROP TABLE preview_cards;
