//! Settings of [`Auth`](crate::Auth), with defaults a production app can keep.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::api_keys::{ApiKeyConfig, RateLimit};
use crate::error::ConfigError;
use crate::passkeys::PasskeyConfig;
use crate::passwords::{Argon2Config, HashingLimits, PasswordPolicy};
use crate::totp::TotpConfig;
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
    /// Password attempts allowed against one address (known or not), from all clients
    /// together, counted in the store so the limit holds across nodes. A success clears
    /// the address's count, and so do a password reset and an emailed-code sign-in (the
    /// owner's way through while someone else is guessing). Default 10 per 15 minutes
    /// (after a burst of 10, one attempt per 90 s); `None` turns it off.
    pub sign_in_limit: Option<RateLimit>,
    /// Failed password sign-ins allowed from one client network (an IPv4 address, or an
    /// IPv6 /64), against any address; successes do not count, so users behind one NAT do
    /// not lock each other out. Default 100 per 15 minutes; `None` turns it off. Not
    /// applied when the client's IP is unknown.
    #[serde(default = "default_sign_in_ip_limit")]
    pub sign_in_ip_limit: Option<RateLimit>,
    /// Unauthenticated flows started from one client network (an IPv4 address, or an IPv6
    /// /64): passkey sign-ins (a signed-out page with autofill starts one per view) and SSO
    /// sign-ins. Each keeps a record in the store until it expires, so without a bound
    /// anyone could fill the store. Default 600 per 10 minutes (one per second once the
    /// burst is spent); `None` turns it off. Not applied when the client's IP is unknown.
    #[serde(default = "default_flow_start_limit")]
    pub flow_start_limit: Option<RateLimit>,
    /// Sign-ups allowed from one client network (an IPv4 address, or an IPv6 /64). Default
    /// 10 per hour; `None` turns it off. Not applied when the client's IP is unknown.
    #[serde(default = "default_sign_up_limit")]
    pub sign_up_limit: Option<RateLimit>,
    /// Typed codes allowed per (address, purpose) across every code sent, on top of each
    /// code's own `verification.max_attempts`; a right code clears the count. Links are
    /// not counted (they cannot be guessed), so the owner always has a way through.
    /// Default 10 per day; `None` turns it off.
    #[serde(default = "default_code_failure_limit")]
    pub code_failure_limit: Option<RateLimit>,
    /// Emails (codes and links) sent per (address, purpose) and window, so nobody can flood
    /// an inbox. Default 5 per hour; `None` turns it off.
    pub mail_limit: Option<RateLimit>,
    /// How long an invite created without an expiry stays acceptable. Default 7 days;
    /// `None`: such invites never expire.
    #[serde(default = "default_invite_ttl")]
    pub invite_ttl: Option<Duration>,
    /// The longest an invite may stay acceptable: an `expires_at` further from its
    /// creation is `INVALID_INPUT`, and `invite_ttl` must be within it. Default 30 days;
    /// `None` lifts the cap (needed for `invite_ttl: None`).
    #[serde(default = "default_max_invite_ttl")]
    pub max_invite_ttl: Option<Duration>,
    /// Let a caller with `member:add` add another existing user to a group directly,
    /// without that user's consent. Default `false`: others join by accepting an invite
    /// (`INVITE_REQUIRED` otherwise); users adding themselves and the app's own code
    /// (`Caller::System`) are not affected.
    #[serde(default)]
    pub direct_member_add: bool,
    /// How recent a sign-in proves it is still the user, for a user without a password
    /// deleting their account (users with one give it again). Measured on the injected
    /// clock from the session's start. Default 5 minutes; 0 s to 1 day.
    #[serde(default = "default_reauth_window")]
    pub reauth_window: Duration,
    /// The second-factor step of sign-in (challenge lifetime and attempts).
    #[serde(default)]
    pub mfa: crate::mfa::MfaConfig,
    /// What sensitive operations ask of a session (second factor, recent sign-in).
    #[serde(default)]
    pub step_up: crate::mfa::StepUpConfig,
    /// Whether a password reset, and the first emailed sign-in to an unverified account,
    /// also end the credentials of the optional domains the user holds: the API keys they
    /// own (their groups' keys stay). Sessions and refresh tokens end either way. Default
    /// `true`: whoever set the account up before the owner proved the address keeps
    /// nothing.
    #[serde(default = "default_true")]
    pub recovery_ends_credentials: bool,
    /// Enumeration-safe sign-up: an address that has an account gets the same answer as a
    /// new one (a pending verification, `202` over HTTP) and its owner gets a
    /// [`Notice::SignUpAttempted`](crate::verification::Notice) instead of the caller
    /// learning `EMAIL_IN_USE`. Needs `require_email_verification` (a new address is then
    /// not signed in either). Default `false`: `EMAIL_IN_USE`. The trade-off is in
    /// `docs/account-recovery.md`.
    #[serde(default)]
    pub enumeration_safe_sign_up: bool,
    /// Which addresses new accounts and address changes may use (every address is
    /// normalised anyway: see [`Email`](crate::Email)). Default: any Unicode local part;
    /// `EmailPolicy::ascii_local_part()` refuses look-alikes from other scripts.
    #[serde(default)]
    pub email_policy: EmailPolicy,
    /// TOTP second factors and recovery codes (issuer, code parameters, the per-account
    /// limit of wrong codes).
    #[serde(default)]
    pub totp: TotpConfig,
    /// The WebAuthn relying party (rp id, name, allowed origins) of the passkeys domain.
    /// Default `None`: the passkey flows answer `NOT_CONFIGURED`. Checked at build.
    #[serde(default)]
    pub passkeys: Option<PasskeyConfig>,
    /// How long a ceremony (a passkey registration or sign-in in progress) may take from
    /// its start to its finish. Default 5 minutes; 10 s to 1 hour.
    #[serde(default = "default_ceremony_ttl")]
    pub ceremony_ttl: Duration,
    /// How the OpenID Connect relying party talks to providers (timeouts, response size
    /// cap, discovery and key cache).
    #[cfg(feature = "oidc")]
    #[serde(default)]
    pub oidc: crate::oidc::OidcHttpConfig,
    /// Where the app serves its SAML service-provider endpoints, without a trailing slash
    /// (`https://app.example.com/auth/sso/saml`, what auth-axum routes): a SAML connection
    /// saved without an SP entity id or ACS URL gets `<base>/<connection id>/metadata` and
    /// `<base>/<connection id>/acs`. Default `None`: both must be given.
    #[serde(default)]
    pub saml_sp_base_url: Option<String>,
}

