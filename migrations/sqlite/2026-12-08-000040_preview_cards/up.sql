-- Link preview cards (#18): one per URL, fetched by the workers from the
-- page's OpenGraph and oEmbed metadata; a post shows the card of its first
-- link. `state`: pending (to fetch), ready, failed (`error` says why).
CREATE TABLE preview_cards (
    id BIGINT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    card_type TEXT NOT NULL DEFAULT 'link',
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    author_name TEXT NOT NULL DEFAULT '',
    author_url TEXT NOT NULL DEFAULT '',
    provider_name TEXT NOT NULL DEFAULT '',
    provider_url TEXT NOT NULL DEFAULT '',
    -- Sanitized oEmbed markup (an iframe at most).
    html TEXT NOT NULL DEFAULT '',
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    embed_url TEXT NOT NULL DEFAULT '',
    image_key TEXT,
    image_width INTEGER,
    image_height INTEGER,
    blurhash TEXT,
    language TEXT,
    published_at TIMESTAMP,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- A worker's claim, so two never fetch the same page at once.
    claimed_at TIMESTAMP,
    fetched_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX preview_cards_pending ON preview_cards (created_at) WHERE state = 'pending';
CREATE TABLE status_cards (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    card_id BIGINT NOT NULL REFERENCES preview_cards (id) ON DELETE CASCADE
);
CREATE INDEX status_cards_card ON status_cards (card_id, status_id);
-- Trending links of the last run, as trend_tags.
CREATE TABLE trend_links (
    card_id BIGINT PRIMARY KEY REFERENCES preview_cards (id) ON DELETE CASCADE,
    score REAL NOT NULL,
    accounts BIGINT NOT NULL,
    uses BIGINT NOT NULL,
    history TEXT NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
CREATE TABLE trend_hidden_links (
    url TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);
