//! Rate limits shared by every app node: API-key limits, sign-in and code throttling.
//!
//! A limit is a GCRA (generic cell rate algorithm) kept in the store
//! ([`RateLimitStore`]), so it holds across nodes: a bucket admits a burst of `max`
//! requests, and then one request each `window / max`, as the allowance comes back. There
//! is no window edge where a whole fresh allowance appears at once (the fixed windows this
//! replaces let twice the limit through across an edge), and no clock alignment between
//! nodes is needed. The store keeps one time per bucket, its *theoretical arrival time*
//! (TAT): the moment its allowance is whole again.
//!
//! Services never name buckets in clear: [`Limiter`] turns (scope, key) into a keyed hash,
//! so a store's rows hold no email address or IP.

use std::fmt::Write as _;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{AuthError, StoreError};
use crate::secret::Keyring;

/// At most `max` requests at once, given back one per `window / max` (a GCRA): a caller
/// spending steadily gets `max` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimit {
    /// Requests allowed in a burst, and per window when spent steadily.
    pub max: u32,
    /// The time the whole allowance takes to come back, 1 second to 1 day.
    #[serde(with = "crate::serde_util::seconds")]
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub window: Duration,
}

impl RateLimit {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), AuthError> {
        if self.max == 0 || self.max > 1_000_000_000 {
            return Err(AuthError::invalid("rate_limit.max", "must be 1 to 10^9"));
        }
        if self.window < Duration::SECOND || self.window > Duration::DAY {
            return Err(AuthError::invalid(
                "rate_limit.window",
                "must be 1 second to 1 day",
            ));
        }
        Ok(())
    }

    /// The window in microseconds, the unit stores keep TATs in.
    pub fn window_micros(&self) -> i64 {
        i64::try_from(self.window.whole_microseconds()).unwrap_or(i64::MAX)
    }

    /// What one request costs, in microseconds: `window / max`, at least 1.
    pub fn interval_micros(&self) -> i64 {
        (self.window_micros() / i64::from(self.max.max(1))).max(1)
    }

    /// One GCRA step for a request at `now` (microseconds since the Unix epoch) against a
    /// bucket whose TAT is `tat` (`None`: unknown, a whole allowance): the TAT to store
    /// when the request is admitted, or `None` when it is refused. Stores that cannot run
    /// this function inside their atomic step (SQL) compute the same thing:
    /// `next = max(tat, now) + interval`, admitted iff `next - now <= window`.
    pub fn next_tat(&self, tat: Option<i64>, now: i64) -> Option<i64> {
        let next = tat
            .unwrap_or(now)
            .max(now)
            .saturating_add(self.interval_micros());
        (next.saturating_sub(now) <= self.window_micros()).then_some(next)
    }

    /// What a take at `now` would answer against a bucket whose TAT is `tat`, without
    /// taking: what [`RateLimitStore::peek_rate_limit`] returns.
    pub fn peek(&self, tat: Option<i64>, now: i64) -> RateDecision {
        match self.next_tat(tat, now) {
            Some(next) => self.decision(true, next, now),
            None => self.decision(false, tat.unwrap_or(now), now),
        }
    }

    /// The decision for a request at `now`: `admitted` with the bucket's TAT after it, or
    /// refused with its TAT as stored.
    pub fn decision(&self, admitted: bool, tat: i64, now: i64) -> RateDecision {
        let interval = self.interval_micros();
        if admitted {
            let left = (now.saturating_add(self.window_micros()) - tat).max(0) / interval;
            RateDecision {
                allowed: true,
                remaining: u32::try_from(left)
                    .unwrap_or(u32::MAX)
                    .min(self.max.saturating_sub(1)),
                reset_at: from_micros(tat),
            }
        } else {
            RateDecision {
                allowed: false,
                remaining: 0,
                reset_at: from_micros(tat.saturating_add(interval) - self.window_micros()),
            }
        }
    }
}

/// A time as microseconds since the Unix epoch, the unit stores keep TATs in.
pub fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// The time of `micros` microseconds since the Unix epoch.
pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The answer of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether this request may proceed (and was counted).
    pub allowed: bool,
    /// Requests that could follow at once.
    pub remaining: u32,
    /// Admitted: when the whole allowance is back. Refused: when the next request will be
    /// admitted.
    pub reset_at: OffsetDateTime,
}

impl RateDecision {
    /// How long a refused caller should wait, from `now` (at least 1 second, as
    /// `Retry-After` counts).
    pub fn retry_after(&self, now: OffsetDateTime) -> Duration {
        (self.reset_at - now).max(Duration::SECOND)
    }
}

