-- Passkeys (WebAuthn credentials) and ceremonies (single-use, TTL'd state of a flow in
-- progress, keyed by the SHA-256 of a handle the client holds). 0005 is TOTP's.

CREATE TABLE ceremonies (
    kind         TEXT NOT NULL,
    handle_hash  BLOB NOT NULL,
    user_id      BLOB,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (kind, handle_hash)
) STRICT;
CREATE INDEX ceremonies_expires_idx ON ceremonies (expires_at);

CREATE TABLE passkeys (
    id               BLOB PRIMARY KEY NOT NULL,
    user_id          BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    BLOB NOT NULL,
    credential       TEXT NOT NULL,
    format           INTEGER NOT NULL,
    counter          INTEGER NOT NULL,
    backup_eligible  INTEGER NOT NULL,
    backup_state     INTEGER NOT NULL,
    transports       TEXT NOT NULL,
    aaguid           BLOB,
    name             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER
) STRICT;
CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at, id);
