use serde_json::Value;
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::secret::TokenHash;

/// What a ceremony is for; its text (stored) never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CeremonyKind {
    /// Registering a passkey for a signed-in user.
    PasskeyRegistration,
    /// Signing in with a passkey (discoverable, or for a named user).
    PasskeySignIn,
    /// Signing up with a passkey (no password).
    PasskeySignUp,
    /// A passkey as the second factor of a user already identified.
    PasskeySecondFactor,
    /// An OpenID Connect sign-in (authorization code flow) waiting for its callback; the
    /// handle is the `state` parameter.
    OidcSignIn,
    /// A SAML AuthnRequest waiting for its response; the handle is the request's ID
    /// without its leading `_`.
    SamlRequest,
    /// A SAML assertion already used (replay guard), kept until it expires; keyed by the
    /// connection and the assertion's ID, never taken.
    SamlAssertion,
}

impl CeremonyKind {
    /// Every kind.
    pub const ALL: &'static [CeremonyKind] = &[
        CeremonyKind::PasskeyRegistration,
        CeremonyKind::PasskeySignIn,
        CeremonyKind::PasskeySignUp,
        CeremonyKind::PasskeySecondFactor,
        CeremonyKind::OidcSignIn,
        CeremonyKind::SamlRequest,
        CeremonyKind::SamlAssertion,
    ];

    /// The stable text, e.g. `"passkey_sign_in"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::PasskeyRegistration => "passkey_registration",
            CeremonyKind::PasskeySignIn => "passkey_sign_in",
            CeremonyKind::PasskeySignUp => "passkey_sign_up",
            CeremonyKind::PasskeySecondFactor => "passkey_second_factor",
            CeremonyKind::OidcSignIn => "oidc_sign_in",
            CeremonyKind::SamlRequest => "saml_request",
            CeremonyKind::SamlAssertion => "saml_assertion",
        }
    }

    /// Parses [`Self::as_str`] output.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == text)
    }
}

/// A ceremony in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceremony {
    /// SHA-256 of the random handle the client holds (the handle itself is never stored).
    pub handle_hash: TokenHash,
    /// What it is for.
    pub kind: CeremonyKind,
    /// The user it is for, when known at the start.
    pub user_id: Option<UserId>,
    /// The flow's state (for WebAuthn: webauthn-rs' serialised ceremony state).
    pub payload: Value,
    /// When it started.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

impl Ceremony {
    /// Whether it is past its expiry at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_text() {
        for kind in CeremonyKind::ALL {
            assert_eq!(CeremonyKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(CeremonyKind::parse("nope"), None);
    }
}
