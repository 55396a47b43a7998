use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{UserId, VerificationId};
use crate::secret::TokenHash;
use crate::validate::Email;

/// What a one-time code or link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Prove ownership of the email address.
    VerifyEmail,
    /// Set a new password.
    ResetPassword,
    /// Sign in without a password.
    SignIn,
    /// Prove a new address before it replaces the user's (sent to the new address).
    ChangeEmail,
    /// The second-factor step of a sign-in (never mailed: its token goes to the client
    /// that gave the first factor; see [`crate::mfa`]).
    MfaChallenge,
}

impl Purpose {
    /// Stable text, for a store column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::SignIn => "sign_in",
            Purpose::ChangeEmail => "change_email",
            Purpose::MfaChallenge => "mfa_challenge",
        }
    }

    /// Parses [`Purpose::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verify_email" => Some(Purpose::VerifyEmail),
            "reset_password" => Some(Purpose::ResetPassword),
            "sign_in" => Some(Purpose::SignIn),
            "change_email" => Some(Purpose::ChangeEmail),
            "mfa_challenge" => Some(Purpose::MfaChallenge),
            _ => None,
        }
    }
}

/// A pending one-time code and link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Its id.
    pub id: VerificationId,
    /// What it is for.
    pub purpose: Purpose,
    /// Where it was sent.
    pub email: Email,
    /// The user it was issued for, when one exists.
    pub user_id: Option<UserId>,
    /// HMAC-SHA256 (under the app key) of the numeric code.
    pub code_hash: TokenHash,
    /// SHA-256 of the link token.
    pub link_hash: TokenHash,
    /// Code attempts made so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Issued.
    pub created_at: OffsetDateTime,
    /// Expires.
    pub expires_at: OffsetDateTime,
    /// When it was used.
    pub consumed_at: Option<OffsetDateTime>,
}

/// The result of [`VerificationStore::reserve_code_attempt`](super::VerificationStore::reserve_code_attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptReservation {
    /// One attempt was counted; compare the code against this record.
    Reserved(Verification),
    /// No unused code for that email and purpose.
    NoneActive,
    /// The newest unused code expired.
    Expired,
    /// The newest unused code has no attempts left.
    Exhausted,
}

/// The result of [`VerificationStore::consume_link`](super::VerificationStore::consume_link).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkConsumption {
    /// The link was valid and is now used.
    Consumed(Verification),
    /// The link expired.
    Expired,
    /// No unused link with that token (never issued, used, or replaced by a newer one).
    Unknown,
}
