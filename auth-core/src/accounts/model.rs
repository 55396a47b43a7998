use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::AuthError;
use crate::ids::{AccountId, SessionId, UserId};

/// Longest provider name or provider account id accepted.
const MAX_PROVIDER_CHARS: usize = 255;

/// A sign-in provider: `password`, `email` (emailed one-time codes), `oidc:<issuer>`,
/// `saml:<connection>`, or an app-defined name such as `oauth:github`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provider(String);

impl Provider {
    /// The password provider.
    pub const PASSWORD: &'static str = "password";
    /// Passwordless sign-in by emailed code or link.
    pub const EMAIL: &'static str = "email";

    /// A provider name: 1 to 255 visible ASCII characters.
    pub fn new(name: &str) -> Result<Self, AuthError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_PROVIDER_CHARS
            && name.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(AuthError::invalid(
                "provider",
                "must be 1 to 255 visible ASCII characters",
            ))
        }
    }

    /// The password provider.
    pub fn password() -> Self {
        Self(Self::PASSWORD.to_owned())
    }

    /// The emailed-code provider.
    pub fn email() -> Self {
        Self(Self::EMAIL.to_owned())
    }

    /// An OpenID Connect issuer.
    pub fn oidc(issuer: &str) -> Result<Self, AuthError> {
        Self::new(&format!("oidc:{issuer}"))
    }

    /// A SAML connection.
    pub fn saml(connection: &str) -> Result<Self, AuthError> {
        Self::new(&format!("saml:{connection}"))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is one of the library's own credential providers (password, email),
    /// as opposed to a linked external identity.
    pub fn is_local(&self) -> bool {
        self.0 == Self::PASSWORD || self.0 == Self::EMAIL
    }
}

impl TryFrom<String> for Provider {
    type Error = AuthError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Provider> for String {
    fn from(p: Provider) -> String {
        p.0
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Argon2id hash in PHC string format. Not a secret in itself, but kept out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string (as produced by the hasher or read from a store).
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for a store column.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// One way a user signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account's id.
    pub id: AccountId,
    /// Whose account.
    pub user_id: UserId,
    /// The provider.
    pub provider: Provider,
    /// The user's id at the provider (for `password` and `email`, the user id).
    pub provider_account_id: String,
    /// The password hash, for the `password` provider.
    pub password_hash: Option<PasswordHash>,
    /// When it was linked.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

impl Account {
    /// A password account for `user_id`.
    pub fn password(user_id: UserId, hash: PasswordHash, now: OffsetDateTime) -> Self {
        Self::local(user_id, Provider::password(), Some(hash), now)
    }

    /// An emailed-code account for `user_id`.
    pub fn email(user_id: UserId, now: OffsetDateTime) -> Self {
        Self::local(user_id, Provider::email(), None, now)
    }

    fn local(
        user_id: UserId,
        provider: Provider,
        password_hash: Option<PasswordHash>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: AccountId::new(),
            user_id,
            provider,
            provider_account_id: user_id.to_string(),
            password_hash,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The result of [`AccountStore::unlink_account`](super::AccountStore::unlink_account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnlinkOutcome {
    /// Removed.
    Unlinked,
    /// The user has no such account.
    NotFound,
    /// Refused: it is the user's last account.
    LastSignInMethod,
}

/// Which sessions to revoke when a password is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeSessions {
    /// None (a transparent rehash).
    None,
    /// All of the user's sessions (a reset).
    All,
    /// All but this one (a change from a signed-in session).
    AllExcept(SessionId),
}

/// The view of an account shown to its user: no hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountView {
    /// The account's id.
    pub id: AccountId,
    /// The provider.
    pub provider: Provider,
    /// The user's id at the provider.
    pub provider_account_id: String,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id,
            provider: a.provider.clone(),
            provider_account_id: a.provider_account_id.clone(),
            created_at: a.created_at,
        }
    }
}
