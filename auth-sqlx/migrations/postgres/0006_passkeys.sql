-- Passkeys (WebAuthn credentials) and ceremonies (single-use, TTL'd state of a flow in
-- progress, keyed by the SHA-256 of a handle the client holds). 0005 is TOTP's.

CREATE TABLE ceremonies (
    kind         text COLLATE "C" NOT NULL,
    handle_hash  bytea NOT NULL,
    user_id      uuid,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (kind, handle_hash)
);
CREATE INDEX ceremonies_expires_idx ON ceremonies (expires_at);

CREATE TABLE passkeys (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    bytea NOT NULL,
    credential       text NOT NULL,
    format           integer NOT NULL,
    counter          bigint NOT NULL,
    backup_eligible  boolean NOT NULL,
    backup_state     boolean NOT NULL,
    transports       jsonb NOT NULL,
    aaguid           uuid,
    name             text NOT NULL,
    created_at       timestamptz NOT NULL,
    last_used_at     timestamptz,
    CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id)
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at, id);
