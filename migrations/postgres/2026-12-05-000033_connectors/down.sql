DROP TABLE featured_suggestions;
DROP TABLE suggestion_dismissals;
DROP TABLE group_suggestions;
DROP TABLE suggestions;
DROP TABLE insight_units;
DROP TABLE insight_ties;
DROP TABLE insight_people;
DROP TABLE insight_runs;
