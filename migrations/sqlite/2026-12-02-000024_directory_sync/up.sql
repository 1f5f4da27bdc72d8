-- Partner instances whose directories we exchange: whether we serve ours
-- to them and read theirs, and where the last sync stopped.
CREATE TABLE directory_peers (
    -- The instance as it appears in `acct` (host, with the port if any).
    domain TEXT PRIMARY KEY,
    -- Serve our directory to this instance.
    share BOOLEAN NOT NULL DEFAULT TRUE,
    -- Read this instance's directory.
    read BOOLEAN NOT NULL DEFAULT TRUE,
    -- Their collection, found through their NodeInfo.
    collection_url TEXT,
    -- Their clock at the last sync (`updated` of the collection): the next
    -- sync asks what changed since.
    cursor TEXT,
    last_full_at TIMESTAMP,
    last_sync_at TIMESTAMP,
    last_result TEXT NOT NULL DEFAULT ''
);

-- People known through a partner's directory, and when a sync last saw
-- them: a full sync drops those it no longer sees.
CREATE TABLE directory_entries (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    seen_at TIMESTAMP NOT NULL
);
CREATE INDEX directory_entries_domain ON directory_entries (domain, seen_at);
-- The directory collection pages local people by id and asks what changed.
CREATE INDEX accounts_updated_at ON accounts (updated_at);
