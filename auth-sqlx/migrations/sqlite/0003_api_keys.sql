-- API keys (owned by a user or a group) and the fixed-window counters of rate limits.

CREATE TABLE api_keys (
    id                      BLOB PRIMARY KEY NOT NULL,
    owner_user_id           BLOB REFERENCES users (id) ON DELETE CASCADE,
    owner_group_id          BLOB REFERENCES groups (id) ON DELETE CASCADE,
    created_by              BLOB REFERENCES users (id) ON DELETE SET NULL,
    name                    TEXT NOT NULL,
    start                   TEXT NOT NULL,
    key_hash                BLOB NOT NULL,
    scopes                  TEXT NOT NULL,
    rate_limit_max          INTEGER,
    rate_limit_window_secs  INTEGER,
    quota_limit             INTEGER,
    quota_remaining         INTEGER,
    quota_refill_secs       INTEGER,
    quota_refilled_at       INTEGER,
    metadata                TEXT NOT NULL,
    expires_at              INTEGER,
    revoked_at              INTEGER,
    last_used_at            INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    CHECK ((owner_user_id IS NULL) <> (owner_group_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_user_idx ON api_keys (owner_user_id, created_at, id);
CREATE INDEX api_keys_group_idx ON api_keys (owner_group_id, created_at, id);
CREATE INDEX api_keys_created_idx ON api_keys (created_at, id);
CREATE INDEX api_keys_name_idx ON api_keys (name, id);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by);

CREATE TABLE rate_limits (
    bucket        TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
) STRICT;
CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at);
