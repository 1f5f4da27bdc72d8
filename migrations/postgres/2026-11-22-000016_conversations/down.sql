DROP TABLE conversation_statuses;
DROP TABLE conversations;
