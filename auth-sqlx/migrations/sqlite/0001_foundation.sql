-- Users, accounts, sessions, refresh tokens, one-time codes, audit events.
-- Ids are 16-byte BLOBs, timestamps INTEGER microseconds since the Unix epoch, JSON TEXT.

CREATE TABLE users (
    id              BLOB PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL,
    email_verified  INTEGER NOT NULL,
    name            TEXT,
    image           TEXT,
    extend          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_created_idx ON users (created_at, id);

CREATE TABLE accounts (
    id                   BLOB PRIMARY KEY NOT NULL,
    user_id              BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    provider_account_id  TEXT NOT NULL,
    password_hash        TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX accounts_provider_key ON accounts (provider, provider_account_id);
CREATE INDEX accounts_user_idx ON accounts (user_id);

CREATE TABLE sessions (
    id               BLOB PRIMARY KEY NOT NULL,
    user_id          BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash       BLOB NOT NULL,
    aal              TEXT NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    idle_expires_at  INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    revoked_at       INTEGER
) STRICT;
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at, id);

CREATE TABLE refresh_tokens (
    token_hash  BLOB PRIMARY KEY NOT NULL,
    session_id  BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT;
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE verifications (
    id            BLOB PRIMARY KEY NOT NULL,
    purpose       TEXT NOT NULL,
    email         TEXT NOT NULL,
    user_id       BLOB REFERENCES users (id) ON DELETE CASCADE,
    code_hash     BLOB NOT NULL,
    link_hash     BLOB NOT NULL,
    attempts      INTEGER NOT NULL,
    max_attempts  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    consumed_at   INTEGER
) STRICT;
CREATE UNIQUE INDEX verifications_link_hash_key ON verifications (link_hash);
CREATE INDEX verifications_pending_idx ON verifications (email, purpose, created_at)
    WHERE consumed_at IS NULL;

CREATE TABLE audit_events (
    id          BLOB PRIMARY KEY NOT NULL,
    at          INTEGER NOT NULL,
    action      TEXT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    BLOB,
    subject     TEXT,
    ok          INTEGER NOT NULL,
    error_code  TEXT,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    session_id  BLOB,
    detail      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_at_idx ON audit_events (at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, at, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject, at, id);
