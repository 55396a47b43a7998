-- SCIM provisioning: each SSO connection's set-up, and the users and groups its directory
-- provisioned. Everything goes with its connection; a user's record with the user; a
-- group's record with its library group. Lists filter on (connection, field) indexes;
-- case-insensitive fields are kept lowercased beside the original (`*_key`).

CREATE TABLE scim_configs (
    connection_id     BLOB PRIMARY KEY NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    group_id          BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    enabled           INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    deprovision       TEXT NOT NULL CHECK (deprovision IN ('soft', 'hard')),
    token_hash        BLOB NOT NULL,
    token_created_at  INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX scim_configs_token_key ON scim_configs (token_hash);

CREATE TABLE scim_users (
    id                BLOB PRIMARY KEY NOT NULL,
    connection_id     BLOB NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    user_id           BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name         TEXT NOT NULL,
    user_name_key     TEXT NOT NULL,
    external_id       TEXT,
    display_name      TEXT,
    display_name_key  TEXT,
    email             TEXT NOT NULL,
    active            INTEGER NOT NULL CHECK (active IN (0, 1)),
    attributes        TEXT NOT NULL,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX scim_users_user_name_key ON scim_users (connection_id, user_name_key);
CREATE UNIQUE INDEX scim_users_user_key ON scim_users (connection_id, user_id);
CREATE INDEX scim_users_user_idx ON scim_users (user_id);
CREATE INDEX scim_users_external_id_idx ON scim_users (connection_id, external_id);
CREATE INDEX scim_users_email_idx ON scim_users (connection_id, email);
CREATE INDEX scim_users_display_name_idx ON scim_users (connection_id, display_name_key);
CREATE INDEX scim_users_created_idx ON scim_users (connection_id, created_at, id);
CREATE INDEX scim_users_updated_idx ON scim_users (connection_id, updated_at);

CREATE TABLE scim_groups (
    id                BLOB PRIMARY KEY NOT NULL,
    connection_id     BLOB NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    group_id          BLOB NOT NULL UNIQUE REFERENCES groups (id) ON DELETE CASCADE,
    display_name      TEXT NOT NULL,
    display_name_key  TEXT NOT NULL,
    external_id       TEXT,
    attributes        TEXT NOT NULL,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX scim_groups_display_name_idx ON scim_groups (connection_id, display_name_key);
CREATE INDEX scim_groups_external_id_idx ON scim_groups (connection_id, external_id);
CREATE INDEX scim_groups_created_idx ON scim_groups (connection_id, created_at, id);
CREATE INDEX scim_groups_updated_idx ON scim_groups (connection_id, updated_at);