/// GCRA buckets shared by every app node: API-key rate limits, sign-in throttling, code
/// attempts. Buckets are opaque names (keyed hashes, see [`Limiter`]).
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// One GCRA step on `bucket` at `now` (see [`RateLimit::next_tat`]): admits the request
    /// and stores the bucket's new TAT, or refuses it and changes nothing; answers with
    /// [`RateLimit::decision`]. Atomic, so concurrent callers on any number of nodes are
    /// admitted at most `limit.max` times in a burst.
    async fn take_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;

    /// What [`Self::take_rate_limit`] would answer at `now`, changing nothing
    /// ([`RateLimit::peek`] of the bucket's stored TAT): how a limit that counts failures
    /// only checks a caller before it knows whether the attempt fails.
    async fn peek_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;

    /// Forgets `bucket`: its whole allowance is back (a successful sign-in clears the
    /// account's failures). Forgetting an unknown bucket is not an error.
    async fn reset_rate_limit(&self, bucket: &str) -> Result<(), StoreError>;

    /// Deletes the buckets whose allowance is whole again at `before` (TAT at or before
    /// it): they hold nothing a fresh bucket does not. Returns how many.
    async fn purge_rate_limits(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Names buckets: a bucket is `scope:` and a keyed hash (HMAC-SHA256 under a sub-key of
/// the app's primary key, 128 bits in hex) of its key, so the store never holds the email
/// address or IP a limit is about. Rotating the primary key starts every bucket afresh.
#[derive(Clone)]
pub(crate) struct Limiter {
    key: Zeroizing<[u8; 32]>,
}

impl Limiter {
    pub(crate) fn new(keys: &Keyring) -> Self {
        Self {
            key: keys.primary().1.derive("rate-limit bucket hmac-sha256"),
        }
    }

    /// The bucket of `key` in `scope` (a short constant such as `sign_in_account`).
    pub(crate) fn bucket(&self, scope: &str, key: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_ref())
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(scope.as_bytes());
        mac.update(b"\0");
        mac.update(key.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bucket = String::with_capacity(scope.len() + 33);
        bucket.push_str(scope);
        bucket.push(':');
        for byte in digest.iter().take(16) {
            let _ = write!(bucket, "{byte:02x}");
        }
        bucket
    }

    /// Takes one request of `key`'s bucket in `scope`; refused → `RATE_LIMITED` with the
    /// time to wait.
    pub(crate) async fn take(
        &self,
        store: &(impl RateLimitStore + ?Sized),
        scope: &str,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, AuthError> {
        let decision = store
            .take_rate_limit(&self.bucket(scope, key), limit, now)
            .await?;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(AuthError::RateLimited {
                retry_after: decision.retry_after(now),
            })
        }
    }

    /// Refuses with `RATE_LIMITED` if a take of `key`'s bucket in `scope` would be
    /// refused now, taking nothing.
    pub(crate) async fn check(
        &self,
        store: &(impl RateLimitStore + ?Sized),
        scope: &str,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let decision = store
            .peek_rate_limit(&self.bucket(scope, key), limit, now)
            .await?;
        if decision.allowed {
            Ok(())
        } else {
            Err(AuthError::RateLimited {
                retry_after: decision.retry_after(now),
            })
        }
    }

    /// Gives `key`'s bucket in `scope` its whole allowance back.
    pub(crate) async fn reset(
        &self,
        store: &(impl RateLimitStore + ?Sized),
        scope: &str,
        key: &str,
    ) -> Result<(), AuthError> {
        Ok(store.reset_rate_limit(&self.bucket(scope, key)).await?)
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter(<keyed>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    fn per_minute(max: u32) -> RateLimit {
        RateLimit {
            max,
            window: Duration::MINUTE,
        }
    }

    /// Runs `count` requests at `now` through `next_tat`, returning how many were admitted.
    fn burst(limit: &RateLimit, tat: &mut Option<i64>, now: i64, count: u32) -> u32 {
        let mut admitted = 0;
        for _ in 0..count {
            if let Some(next) = limit.next_tat(*tat, now) {
                *tat = Some(next);
                admitted += 1;
            }
        }
        admitted
    }

    #[test]
    fn a_burst_of_max_then_one_per_interval() {
        let limit = per_minute(10);
        let mut tat = None;
        let t0 = 1_000_000_000_000;
        assert_eq!(burst(&limit, &mut tat, t0, 50), 10);
        // 5.9 s later nothing came back; at 6 s exactly one request did.
        assert_eq!(burst(&limit, &mut tat, t0 + 5_900_000, 5), 0);
        assert_eq!(burst(&limit, &mut tat, t0 + 6_000_000, 5), 1);
        // After a whole window of silence the whole allowance is back, no more.
        assert_eq!(burst(&limit, &mut tat, t0 + 66_000_000, 50), 10);
    }

    #[test]
    fn no_fresh_allowance_at_a_window_edge() {
        // Fixed windows admitted max just before an edge and max again just after it.
        let limit = per_minute(10);
        let mut tat = None;
        let before_edge = 59_999_000;
        assert_eq!(burst(&limit, &mut tat, before_edge, 10), 10);
        assert_eq!(burst(&limit, &mut tat, 60_000_000, 10), 0);
    }

    #[test]
    fn decisions_say_what_is_left_and_when_to_come_back() {
        let limit = per_minute(10);
        let now = 1_000_000_000;
        let first = limit.next_tat(None, now).unwrap();
        let admitted = limit.decision(true, first, now);
        assert_eq!(admitted.remaining, 9);
        assert_eq!(admitted.reset_at, from_micros(now + 6_000_000));
        let full = now + 60_000_000;
        assert_eq!(limit.next_tat(Some(full), now), None);
        let refused = limit.decision(false, full, now);
        assert!(!refused.allowed);
        assert_eq!(refused.reset_at, from_micros(now + 6_000_000));
        assert_eq!(refused.retry_after(from_micros(now)), Duration::seconds(6));
    }

    #[test]
    fn buckets_are_keyed_hashes_without_the_key_in_clear() {
        let a = Limiter::new(&Keyring::single(SecretKey::from_bytes(&[1; 32]).unwrap()));
        let b = Limiter::new(&Keyring::single(SecretKey::from_bytes(&[2; 32]).unwrap()));
        let bucket = a.bucket("sign_in_account", "alice@example.com");
        assert!(bucket.starts_with("sign_in_account:"));
        assert_eq!(bucket.len(), "sign_in_account:".len() + 32);
        assert!(!bucket.contains("alice"));
        assert_eq!(bucket, a.bucket("sign_in_account", "alice@example.com"));
        assert_ne!(bucket, a.bucket("sign_in_ip", "alice@example.com"));
        assert_ne!(bucket, b.bucket("sign_in_account", "alice@example.com"));
    }
}
