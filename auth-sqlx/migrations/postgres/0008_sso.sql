-- Enterprise SSO: organizations' identity-provider connections and the email domains they
-- claim. Both go with their group (and so with every group above it).

CREATE TABLE sso_connections (
    id              uuid PRIMARY KEY,
    group_id        uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name            text COLLATE "C" NOT NULL,
    status          text NOT NULL CHECK (status IN ('draft', 'active', 'disabled')),
    protocol        text NOT NULL CHECK (protocol IN ('oidc', 'saml')),
    -- The protocol configuration as JSON, in format `format_version`; an OIDC client
    -- secret is in it only sealed (SecretBox text form).
    config          jsonb NOT NULL,
    default_role    text,
    role_mapping    jsonb NOT NULL,
    extend          jsonb NOT NULL,
    format_version  bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX sso_connections_group_idx ON sso_connections (group_id, created_at, id);
CREATE INDEX sso_connections_group_name_idx ON sso_connections (group_id, name, id);

CREATE TABLE sso_domains (
    id                  uuid PRIMARY KEY,
    group_id            uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    domain              text COLLATE "C" NOT NULL,
    verification_token  text NOT NULL,
    verified_at         timestamptz,
    require_sso         boolean NOT NULL DEFAULT FALSE,
    created_at          timestamptz NOT NULL
);
-- One claim per organization and domain; one VERIFIED claim per domain.
CREATE UNIQUE INDEX sso_domains_group_domain_key ON sso_domains (group_id, domain);
CREATE UNIQUE INDEX sso_domains_verified_key ON sso_domains (domain) WHERE verified_at IS NOT NULL;
-- Routing and the SSO requirement look a domain up by name.
CREATE INDEX sso_domains_domain_idx ON sso_domains (domain, verified_at);
