-- API keys (owned by a user or a group) and the fixed-window counters of rate limits.

CREATE TABLE api_keys (
    id                      uuid PRIMARY KEY,
    owner_user_id           uuid REFERENCES users (id) ON DELETE CASCADE,
    owner_group_id          uuid REFERENCES groups (id) ON DELETE CASCADE,
    created_by              uuid REFERENCES users (id) ON DELETE SET NULL,
    name                    text COLLATE "C" NOT NULL,
    start                   text COLLATE "C" NOT NULL,
    key_hash                bytea NOT NULL,
    scopes                  jsonb NOT NULL,
    rate_limit_max          bigint,
    rate_limit_window_secs  bigint,
    quota_limit             bigint,
    quota_remaining         bigint,
    quota_refill_secs       bigint,
    quota_refilled_at       timestamptz,
    metadata                jsonb NOT NULL,
    expires_at              timestamptz,
    revoked_at              timestamptz,
    last_used_at            timestamptz,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_one_owner CHECK ((owner_user_id IS NULL) <> (owner_group_id IS NULL))
);
CREATE INDEX api_keys_user_idx ON api_keys (owner_user_id, created_at, id);
CREATE INDEX api_keys_group_idx ON api_keys (owner_group_id, created_at, id);
CREATE INDEX api_keys_created_idx ON api_keys (created_at, id);
CREATE INDEX api_keys_name_idx ON api_keys (name, id);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by);

CREATE TABLE rate_limits (
    bucket        text NOT NULL,
    window_start  timestamptz NOT NULL,
    count         bigint NOT NULL,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at);
