-- The organization's profile fields (Department, Role, Skills, …): names,
-- order and kind, and whether the admin or a directory sync fills them.
CREATE TABLE profile_fields (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- text | list | choice
    kind TEXT NOT NULL DEFAULT 'text',
    -- For choice fields: the allowed values, as a JSON array.
    choices TEXT NOT NULL DEFAULT '[]',
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Skill aliases: "k8s" is "Kubernetes". Both sides normalized (lower case).
CREATE TABLE skill_synonyms (
    alias TEXT PRIMARY KEY,
    skill TEXT NOT NULL
);

-- What a profile says, as searchable terms: one row per (field, term),
-- rebuilt with the profile (local edits, remote actor updates).
CREATE TABLE profile_terms (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Lower-cased field name ("skills", "department", …).
    field TEXT NOT NULL,
    -- Normalized term (lower case, single spaces, synonyms resolved).
    term TEXT NOT NULL,
    -- As the profile shows it.
    display TEXT NOT NULL,
    PRIMARY KEY (account_id, field, term)
);
CREATE INDEX profile_terms_lookup ON profile_terms (field, term);

-- Mastodon's "indexable": public posts may appear in search results.
ALTER TABLE accounts ADD COLUMN indexable BOOLEAN NOT NULL DEFAULT FALSE;
