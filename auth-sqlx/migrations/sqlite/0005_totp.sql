-- TOTP second factors (one per user; the seed sealed with the app's SecretBox) and
-- recovery codes (SHA-256 hashes). Both go with their user; the codes with the factor.

CREATE TABLE totp_factors (
    user_id         BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    format_version  INTEGER NOT NULL,
    seed            TEXT NOT NULL,
    algorithm       TEXT NOT NULL,
    digits          INTEGER NOT NULL,
    period          INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'confirmed')),
    created_at      INTEGER NOT NULL,
    confirmed_at    INTEGER,
    last_step       INTEGER,
    last_used_at    INTEGER
) STRICT;
CREATE INDEX totp_factors_pending_idx ON totp_factors (created_at) WHERE state = 'pending';

CREATE TABLE recovery_codes (
    user_id     BLOB NOT NULL REFERENCES totp_factors (user_id) ON DELETE CASCADE,
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;
