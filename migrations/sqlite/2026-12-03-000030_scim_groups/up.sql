-- Groups an identity provider pushes over SCIM; their members get the
-- roles MEETFIELD_SCIM_ROLE_GROUPS maps them to.
CREATE TABLE scim_groups (
    id BIGINT PRIMARY KEY,
    display_name TEXT NOT NULL,
    external_id TEXT,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX scim_groups_display_name ON scim_groups (lower(display_name));

CREATE TABLE scim_group_members (
    group_id BIGINT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members (user_id);
