-- One node runs each periodic job per interval: the node that moves the
-- job's lease past now runs it; the others skip that turn.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL DEFAULT '',
    until TIMESTAMP NOT NULL
);
