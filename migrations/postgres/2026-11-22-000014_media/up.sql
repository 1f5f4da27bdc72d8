-- Media attachments: uploads by local users (attached to a status, or
-- waiting for one) and attachments of remote posts (cached here once
-- fetched). Files live in the storage under file_key / thumb_key.
CREATE TABLE media_attachments (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    state TEXT NOT NULL,
    file_key TEXT,
    file_size BIGINT NOT NULL DEFAULT 0,
    thumb_key TEXT,
    width INTEGER,
    height INTEGER,
    thumb_width INTEGER,
    thumb_height INTEGER,
    blurhash TEXT,
    description TEXT NOT NULL DEFAULT '',
    focus_x DOUBLE PRECISION NOT NULL DEFAULT 0,
    focus_y DOUBLE PRECISION NOT NULL DEFAULT 0,
    remote_url TEXT,
    error TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX media_attachments_status ON media_attachments (status_id, position);
CREATE INDEX media_attachments_state ON media_attachments (state, updated_at);
CREATE INDEX media_attachments_orphans ON media_attachments (account_id, status_id, created_at);
