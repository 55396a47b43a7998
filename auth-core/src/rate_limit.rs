//! Rate limits shared by every app node: API-key limits, sign-in and code throttling.
//!
//! A limit is counted in the store ([`RateLimitStore`]), so it holds across nodes; a
//! service takes one unit per attempt and refuses with `RATE_LIMITED` when the window is
//! used up.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{AuthError, StoreError};

/// At most `max` requests per fixed window of `window`, windows aligned to the Unix epoch
/// (so every node agrees where a window starts). A window's count resets when the next
/// window starts, whatever the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimit {
    /// Requests allowed per window.
    pub max: u32,
    /// Window length in seconds, 1 second to 1 day.
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

    /// The start of the window containing `now`.
    pub fn window_start(&self, now: OffsetDateTime) -> OffsetDateTime {
        let window = self.window.whole_seconds().max(1);
        let start = now.unix_timestamp() - now.unix_timestamp().rem_euclid(window);
        OffsetDateTime::from_unix_timestamp(start).unwrap_or(now)
    }
}

/// The answer of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether this request may proceed (and was counted).
    pub allowed: bool,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// When the window ends.
    pub reset_at: OffsetDateTime,
}

/// Fixed-window counters shared by every app node: API-key rate limits, sign-in throttling.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one request against `bucket` in the window of `limit` containing `now`, if the
    /// window's count is below `limit.max`; atomic, so concurrent callers on any number of
    /// nodes are admitted at most `limit.max` times per window.
    async fn take_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;

    /// Deletes counters of windows that ended before `before`; returns how many.
    async fn purge_rate_limits(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
