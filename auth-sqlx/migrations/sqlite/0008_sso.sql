-- Enterprise SSO: organizations' identity-provider connections and the email domains they
-- claim. Both go with their group (and so with every group above it).

CREATE TABLE sso_connections (
    id              BLOB PRIMARY KEY NOT NULL,
    group_id        BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'active', 'disabled')),
    protocol        TEXT NOT NULL CHECK (protocol IN ('oidc', 'saml')),
    -- The protocol configuration as JSON, in format `format_version`; an OIDC client
    -- secret is in it only sealed (SecretBox text form).
    config          TEXT NOT NULL,
    default_role    TEXT,
    role_mapping    TEXT NOT NULL,
    extend          TEXT NOT NULL,
    format_version  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX sso_connections_group_idx ON sso_connections (group_id, created_at, id);
CREATE INDEX sso_connections_group_name_idx ON sso_connections (group_id, name, id);

CREATE TABLE sso_domains (
    id                  BLOB PRIMARY KEY NOT NULL,
    group_id            BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    domain              TEXT NOT NULL,
    verification_token  TEXT NOT NULL,
    verified_at         INTEGER,
    require_sso         INTEGER NOT NULL DEFAULT 0 CHECK (require_sso IN (0, 1)),
    created_at          INTEGER NOT NULL
) STRICT;
-- One claim per organization and domain; one VERIFIED claim per domain.
CREATE UNIQUE INDEX sso_domains_group_domain_key ON sso_domains (group_id, domain);
CREATE UNIQUE INDEX sso_domains_verified_key ON sso_domains (domain) WHERE verified_at IS NOT NULL;
-- Routing and the SSO requirement look a domain up by name.
CREATE INDEX sso_domains_domain_idx ON sso_domains (domain, verified_at);
