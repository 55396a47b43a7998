-- SCIM provisioning: each SSO connection's set-up, and the users and groups its directory
-- provisioned. Everything goes with its connection; a user's record with the user; a
-- group's record with its library group. Lists filter on (connection, field) indexes;
-- case-insensitive fields are kept lowercased beside the original (`*_key`). The fields a
-- filter compares order bytewise (COLLATE "C"), as the other stores do.

CREATE TABLE scim_configs (
    connection_id     uuid PRIMARY KEY REFERENCES sso_connections (id) ON DELETE CASCADE,
    group_id          uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    enabled           boolean NOT NULL,
    deprovision       text NOT NULL CHECK (deprovision IN ('soft', 'hard')),
    token_hash        bytea NOT NULL,
    token_created_at  timestamptz NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE UNIQUE INDEX scim_configs_token_key ON scim_configs (token_hash);

CREATE TABLE scim_users (
    id                uuid PRIMARY KEY,
    connection_id     uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name         text NOT NULL,
    user_name_key     text COLLATE "C" NOT NULL,
    external_id       text COLLATE "C",
    display_name      text,
    display_name_key  text COLLATE "C",
    email             text COLLATE "C" NOT NULL,
    active            boolean NOT NULL,
    attributes        jsonb NOT NULL,
    version           bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name_key ON scim_users (connection_id, user_name_key);
CREATE UNIQUE INDEX scim_users_user_key ON scim_users (connection_id, user_id);
CREATE INDEX scim_users_user_idx ON scim_users (user_id);
CREATE INDEX scim_users_external_id_idx ON scim_users (connection_id, external_id);
CREATE INDEX scim_users_email_idx ON scim_users (connection_id, email);
CREATE INDEX scim_users_display_name_idx ON scim_users (connection_id, display_name_key);
CREATE INDEX scim_users_created_idx ON scim_users (connection_id, created_at, id);
CREATE INDEX scim_users_updated_idx ON scim_users (connection_id, updated_at);

CREATE TABLE scim_groups (
    id                uuid PRIMARY KEY,
    connection_id     uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    group_id          uuid NOT NULL UNIQUE REFERENCES groups (id) ON DELETE CASCADE,
    display_name      text NOT NULL,
    display_name_key  text COLLATE "C" NOT NULL,
    external_id       text COLLATE "C",
    attributes        jsonb NOT NULL,
    version           bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX scim_groups_display_name_idx ON scim_groups (connection_id, display_name_key);
CREATE INDEX scim_groups_external_id_idx ON scim_groups (connection_id, external_id);
CREATE INDEX scim_groups_created_idx ON scim_groups (connection_id, created_at, id);
CREATE INDEX scim_groups_updated_idx ON scim_groups (connection_id, updated_at);
