DROP TABLE suggestion_lists;
CREATE TABLE suggestions (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    score DOUBLE PRECISION NOT NULL,
    sources TEXT NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);
CREATE INDEX suggestions_score ON suggestions (account_id, score);
CREATE TABLE group_suggestions (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    score DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, group_id)
);
