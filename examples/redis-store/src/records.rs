//! The JSON records kept in Redis, for the models that are not `serde` themselves.
//!
//! Token hashes are base64url text; times are RFC 3339. A record that does not read back
//! into its model is [`StoreError::Corrupt`].

use auth_core::accounts::{Account, PasswordHash};
use auth_core::sessions::{Aal, RefreshToken, Session};
use auth_core::verification::{Purpose, Verification};
use auth_core::{
    AccountId, Email, Provider, SessionId, SsoConnectionId, StoreError, TokenHash, UserId,
    VerificationId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

fn hash(text: &str, what: &'static str) -> Result<TokenHash, StoreError> {
    TokenHash::from_base64(text).ok_or_else(|| StoreError::corrupt(what))
}

/// An [`Account`] as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct AccountRecord {
    id: AccountId,
    user_id: UserId,
    provider: Provider,
    provider_account_id: String,
    password_hash: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl From<&Account> for AccountRecord {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id,
            user_id: a.user_id,
            provider: a.provider.clone(),
            provider_account_id: a.provider_account_id.clone(),
            password_hash: a.password_hash.as_ref().map(|h| h.as_str().to_owned()),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

impl From<AccountRecord> for Account {
    fn from(r: AccountRecord) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            provider: r.provider,
            provider_account_id: r.provider_account_id,
            password_hash: r.password_hash.map(PasswordHash::new),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A [`Session`] as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    id: SessionId,
    /// Read by the `find_session_by_token` script.
    user_id: UserId,
    token_hash: String,
    aal: Aal,
    ip: Option<String>,
    user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    idle_expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    revoked_at: Option<OffsetDateTime>,
    /// The SSO connection that signed the user in (absent in records written before it).
    #[serde(default)]
    sso_connection_id: Option<SsoConnectionId>,
}

impl From<&Session> for SessionRecord {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id,
            user_id: s.user_id,
            token_hash: s.token_hash.to_base64(),
            aal: s.aal,
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            idle_expires_at: s.idle_expires_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            sso_connection_id: s.sso_connection_id,
        }
    }
}

impl TryFrom<SessionRecord> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRecord) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            user_id: r.user_id,
            token_hash: hash(&r.token_hash, "session token hash")?,
            aal: r.aal,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            idle_expires_at: r.idle_expires_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            sso_connection_id: r.sso_connection_id,
        })
    }
}

/// A [`RefreshToken`] as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    token_hash: String,
    session_id: SessionId,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    used_at: Option<OffsetDateTime>,
}

impl From<&RefreshToken> for RefreshRecord {
    fn from(r: &RefreshToken) -> Self {
        Self {
            token_hash: r.token_hash.to_base64(),
            session_id: r.session_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        }
    }
}

impl TryFrom<RefreshRecord> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: RefreshRecord) -> Result<Self, StoreError> {
        Ok(Self {
            token_hash: hash(&r.token_hash, "refresh token hash")?,
            session_id: r.session_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        })
    }
}

/// A [`Verification`] as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct VerificationRecord {
    id: VerificationId,
    purpose: Purpose,
    email: Email,
    user_id: Option<UserId>,
    code_hash: String,
    link_hash: String,
    attempts: u32,
    max_attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    consumed_at: Option<OffsetDateTime>,
}

impl From<&Verification> for VerificationRecord {
    fn from(v: &Verification) -> Self {
        Self {
            id: v.id,
            purpose: v.purpose,
            email: v.email.clone(),
            user_id: v.user_id,
            code_hash: v.code_hash.to_base64(),
            link_hash: v.link_hash.to_base64(),
            attempts: v.attempts,
            max_attempts: v.max_attempts,
            created_at: v.created_at,
            expires_at: v.expires_at,
            consumed_at: v.consumed_at,
        }
    }
}

impl TryFrom<VerificationRecord> for Verification {
    type Error = StoreError;
    fn try_from(r: VerificationRecord) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            purpose: r.purpose,
            email: r.email,
            user_id: r.user_id,
            code_hash: hash(&r.code_hash, "code hash")?,
            link_hash: hash(&r.link_hash, "link hash")?,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
        })
    }
}
