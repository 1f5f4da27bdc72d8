DROP INDEX statuses_in_reply_to;
CREATE INDEX statuses_in_reply_to ON statuses (in_reply_to_id);
