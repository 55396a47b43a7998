//! Brute-force limits of the credential flows, counted in the store's rate limits so they
//! hold across nodes: password sign-in per account and per client network, sign-up per
//! client network, wrong emailed codes per (address, purpose) across codes.
//!
//! Each limit takes one unit per attempt BEFORE the secret is checked, so concurrent
//! guesses cannot exceed it and a refused attempt costs no hashing. The per-account and
//! per-code limits count failures only: a success that proves the caller clears them.

use std::net::IpAddr;

use crate::api_keys::{RateLimit, RateLimitStore};
use crate::auth::Auth;
use crate::config::AuthConfig;
use crate::error::AuthError;

/// What a limit counts; names the scope of its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Throttle {
    /// Password attempts against one address, from any client
    /// ([`AuthConfig::sign_in_limit`]).
    SignInAccount,
    /// Password attempts from one client network, against any address
    /// ([`AuthConfig::sign_in_ip_limit`]).
    SignInNetwork,
    /// Sign-ups from one client network ([`AuthConfig::sign_up_limit`]).
    SignUpNetwork,
    /// Typed codes for one (address, purpose), across codes
    /// ([`AuthConfig::code_failure_limit`]).
    CodeFailures,
}

impl Throttle {
    /// The scope of the limit's buckets (stable: stored bucket names derive from it).
    pub(crate) fn scope(self) -> &'static str {
        match self {
            Throttle::SignInAccount => "sign_in_account",
            Throttle::SignInNetwork => "sign_in_network",
            Throttle::SignUpNetwork => "sign_up_network",
            Throttle::CodeFailures => "code_failures",
        }
    }

    /// The configured limit; `None` when turned off.
    fn limit(self, config: &AuthConfig) -> Option<&RateLimit> {
        match self {
            Throttle::SignInAccount => config.sign_in_limit.as_ref(),
            Throttle::SignInNetwork => config.sign_in_ip_limit.as_ref(),
            Throttle::SignUpNetwork => config.sign_up_limit.as_ref(),
            Throttle::CodeFailures => config.code_failure_limit.as_ref(),
        }
    }
}

/// The client network a per-address limit counts: an IPv4 address as is (an IPv4-mapped
/// IPv6 address as its IPv4 address), an IPv6 address reduced to its /64, since one
/// host or home usually holds a whole /64 and could otherwise pick a fresh address for
/// every attempt.
pub(crate) fn client_network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !(u128::from(u64::MAX));
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// The two limits a failures-only `limit` steps on its bucket: a check (before the
/// secret is verified) and a count (after it failed).
///
/// A store keeps one TAT per bucket and admits a step under limit `l` when
/// `max(tat, now) + l.interval - now <= l.window` ([`RateLimit::next_tat`]). The count
/// costs `limit`'s interval, like a take of `limit`, but tolerates one interval more
/// (`max + 1` over `window + interval`), because every check costs a microsecond or so.
/// Those make the TAT run slightly ahead, so the count admits exactly `max` failures at
/// once (not one more) as long as the checks since the bucket was last whole cost less
/// than an interval. The check costs that microsecond and admits while
/// `tat - now <= (max - 1) * interval + interval / 2`: while fewer than `max` failures
/// are pending. So bursts are `max` failures, and then one failure per interval.
fn failures_only(limit: &RateLimit) -> (RateLimit, RateLimit) {
    let interval = limit.interval_micros();
    let count = RateLimit {
        max: limit.max.saturating_add(1),
        window: time::Duration::microseconds(limit.window_micros() + interval),
    };
    let tolerance = interval * i64::from(limit.max.saturating_sub(1)) + interval / 2;
    // The check's own cost: 1 µs, or more where `max` (a u32) cannot count that finely.
    let cost = tolerance / i64::from(u32::MAX) + 1;
    let window = tolerance + cost;
    let check = RateLimit {
        max: u32::try_from(window / cost).unwrap_or(u32::MAX),
        window: time::Duration::microseconds(window),
    };
    (check, count)
}

impl<S: RateLimitStore> Auth<S> {
    /// Takes one unit of `kind`'s limit for `key`; `RATE_LIMITED` (with the time until the
    /// next attempt is allowed) when it is used up. Does nothing when the limit is off.
    pub(crate) async fn throttle(&self, kind: Throttle, key: &str) -> Result<(), AuthError> {
        let Some(limit) = kind.limit(self.config()) else {
            return Ok(());
        };
        self.limiter()
            .take(self.store(), kind.scope(), key, limit, self.now())
            .await?;
        Ok(())
    }

