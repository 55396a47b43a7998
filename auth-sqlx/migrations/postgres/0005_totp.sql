-- TOTP second factors (one per user; the seed sealed with the app's SecretBox) and
-- recovery codes (SHA-256 hashes). Both go with their user; the codes with the factor.

CREATE TABLE totp_factors (
    user_id         uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    format_version  bigint NOT NULL,
    seed            text NOT NULL,
    algorithm       text NOT NULL,
    digits          bigint NOT NULL,
    period          bigint NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'confirmed')),
    created_at      timestamptz NOT NULL,
    confirmed_at    timestamptz,
    last_step       bigint,
    last_used_at    timestamptz
);
CREATE INDEX totp_factors_pending_idx ON totp_factors (created_at) WHERE state = 'pending';

CREATE TABLE recovery_codes (
    user_id     uuid NOT NULL REFERENCES totp_factors (user_id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
