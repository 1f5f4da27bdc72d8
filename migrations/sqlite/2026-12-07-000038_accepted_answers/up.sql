-- A question's accepted answer (one reply), marked by its author or a
-- moderator of the group it was posted in, or learned from the question's
-- server (`acceptedAnswer` on its Note).
CREATE TABLE accepted_answers (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    reply_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    -- The local account that marked it (NULL when learned from afar) and
    -- the boost that shows it in stock apps.
    accepted_by BIGINT,
    boost_id BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX accepted_answers_reply ON accepted_answers (reply_id);