    /// Refuses with `RATE_LIMITED` when `kind`'s failures-only limit for `key` is used
    /// up, without spending anything: the check before a secret is verified. The failure
    /// itself is counted afterwards with [`Self::count_failure`]. Attempts in flight at
    /// the same moment all pass the check before any of them fails, so they can overshoot
    /// the limit by their number.
    pub(crate) async fn throttle_check(&self, kind: Throttle, key: &str) -> Result<(), AuthError> {
        let Some(limit) = kind.limit(self.config()) else {
            return Ok(());
        };
        let (check, _) = failures_only(limit);
        self.limiter()
            .take(self.store(), kind.scope(), key, &check, self.now())
            .await?;
        Ok(())
    }

    /// Counts one failure of `kind`'s failures-only limit for `key` (see
    /// [`Self::throttle_check`]). The answer is a failure already: a full bucket changes
    /// nothing, and a store error is logged.
    pub(crate) async fn count_failure(&self, kind: Throttle, key: &str) {
        let Some(limit) = kind.limit(self.config()) else {
            return;
        };
        let (_, count) = failures_only(limit);
        match self
            .limiter()
            .take(self.store(), kind.scope(), key, &count, self.now())
            .await
        {
            Ok(_) | Err(AuthError::RateLimited { .. }) => {}
            Err(error) => {
                tracing::warn!(error = %error, scope = kind.scope(), "counting a failure failed")
            }
        }
    }

    /// Forgets `kind`'s count for `key` after a success that proves the caller. A store
    /// failure is logged, never fatal: the success stands, the count just stays.
    pub(crate) async fn clear_throttle(&self, kind: Throttle, key: &str) {
        if kind.limit(self.config()).is_none() {
            return;
        }
        if let Err(error) = self.limiter().reset(self.store(), kind.scope(), key).await {
            tracing::warn!(error = %error, scope = kind.scope(), "clearing a limit failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attempts at `now` on a bucket: each passes the check and fails; returns how many
    /// passed.
    fn failures(limit: &RateLimit, tat: &mut Option<i64>, now: i64, attempts: u32) -> u32 {
        let (check, count) = failures_only(limit);
        let mut passed = 0;
        for _ in 0..attempts {
            let Some(checked) = check.next_tat(*tat, now) else {
                continue;
            };
            passed += 1;
            *tat = Some(count.next_tat(Some(checked), now).unwrap_or(checked));
        }
        passed
    }

    /// Checks that pass without a failure (successes) on a bucket at `now`.
    fn successes(limit: &RateLimit, tat: &mut Option<i64>, now: i64, attempts: u32) {
        let (check, _) = failures_only(limit);
        for _ in 0..attempts {
            if let Some(checked) = check.next_tat(*tat, now) {
                *tat = Some(checked);
            }
        }
    }

    #[test]
    fn failures_only_limits_burst_max_then_one_per_interval() {
        let t0 = 1_000_000_000_000;
        for (max, window) in [
            (100, time::Duration::minutes(15)),
            (5, time::Duration::minutes(15)),
            (1, time::Duration::SECOND),
            (7, time::Duration::DAY),
        ] {
            let limit = RateLimit { max, window };
            let interval = limit.interval_micros();
            let mut tat = None;
            // Successes cost next to nothing: a burst of `max` failures still fits after
            // thousands of them.
            successes(&limit, &mut tat, t0, 5_000);
            assert_eq!(failures(&limit, &mut tat, t0, max + 10), max, "{limit:?}");
            successes(&limit, &mut tat, t0, 5_000);
            assert_eq!(failures(&limit, &mut tat, t0, 10), 0, "{limit:?}");
            // Then one per interval (the first may come up to half an interval early).
            assert_eq!(
                failures(&limit, &mut tat, t0 + interval, 10),
                1,
                "{limit:?}"
            );
            assert_eq!(
                failures(&limit, &mut tat, t0 + interval, 10),
                0,
                "{limit:?}"
            );
            assert_eq!(
                failures(&limit, &mut tat, t0 + 2 * interval, 10),
                1,
                "{limit:?}"
            );
            // After a whole window of quiet, a whole burst again.
            let later = t0 + 3 * interval + limit.window_micros();
            assert_eq!(
                failures(&limit, &mut tat, later, max + 10),
                max,
                "{limit:?}"
            );
        }
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let net = |s: &str| client_network(s.parse().unwrap()).to_string();
        assert_eq!(net("203.0.113.7"), "203.0.113.7");
        assert_eq!(net("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(net("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff::9"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("::1"), "::");
    }
}
