DROP TABLE accepted_answers;
