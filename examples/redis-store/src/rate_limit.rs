//! [`RateLimitStore`]: one GCRA bucket per key, `rate:{bucket}`, holding its theoretical
//! arrival time (microseconds), stepped by a Lua script and expiring once its allowance is
//! whole again; `rate:ends` (scored by that time) lets purges find them.

use std::sync::LazyLock;

use async_trait::async_trait;
use auth_core::StoreError;
use auth_core::rate_limit::{RateDecision, RateLimit, RateLimitStore, micros};
use redis::AsyncCommands as _;
use time::OffsetDateTime;

use crate::{RedisStore, redis_error};

/// One GCRA step (`RateLimit::next_tat`), atomically (a script runs alone on the server).
/// Lua numbers are doubles: microsecond times (about 1.8e15) stay exact below 2^53. The
/// bucket expires, on the server's clock, as long after now as the app's clock says its
/// allowance needs to come back.
static TAKE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local now = tonumber(ARGV[1])
local stored = tonumber(redis.call('GET', KEYS[1]) or '')
local tat = stored or now
if tat < now then tat = now end
local next = tat + tonumber(ARGV[2])
if next - now > tonumber(ARGV[3]) then return {0, stored or now} end
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1)
redis.call('ZADD', KEYS[2], string.format('%.0f', next), KEYS[1])
return {1, next}
",
    )
});

/// Deletes the buckets whose allowance is whole at `ARGV[1]` (an inclusive bound).
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
        let now = micros(now);
        let (admitted, tat): (i64, i64) = TAKE
            .key(self.rate_key(bucket))
            .key(self.rate_ends_key())
            .arg(now)
            .arg(limit.interval_micros())
            .arg(limit.window_micros())
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        Ok(limit.decision(admitted == 1, tat, now))
    }

    async fn peek_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let stored: Option<String> = self
            .conn()
            .get(self.rate_key(bucket))
            .await
            .map_err(redis_error)?;
        let tat = stored
            .map(|text| text.parse::<i64>())
            .transpose()
            .map_err(|_| StoreError::corrupt("a rate-limit bucket that is not a number"))?;
        Ok(limit.peek(tat, micros(now)))
    }

    async fn reset_rate_limit(&self, bucket: &str) -> Result<(), StoreError> {
        let key = self.rate_key(bucket);
        redis::pipe()
            .atomic()
            .del(&key)
            .zrem(self.rate_ends_key(), &key)
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(redis_error)
    }

    async fn purge_rate_limits(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        PURGE
            .key(self.rate_ends_key())
            .arg(micros(before))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_error)
    }
}
