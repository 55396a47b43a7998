//! [`RateLimitStore`]: one counter per bucket and window, `rate:{window start}:{bucket}`,
//! taken by a Lua script and expiring with its window; `rate:ends` lets purges find them.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::StoreError;
use auth_core::rate_limit::{RateDecision, RateLimit, RateLimitStore};
use time::OffsetDateTime;

use crate::{RedisStore, millis_ceil, redis_error};

/// Counts one request if the window's count is below the maximum, atomically (a script
/// runs alone on the server). The counter expires when its window ends, or a window
/// after the server's own clock if that is later (an app clock behind the server's must
/// not see its counters vanish at once).
static TAKE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then return {0, count} end
count = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local server_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = math.max(tonumber(ARGV[2]), server_ms + tonumber(ARGV[3]))
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', at))
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
return {1, count}
",
    )
});

/// Deletes the counters of windows that ended before `ARGV[1]` (an exclusive bound).
static PURGE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local keys = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE')
for _, key in ipairs(keys) do redis.call('DEL', key) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return #keys
",
    )
});

#[async_trait]
impl RateLimitStore for RedisStore {
    async fn take_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let start = limit.window_start(now);
        let reset_at = start + limit.window;
        let window_ms = limit.window.whole_milliseconds().max(1);
        let (allowed, count): (i64, i64) = TAKE
            .key(self.rate_key(start.unix_timestamp(), bucket))
            .key(self.rate_ends_key())
            .arg(limit.max)
            .arg(millis_ceil(reset_at))
            .arg(i64::try_from(window_ms).unwrap_or(i64::MAX))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        Ok(RateDecision {
            allowed: allowed == 1,
            remaining: limit.max.saturating_sub(count),
            reset_at,
        })
    }

    async fn purge_rate_limits(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        PURGE
            .key(self.rate_ends_key())
            .arg(format!("({}", millis_ceil(before)))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)
    }
}