fn default_ceremony_ttl() -> Duration {
    Duration::minutes(5)
}

fn default_true() -> bool {
    true
}

fn default_sign_in_ip_limit() -> Option<RateLimit> {
    Some(RateLimit {
        max: 100,
        window: Duration::minutes(15),
    })
}

fn default_flow_start_limit() -> Option<RateLimit> {
    Some(RateLimit {
        max: 600,
        window: Duration::minutes(10),
    })
}

fn default_sign_up_limit() -> Option<RateLimit> {
    Some(RateLimit {
        max: 10,
        window: Duration::HOUR,
    })
}

fn default_code_failure_limit() -> Option<RateLimit> {
    Some(RateLimit {
        max: 10,
        window: Duration::DAY,
    })
}

fn default_invite_ttl() -> Option<Duration> {
    Some(Duration::days(7))
}

fn default_max_invite_ttl() -> Option<Duration> {
    Some(Duration::days(30))
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
            sign_in_ip_limit: default_sign_in_ip_limit(),
            flow_start_limit: default_flow_start_limit(),
            sign_up_limit: default_sign_up_limit(),
            code_failure_limit: default_code_failure_limit(),
            invite_ttl: default_invite_ttl(),
            max_invite_ttl: default_max_invite_ttl(),
            direct_member_add: false,
            reauth_window: default_reauth_window(),
            mfa: crate::mfa::MfaConfig::default(),
            step_up: crate::mfa::StepUpConfig::default(),
            recovery_ends_credentials: true,
            enumeration_safe_sign_up: false,
            email_policy: EmailPolicy::default(),
            totp: TotpConfig::default(),
            passkeys: None,
            ceremony_ttl: default_ceremony_ttl(),
            #[cfg(feature = "oidc")]
            oidc: crate::oidc::OidcHttpConfig::default(),
            saml_sp_base_url: None,
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
    /// revocation made on ANOTHER node can take to reach this one without an invalidation
    /// bus ([`AuthBuilder::invalidation`](crate::AuthBuilder::invalidation)), or when its
    /// event is lost. Zero disables the cache. Default 30 s.
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
    /// How long a code or link works. Default 10 minutes (OWASP ASVS 4.0.3, 2.7.2).
    pub ttl: Duration,
    /// Wrong code attempts allowed per code (the right one counts too). Default 5.
    pub max_attempts: u32,
    /// Digits in a code, 6 to 10. Default 6.
    pub code_digits: u32,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::minutes(10),
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
        self.totp.validate()?;
        for limit in [
            &self.sign_in_limit,
            &self.sign_in_ip_limit,
            &self.flow_start_limit,
            &self.sign_up_limit,
            &self.code_failure_limit,
            &self.mail_limit,
        ]
        .into_iter()
        .flatten()
        {
            limit.validate().map_err(|_| ConfigError::Invalid {
                setting: "sign_in_limit / sign_in_ip_limit / flow_start_limit / sign_up_limit / code_failure_limit / mail_limit",
                reason: "max 1 to 10^9, window 1 second to 1 day",
            })?;
        }
        if let Some(base) = &self.saml_sp_base_url {
            let url = url::Url::parse(base).map_err(|_| ConfigError::Invalid {
                setting: "saml_sp_base_url",
                reason: "must be an absolute URL",
            })?;
            if !matches!(url.scheme(), "https" | "http") || base.ends_with('/') {
                return invalid(
                    "saml_sp_base_url",
                    "must be an http(s) URL without a trailing slash",
                );
            }
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
        if self
            .max_invite_ttl
            .is_some_and(|m| m <= Duration::ZERO || m > Duration::days(3650))
        {
            return invalid("max_invite_ttl", "must be positive and at most 10 years");
        }
        if let Some(max) = self.max_invite_ttl
            && self.invite_ttl.is_none_or(|t| t > max)
        {
            return invalid(
                "invite_ttl",
                "must be set and at most max_invite_ttl (or max_invite_ttl None)",
            );
        }
        if self.reauth_window < Duration::ZERO || self.reauth_window > Duration::DAY {
            return invalid("reauth_window", "must be between 0 and 1 day");
        }
        if let Err((setting, reason)) = self.mfa.check().and_then(|()| self.step_up.check()) {
            return invalid(setting, reason);
        }
        if self.ceremony_ttl < Duration::seconds(10) || self.ceremony_ttl > Duration::HOUR {
            return invalid("ceremony_ttl", "must be 10 seconds to 1 hour");
        }
        if let Some(passkeys) = &self.passkeys {
            passkeys.relying_party()?;
        }
        #[cfg(feature = "oidc")]
        if let Err((setting, reason)) = self.oidc.check() {
            return invalid(setting, reason);
        }
        if self.enumeration_safe_sign_up && !self.require_email_verification {
            return invalid(
                "enumeration_safe_sign_up",
                "needs require_email_verification (a new address must not be signed in at once)",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saml_sp_base_is_an_http_url_without_a_trailing_slash() {
        let mut c = AuthConfig::default();
        assert_eq!(c.saml_sp_base_url, None);
        c.saml_sp_base_url = Some("https://app.example.com/auth/sso/saml".into());
        assert!(c.validate().is_ok());
        for bad in [
            "https://app.example.com/auth/sso/saml/",
            "/auth/sso/saml",
            "ftp://app.example.com/saml",
            "",
        ] {
            c.saml_sp_base_url = Some(bad.into());
            assert!(c.validate().is_err(), "{bad:?}");
        }
    }

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
        let mut c = AuthConfig::default();
        assert_eq!(c.max_invite_ttl, Some(Duration::days(30)));
        assert!(!c.direct_member_add);
        c.invite_ttl = Some(Duration::days(31));
        assert!(c.validate().is_err(), "invite_ttl beyond the cap");
        c.invite_ttl = None;
        assert!(c.validate().is_err(), "never-expiring invites under a cap");
        c.max_invite_ttl = None;
        assert!(c.validate().is_ok());
        let mut c = AuthConfig::default();
        assert!(c.recovery_ends_credentials && !c.enumeration_safe_sign_up);
        c.enumeration_safe_sign_up = true;
        assert!(c.validate().is_err(), "needs require_email_verification");
        c.require_email_verification = true;
        assert!(c.validate().is_ok());
    }
}
