//! Brute-force limits of the credential flows, counted in the store's rate limits so they
//! hold across nodes: password sign-in per account and per client network, sign-up per
//! client network, wrong emailed codes per (address, purpose) across codes, TOTP and
//! recovery codes per account.
//!
//! The per-account, sign-up and per-code limits take one unit per attempt BEFORE the
//! secret is checked, so concurrent guesses cannot exceed them and a refused attempt costs
//! no hashing; a success that proves the caller clears the account's and the code's
//! bucket. The per-network sign-in limit counts failures only (users behind one NAT must
//! not lock each other out by signing in): it is checked without taking before the
//! password is verified ([`RateLimitStore::peek_rate_limit`]) and taken when it failed.

use std::net::IpAddr;

use crate::api_keys::{RateLimit, RateLimitStore};
use crate::auth::Auth;
use crate::config::AuthConfig;
use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::validate::Email;
use crate::verification::Purpose;

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
    /// Emails (codes and links) sent to one (address, purpose)
    /// ([`AuthConfig::mail_limit`]).
    Mail,
    /// TOTP and recovery codes typed for one account, across IPs
    /// ([`TotpConfig::failure_limit`](crate::totp::TotpConfig::failure_limit)).
    SecondFactor,
    /// Passkey sign-in attempts against one account, from any client (the user id;
    /// [`AuthConfig::sign_in_limit`]).
    PasskeyAccount,
    /// Unauthenticated flows (passkey sign-in, SSO sign-in) started from one client
    /// network, each keeping a record in the store until it expires
    /// ([`AuthConfig::flow_start_limit`]).
    FlowStartNetwork,
    /// Wrong SCIM bearer tokens from one client network, counted on failure
    /// ([`AuthConfig::sign_in_ip_limit`]).
    ScimTokenNetwork,
}

impl Throttle {
    /// The scope of the limit's buckets (stable: stored bucket names derive from it).
    pub(crate) fn scope(self) -> &'static str {
        match self {
            Throttle::SignInAccount => "sign_in_account",
            Throttle::SignInNetwork => "sign_in_network",
            Throttle::SignUpNetwork => "sign_up_network",
            Throttle::CodeFailures => "code_failures",
            Throttle::Mail => "mail",
            Throttle::SecondFactor => "second_factor",
            Throttle::PasskeyAccount => "passkey_account",
            Throttle::FlowStartNetwork => "flow_start_network",
            Throttle::ScimTokenNetwork => "scim_token_network",
        }
    }

    /// The configured limit; `None` when turned off.
    fn limit(self, config: &AuthConfig) -> Option<&RateLimit> {
        match self {
            Throttle::SignInAccount => config.sign_in_limit.as_ref(),
            Throttle::SignInNetwork => config.sign_in_ip_limit.as_ref(),
            Throttle::SignUpNetwork => config.sign_up_limit.as_ref(),
            Throttle::CodeFailures => config.code_failure_limit.as_ref(),
            Throttle::Mail => config.mail_limit.as_ref(),
            Throttle::SecondFactor => config.totp.failure_limit.as_ref(),
            Throttle::PasskeyAccount => config.sign_in_limit.as_ref(),
            Throttle::FlowStartNetwork => config.flow_start_limit.as_ref(),
            Throttle::ScimTokenNetwork => config.sign_in_ip_limit.as_ref(),
        }
    }
}

/// The key of the limits counted per (purpose, address): mail sent, codes typed.
pub(crate) fn purpose_key(purpose: Purpose, email: &Email) -> String {
    format!("{}:{email}", purpose.as_str())
}

/// The key of the limits counted per client network (see [`client_network`]); `None`
/// when the client's IP is unknown, and those limits do not apply.
pub(crate) fn network_key(meta: &RequestMeta) -> Option<String> {
    meta.ip.map(|ip| client_network(ip).to_string())
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

    /// Takes one unit of the per-network limit of unauthenticated flow starts
    /// ([`AuthConfig::flow_start_limit`]) for the client of `meta`; `RATE_LIMITED` when it
    /// is used up. Nothing is counted when the client's IP is unknown.
    pub(crate) async fn throttle_flow_start(&self, meta: &RequestMeta) -> Result<(), AuthError> {
        match network_key(meta) {
            Some(network) => self.throttle(Throttle::FlowStartNetwork, &network).await,
            None => Ok(()),
        }
    }

    /// Refuses with `RATE_LIMITED` when `kind`'s limit for `key` is used up, taking
    /// nothing: the check of a limit that counts failures only, before the secret is
    /// verified; the failure itself is counted afterwards with [`Self::count_failure`].
    /// Attempts in flight at the same moment all pass the check before any of them fails,
    /// so they can overshoot the limit by their number.
    pub(crate) async fn throttle_check(&self, kind: Throttle, key: &str) -> Result<(), AuthError> {
        let Some(limit) = kind.limit(self.config()) else {
            return Ok(());
        };
        self.limiter()
            .check(self.store(), kind.scope(), key, limit, self.now())
            .await
    }

    /// Counts one failure of `kind`'s limit for `key` (see [`Self::throttle_check`]). The
    /// answer is a failure already: a full bucket changes nothing, and a store error is
    /// logged.
    pub(crate) async fn count_failure(&self, kind: Throttle, key: &str) {
        let Some(limit) = kind.limit(self.config()) else {
            return;
        };
        match self
            .limiter()
            .take(self.store(), kind.scope(), key, limit, self.now())
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
