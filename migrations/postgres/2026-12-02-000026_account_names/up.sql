-- Account search by name (and autocomplete) matches the start of any word
-- of the username or display name, as Mastodon's database search does,
-- from an index instead of reading every account.
CREATE INDEX accounts_names_fts ON accounts
    USING GIN (to_tsvector('simple', username || ' ' || display_name));
