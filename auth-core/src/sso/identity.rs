//! What an identity provider asserted about the person signing in, after the protocol's
//! checks: the common input of just-in-time provisioning for OIDC and SAML alike.

use serde::Serialize;

/// A person as an identity provider vouched for them, protocol checks done (an ID token's
/// signature, issuer, audience, expiry and nonce; a SAML response's signature, audience,
/// destination, conditions and replay). Provisioning trusts nothing else in it: the email
/// address links an existing user only when `email_verified` and on the connection's
/// verified domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExternalIdentity {
    /// The stable subject at the provider (an OIDC `sub`; a SAML `NameID` or the mapped
    /// subject attribute): with the connection, the key of the user's external account.
    pub subject: String,
    /// The email address, as sent (not normalised).
    pub email: Option<String>,
    /// Whether the provider vouches for the address: an OIDC `email_verified: true`; for
    /// SAML, the connection's (the IdP of an organization with a verified domain speaks
    /// for its addresses).
    pub email_verified: bool,
    /// The full name.
    pub name: Option<String>,
    /// The given name.
    pub given_name: Option<String>,
    /// The family name.
    pub family_name: Option<String>,
    /// The IdP groups the person is in (for role mapping).
    pub groups: Vec<String>,
}

impl ExternalIdentity {
    /// An identity with only its subject; the other fields are set directly.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            email: None,
            email_verified: false,
            name: None,
            given_name: None,
            family_name: None,
            groups: Vec::new(),
        }
    }
}
