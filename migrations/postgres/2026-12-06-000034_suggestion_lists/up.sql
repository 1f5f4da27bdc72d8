-- One row per person instead of one per suggestion: the workers rewrite
-- every list each hour, and 80 rows a person made that millions of rows.
-- `people` is "account_id:score:sources,..." (sources: a bit set of the
-- source names, src/org/suggestions.rs), best first; `group_list` is
-- "group_id:score,...".
DROP TABLE suggestions;
DROP TABLE group_suggestions;
CREATE TABLE suggestion_lists (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    people TEXT NOT NULL,
    group_list TEXT NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
