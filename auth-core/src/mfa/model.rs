use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::AuthError;
use crate::secret::Secret;
use crate::sessions::SignedIn;

/// The confirmed second factors a user holds, across the domains a store implements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct SecondFactors {
    /// A confirmed TOTP enrolment (its recovery codes complete a challenge too).
    pub totp: bool,
    /// At least one passkey.
    pub passkey: bool,
}

impl SecondFactors {
    /// No second factor.
    pub fn none() -> Self {
        Self::default()
    }

    /// With or without a confirmed TOTP enrolment.
    pub fn with_totp(mut self, totp: bool) -> Self {
        self.totp = totp;
        self
    }

    /// With or without a passkey.
    pub fn with_passkey(mut self, passkey: bool) -> Self {
        self.passkey = passkey;
        self
    }

    /// Whether the user holds any second factor (then sign-in asks for one).
    pub fn any(self) -> bool {
        self.totp || self.passkey
    }

    /// The ways a challenge can be completed: `totp` and `recovery_code` with a TOTP
    /// enrolment, `passkey` with a passkey.
    pub fn methods(self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.totp {
            methods.extend(["totp", "recovery_code"]);
        }
        if self.passkey {
            methods.push("passkey");
        }
        methods
    }
}

/// A pending second-factor step of a sign-in: give its token back with the factor.
pub struct MfaChallenge {
    /// The challenge token (one-time; names the user, proves nothing by itself).
    pub token: Secret,
    /// The factors that can complete it.
    pub factors: SecondFactors,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("token", &self.token)
            .field("factors", &self.factors)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The result of a first-factor sign-in (password, emailed code or link).
#[derive(Debug)]
pub enum SignInOutcome {
    /// Signed in: a new session.
    SignedIn(Box<SignedIn>),
    /// The user holds a second factor: no session yet; complete the challenge with it.
    MfaRequired(MfaChallenge),
}

impl SignInOutcome {
    /// The session, or `MFA_REQUIRED` when a second factor is still needed (for code that
    /// does not offer the second step).
    pub fn signed_in(self) -> Result<SignedIn, AuthError> {
        match self {
            SignInOutcome::SignedIn(done) => Ok(*done),
            SignInOutcome::MfaRequired(_) => Err(AuthError::MfaRequired),
        }
    }

    /// The challenge, if a second factor is needed.
    pub fn challenge(&self) -> Option<&MfaChallenge> {
        match self {
            SignInOutcome::SignedIn(_) => None,
            SignInOutcome::MfaRequired(challenge) => Some(challenge),
        }
    }
}

/// Settings of the second-factor step of sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaConfig {
    /// How long a challenge can be completed. Default 5 minutes; 30 s to 1 hour.
    #[serde(default = "default_challenge_ttl")]
    pub challenge_ttl: Duration,
    /// Completion attempts a challenge allows (each wrong factor counts). Default 5; 1 to 20.
    #[serde(default = "default_challenge_attempts")]
    pub challenge_attempts: u32,
}

fn default_challenge_ttl() -> Duration {
    Duration::minutes(5)
}

fn default_challenge_attempts() -> u32 {
    5
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            challenge_ttl: default_challenge_ttl(),
            challenge_attempts: default_challenge_attempts(),
        }
    }
}

impl MfaConfig {
    /// Checks the bounds; names the field that is out of them.
    pub(crate) fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.challenge_ttl < Duration::seconds(30) || self.challenge_ttl > Duration::HOUR {
            return Err(("mfa.challenge_ttl", "must be between 30 s and 1 hour"));
        }
        if !(1..=20).contains(&self.challenge_attempts) {
            return Err(("mfa.challenge_attempts", "must be between 1 and 20"));
        }
        Ok(())
    }
}
