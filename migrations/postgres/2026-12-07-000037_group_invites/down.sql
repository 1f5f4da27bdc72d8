DROP TABLE group_invites;
