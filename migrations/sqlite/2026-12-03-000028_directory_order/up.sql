-- The directory's "active" order (recent posters first, then never posted),
-- so a filtered page stops after its rows instead of sorting every match.
CREATE INDEX accounts_directory_active ON accounts ((last_status_at IS NULL), last_status_at DESC, id DESC);
