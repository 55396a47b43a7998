use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{SessionId, SsoConnectionId, UserId};
use crate::pagination::{SortField, SortValue, Sortable};
use crate::secret::{Secret, TokenHash};
use crate::users::User;

/// Authenticator assurance level (NIST SP 800-63B) of a session.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Aal {
    /// One factor (a password, an emailed code, an SSO sign-in).
    #[default]
    Aal1,
    /// Two factors (after TOTP or a passkey).
    Aal2,
}

impl Aal {
    /// `"aal1"` or `"aal2"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
        }
    }

    /// Parses [`Aal::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "aal1" => Some(Aal::Aal1),
            "aal2" => Some(Aal::Aal2),
            _ => None,
        }
    }
}

/// A session: one signed-in device or client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's id (not a secret; the token is).
    pub id: SessionId,
    /// Whose session.
    pub user_id: UserId,
    /// SHA-256 of the current session token.
    pub token_hash: TokenHash,
    /// Assurance level.
    pub aal: Aal,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// Client user agent at sign-in.
    pub user_agent: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last used (updated at most once per touch interval).
    pub last_seen_at: OffsetDateTime,
    /// Idle expiry: `last_seen_at` plus the idle timeout.
    pub idle_expires_at: OffsetDateTime,
    /// Absolute expiry, fixed at creation.
    pub expires_at: OffsetDateTime,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// The SSO connection that signed the user in, for a session an SSO sign-in created
    /// (`None` for every other sign-in). Requiring SSO on a domain keeps exactly these
    /// sessions of its organization's connections.
    pub sso_connection_id: Option<SsoConnectionId>,
}

/// Where a session stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Usable.
    Active,
    /// Past its idle or absolute expiry.
    Expired,
    /// Revoked.
    Revoked,
}

impl Session {
    /// The session's state at `now`.
    pub fn state(&self, now: OffsetDateTime) -> SessionState {
        if self.revoked_at.is_some() {
            SessionState::Revoked
        } else if now >= self.expires_at || now >= self.idle_expires_at {
            SessionState::Expired
        } else {
            SessionState::Active
        }
    }

    /// Whether the session is usable at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.state(now) == SessionState::Active
    }
}

/// A session as listed to its user: no token hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// The session's id.
    pub id: SessionId,
    /// Assurance level.
    pub aal: Aal,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// Client user agent at sign-in.
    pub user_agent: Option<String>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last used.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// Expires (the earlier of idle and absolute expiry).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether this is the session making the request.
    pub current: bool,
    /// The SSO connection the session was signed in through, if any.
    pub sso_connection_id: Option<SsoConnectionId>,
}

impl SessionView {
    /// The view of `session`, marking it current if it is `current`.
    pub fn of(session: &Session, current: Option<SessionId>) -> Self {
        Self {
            id: session.id,
            aal: session.aal,
            ip: session.ip.clone(),
            user_agent: session.user_agent.clone(),
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            expires_at: session.expires_at.min(session.idle_expires_at),
            current: current == Some(session.id),
            sso_connection_id: session.sso_connection_id,
        }
    }
}

/// A refresh token record: single use, rotated on every refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub token_hash: TokenHash,
    /// The session it refreshes.
    pub session_id: SessionId,
    /// Issued.
    pub created_at: OffsetDateTime,
    /// Expires (the session's absolute expiry).
    pub expires_at: OffsetDateTime,
    /// When it was used; a second use is reuse, and revokes the session.
    pub used_at: Option<OffsetDateTime>,
}

/// What a refresh changes, handed to [`SessionStore::rotate_refresh_token`](super::SessionStore::rotate_refresh_token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPlan {
    /// The session's new token hash (the old token stops working).
    pub new_token_hash: TokenHash,
    /// The new refresh token's hash.
    pub new_refresh_hash: TokenHash,
    /// The refresh time: becomes `last_seen_at`, and marks the old refresh token used.
    pub now: OffsetDateTime,
    /// The session's new idle expiry.
    pub idle_expires_at: OffsetDateTime,
}

/// The result of [`SessionStore::rotate_refresh_token`](super::SessionStore::rotate_refresh_token).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationOutcome {
    /// Rotated: the updated session, and the token hash it had before.
    Rotated {
        /// The session after rotation.
        session: Session,
        /// The session token hash before rotation (to evict from caches).
        previous_token_hash: TokenHash,
    },
    /// The refresh token had been used already: the session is now revoked.
    Reused {
        /// The revoked session.
        session_id: SessionId,
        /// Its token hash (to evict from caches).
        token_hash: TokenHash,
    },
    /// The session is revoked or expired (or the refresh token expired).
    Ended(SessionState),
    /// No such refresh token.
    Unknown,
}

/// Which sessions to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFilter {
    /// Whose sessions.
    pub user_id: UserId,
    /// Only sessions active at this instant (not revoked, not expired).
    pub active_at: Option<OffsetDateTime>,
}

impl SessionFilter {
    /// Whether `session` passes the filter (for stores that filter in memory).
    pub fn matches(&self, session: &Session) -> bool {
        session.user_id == self.user_id && self.active_at.is_none_or(|t| session.is_active(t))
    }
}

/// Order of session listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionOrder {
    /// By creation time.
    #[default]
    CreatedAt,
}

impl SortField for SessionOrder {
    fn name(self) -> &'static str {
        "created_at"
    }
    fn is_time(self) -> bool {
        true
    }
}

impl Sortable<SessionOrder> for Session {
    fn sort_key(&self, _: SessionOrder) -> SortValue {
        SortValue::Time(self.created_at)
    }
    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

/// A validated session with its user: what a request is authenticated as.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    /// The session.
    pub session: Session,
    /// Its user (shared, so the request path hands it out without copying it).
    pub user: Arc<User>,
}

/// The result of a sign-in or refresh: the session and its tokens, shown once.
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// The new session.
    pub session: Session,
    /// The session token: send as a cookie or `Authorization: Bearer`.
    pub session_token: Secret,
    /// The refresh token, for clients that do not use cookies.
    pub refresh_token: Secret,
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user.id)
            .field("session", &self.session.id)
            .field("session_token", &self.session_token)
            .field("refresh_token", &self.refresh_token)
            .finish()
    }
}
