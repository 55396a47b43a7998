//! Settings of [`Auth`](crate::Auth), with defaults a production app can keep.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::api_keys::{ApiKeyConfig, RateLimit};
use crate::error::ConfigError;
use crate::passwords::{Argon2Config, HashingLimits, PasswordPolicy};
use crate::validate::EmailPolicy;

/// Everything configurable. `AuthConfig::default()` is a sound production default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Session lifetimes and caching.
    pub session: SessionConfig,
    /// Password rules and hashing cost.
    pub password: PasswordConfig,
    /// Emailed codes and links.
    pub verification: VerificationConfig,
    /// Refuse password sign-in until the email address is verified.
    pub require_email_verification: bool,
    /// Let an emailed sign-in code create a user for an unknown address.
    pub passwordless_sign_up: bool,
    /// API keys.
    pub api_keys: ApiKeyConfig,
    /// Password sign-in attempts allowed per (email address, client IP) and window, counted
    /// in the store so the limit holds across nodes. Default 10 per 15 minutes; `None`
    /// turns throttling off.
    pub sign_in_limit: Option<RateLimit>,
    /// Emails (codes and links) sent per (address, purpose) and window, so nobody can flood
    /// an inbox. Default 5 per hour; `None` turns it off.
    pub mail_limit: Option<RateLimit>,
    /// How long an invite created without an expiry stays acceptable. Default 7 days;
    /// `None`: such invites never expire.
    #[serde(default = "default_invite_ttl")]
    pub invite_ttl: Option<Duration>,
    /// How recent a sign-in proves it is still the user, for a user without a password
    /// deleting their account (users with one give it again). Measured on the injected
    /// clock from the session's start. Default 5 minutes; 0 s to 1 day.
    #[serde(default = "default_reauth_window")]
    pub reauth_window: Duration,
    /// Which addresses new accounts and address changes may use (every address is
    /// normalised anyway: see [`Email`](crate::Email)). Default: any Unicode local part;
    /// `EmailPolicy::ascii_local_part()` refuses look-alikes from other scripts.
    #[serde(default)]
    pub email_policy: EmailPolicy,
}

fn default_invite_ttl() -> Option<Duration> {
    Some(Duration::days(7))
}

fn default_reauth_window() -> Duration {
    Duration::minutes(5)
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session: SessionConfig::default(),
            password: PasswordConfig::default(),
            verification: VerificationConfig::default(),
            require_email_verification: false,
            passwordless_sign_up: false,
            api_keys: ApiKeyConfig::default(),
            sign_in_limit: Some(RateLimit {
                max: 10,
                window: Duration::minutes(15),
            }),
            mail_limit: Some(RateLimit {
                max: 5,
                window: Duration::HOUR,
            }),
            invite_ttl: default_invite_ttl(),
            reauth_window: default_reauth_window(),
            email_policy: EmailPolicy::default(),
        }
    }
}

/// Session lifetimes and caching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionConfig {
    /// A session unused this long expires (sliding). Default 7 days.
    pub idle_timeout: Duration,
    /// A session expires this long after sign-in, however used. Default 30 days.
    pub absolute_timeout: Duration,
    /// Use is recorded (`last_seen_at`, idle expiry) at most this often per session, so a
    /// busy session does not write on every request. Default 60 s.
    pub touch_interval: Duration,
    /// How long a validated session is cached in this process; also the longest a
    /// revocation made on ANOTHER node can take to reach this one. Zero disables the cache.
    /// Default 30 s.
    pub cache_ttl: Duration,
    /// Most sessions cached per process. Default 100 000.
    pub cache_capacity: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::days(7),
            absolute_timeout: Duration::days(30),
            touch_interval: Duration::seconds(60),
            cache_ttl: Duration::seconds(30),
            cache_capacity: 100_000,
        }
    }
}

/// Password rules and hashing cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PasswordConfig {
    /// What a new password must satisfy.
    pub policy: PasswordPolicy,
    /// Argon2id cost.
    pub argon2: Argon2Config,
    /// How many hashes run at once (default: the number of CPUs) and how many wait
    /// (default: 4 × that); beyond, sign-ins are refused at once with `OVERLOADED`.
    #[serde(default)]
    pub hashing: HashingLimits,
}

/// Emailed codes and links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VerificationConfig {
    /// How long a code or link works. Default 15 minutes.
    pub ttl: Duration,
    /// Wrong code attempts allowed per code (the right one counts too). Default 5.
    pub max_attempts: u32,
    /// Digits in a code, 6 to 10. Default 6.
    pub code_digits: u32,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::minutes(15),
            max_attempts: 5,
            code_digits: 6,
        }
    }
}

impl AuthConfig {
    /// Defaults with very cheap password hashing: for tests only, NEVER in production.
    pub fn insecure_for_tests() -> Self {
        let mut config = Self::default();
        config.password.argon2 = Argon2Config::insecure_for_tests();
        config
    }

    /// Checks every setting's range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.session;
        let invalid = |setting, reason| Err(ConfigError::Invalid { setting, reason });
        if s.idle_timeout <= Duration::ZERO || s.absolute_timeout <= Duration::ZERO {
            return invalid("session.timeouts", "must be positive");
        }
        if s.touch_interval < Duration::ZERO || s.touch_interval >= s.idle_timeout {
            return invalid(
                "session.touch_interval",
                "must be at least zero and shorter than idle_timeout",
            );
        }
        if s.cache_ttl < Duration::ZERO || s.cache_ttl > Duration::hours(1) {
            return invalid("session.cache_ttl", "must be between 0 and 1 hour");
        }
        self.password.policy.validate_config()?;
        self.password.hashing.validate()?;
        self.api_keys.validate()?;
        for limit in [&self.sign_in_limit, &self.mail_limit]
            .into_iter()
            .flatten()
        {
            limit.validate().map_err(|_| ConfigError::Invalid {
                setting: "sign_in_limit / mail_limit",
                reason: "max 1 to 10^9, window 1 second to 1 day",
            })?;
        }
        let v = &self.verification;
        if !(6..=10).contains(&v.code_digits) {
            return invalid("verification.code_digits", "must be 6 to 10");
        }
        if !(1..=20).contains(&v.max_attempts) {
            return invalid("verification.max_attempts", "must be 1 to 20");
        }
        if v.ttl <= Duration::ZERO || v.ttl > Duration::days(7) {
            return invalid("verification.ttl", "must be positive and at most 7 days");
        }
        if self.invite_ttl.is_some_and(|t| t <= Duration::ZERO) {
            return invalid("invite_ttl", "must be positive");
        }
        if self.reauth_window < Duration::ZERO || self.reauth_window > Duration::DAY {
            return invalid("reauth_window", "must be between 0 and 1 day");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_refused() {
        assert!(AuthConfig::default().validate().is_ok());
        let mut c = AuthConfig::default();
        c.verification.code_digits = 4;
        assert!(c.validate().is_err());
        let mut c = AuthConfig::default();
        c.session.touch_interval = Duration::days(8);
        assert!(c.validate().is_err());
        let mut c = AuthConfig::default();
        c.session.idle_timeout = Duration::ZERO;
        assert!(c.validate().is_err());
        let mut c = AuthConfig::default();
        assert_eq!(c.reauth_window, Duration::minutes(5));
        c.reauth_window = Duration::days(2);
        assert!(c.validate().is_err());
        c.reauth_window = -Duration::SECOND;
        assert!(c.validate().is_err());
    }
}
