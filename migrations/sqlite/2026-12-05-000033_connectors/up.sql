-- Connector insight (src/org/insights.rs): one row per run, the measures of
-- each discoverable local person, and the unit-by-unit tie counts. Only the
-- newest two runs are kept (the silo map shows what changed).
CREATE TABLE insight_runs (
    id BIGINT PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    window_days BIGINT NOT NULL,
    people BIGINT NOT NULL,
    partner_people BIGINT NOT NULL,
    ties BIGINT NOT NULL,
    sources BIGINT NOT NULL,
    exact BOOLEAN NOT NULL,
    duration_ms BIGINT NOT NULL
);

CREATE TABLE insight_people (
    run_id BIGINT NOT NULL REFERENCES insight_runs (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    department TEXT NOT NULL,
    degree BIGINT NOT NULL,
    strength REAL NOT NULL,
    betweenness REAL NOT NULL,
    bridging REAL NOT NULL,
    participation_department REAL NOT NULL,
    participation_instance REAL NOT NULL,
    constraint_score REAL,
    effective_size REAL NOT NULL,
    cut_off BIGINT NOT NULL,
    PRIMARY KEY (run_id, account_id)
);
CREATE INDEX insight_people_betweenness ON insight_people (run_id, betweenness);

-- kind: department | instance; a <= b; a = b holds the ties inside a unit.
CREATE TABLE insight_ties (
    run_id BIGINT NOT NULL REFERENCES insight_runs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    ties BIGINT NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (run_id, kind, a, b)
);

CREATE TABLE insight_units (
    run_id BIGINT NOT NULL REFERENCES insight_runs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    people BIGINT NOT NULL,
    PRIMARY KEY (run_id, kind, unit)
);

-- Follow suggestions (src/org/suggestions.rs), computed by the workers and
-- read by GET /api/v2/suggestions; sources is a comma-separated list of
-- Mastodon's source names.
CREATE TABLE suggestions (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    score REAL NOT NULL,
    sources TEXT NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);
CREATE INDEX suggestions_score ON suggestions (account_id, score);

CREATE TABLE group_suggestions (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    score REAL NOT NULL,
    PRIMARY KEY (account_id, group_id)
);

CREATE TABLE suggestion_dismissals (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, target_account_id)
);

CREATE TABLE featured_suggestions (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
