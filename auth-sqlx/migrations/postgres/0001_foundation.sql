-- Users, accounts, sessions, refresh tokens, one-time codes, audit events.
-- Text that lists sort by uses COLLATE "C" (byte order), the order cursors assume.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text COLLATE "C" NOT NULL,
    email_verified  boolean NOT NULL,
    name            text,
    image           text,
    extend          jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_created_idx ON users (created_at, id);

CREATE TABLE accounts (
    id                   uuid PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider             text NOT NULL,
    provider_account_id  text NOT NULL,
    password_hash        text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT accounts_provider_key UNIQUE (provider, provider_account_id)
);
CREATE INDEX accounts_user_idx ON accounts (user_id);

CREATE TABLE sessions (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash       bytea NOT NULL,
    aal              text NOT NULL,
    ip               text,
    user_agent       text,
    created_at       timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    idle_expires_at  timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    revoked_at       timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at, id);

CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE verifications (
    id            uuid PRIMARY KEY,
    purpose       text NOT NULL,
    email         text COLLATE "C" NOT NULL,
    user_id       uuid REFERENCES users (id) ON DELETE CASCADE,
    code_hash     bytea NOT NULL,
    link_hash     bytea NOT NULL,
    attempts      bigint NOT NULL,
    max_attempts  bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    consumed_at   timestamptz,
    CONSTRAINT verifications_link_hash_key UNIQUE (link_hash)
);
CREATE INDEX verifications_pending_idx ON verifications (email, purpose, created_at)
    WHERE consumed_at IS NULL;

CREATE TABLE audit_events (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    actor_type  text NOT NULL,
    actor_id    uuid,
    subject     text,
    ok          boolean NOT NULL,
    error_code  text,
    ip          text,
    user_agent  text,
    request_id  text,
    session_id  uuid,
    detail      jsonb NOT NULL
);
CREATE INDEX audit_events_at_idx ON audit_events (at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, at, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject, at, id);
