//! [`Caller`]: who asks a service to act. Every operation done on someone's behalf takes
//! one, and the service decides what that caller may do, so an app calling the services
//! directly, an HTTP handler and any other framework get the same decisions.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::api_keys::{KeyOwner, VerifiedKey};
use crate::audit::{Actor, AuditEvent};
use crate::context::RequestMeta;
use crate::ids::{SessionId, UserId};
use crate::permissions::PermissionSet;
use crate::sessions::{Authenticated, SignedIn};

/// Who is asking.
///
/// - [`Caller::Session`]: a signed-in user, with their own authority.
/// - [`Caller::ApiKey`]: an API key, limited to its scopes — within its user's authority for
///   a user's key; on its group and the groups below it for a group's key. Keys never
///   manage keys.
/// - [`Caller::System`]: the app's own trusted code (an admin console, a job, a seed
///   script). It passes every check, so writing it is a visible decision at the call site.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Caller {
    /// A signed-in user's validated session.
    Session(Arc<Authenticated>),
    /// A verified API key.
    ApiKey(VerifiedKey),
    /// The app itself, trusted with everything.
    System,
}

impl Caller {
    /// The user acting: a session's user, or a user-owned key's owner.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Caller::Session(auth) => Some(auth.user.id),
            Caller::ApiKey(key) => match key.key.owner {
                KeyOwner::User(id) => Some(id),
                KeyOwner::Group(_) => None,
            },
            Caller::System => None,
        }
    }

    /// The session, when the caller is one.
    pub fn session(&self) -> Option<&Authenticated> {
        match self {
            Caller::Session(auth) => Some(auth),
            _ => None,
        }
    }

    /// The session's id, when the caller is a session.
    pub fn session_id(&self) -> Option<SessionId> {
        self.session().map(|auth| auth.session.id)
    }

    /// The key, when the caller is one.
    pub fn api_key(&self) -> Option<&VerifiedKey> {
        match self {
            Caller::ApiKey(key) => Some(key),
            _ => None,
        }
    }

    /// The scopes that limit the caller (`None`: not limited by scopes).
    pub fn scopes(&self) -> Option<&PermissionSet> {
        self.api_key().map(|key| key.scopes.as_ref())
    }

    /// Whether this is the trusted app itself.
    pub fn is_system(&self) -> bool {
        matches!(self, Caller::System)
    }

    /// Whether the caller may act on `user`'s own records (profile, sessions, linked
    /// accounts, keys): that user's session, or the app. Keys never do.
    pub fn is_self_or_system(&self, user: UserId) -> bool {
        match self {
            Caller::System => true,
            Caller::Session(auth) => auth.user.id == user,
            Caller::ApiKey(_) => false,
        }
    }

    /// The actor audit events record.
    pub fn actor(&self) -> Actor {
        match (self, self.user_id()) {
            (_, Some(id)) => Actor::User { id },
            (Caller::ApiKey(key), None) => Actor::ApiKey { id: key.key.id },
            _ => Actor::System,
        }
    }
}

impl From<Arc<Authenticated>> for Caller {
    fn from(auth: Arc<Authenticated>) -> Self {
        Caller::Session(auth)
    }
}

impl From<VerifiedKey> for Caller {
    fn from(key: VerifiedKey) -> Self {
        Caller::ApiKey(key)
    }
}

impl SignedIn {
    /// The new session as a [`Caller`], for the calls that follow a sign-in.
    pub fn caller(&self) -> Caller {
        Caller::Session(Arc::new(Authenticated {
            session: self.session.clone(),
            user: Arc::new(self.user.clone()),
        }))
    }
}

impl AuditEvent {
    /// A successful event `action` by `caller` (its actor, and its session if it is one),
    /// at `at`, with the request's metadata.
    pub fn by(action: &str, caller: &Caller, at: OffsetDateTime, meta: &RequestMeta) -> Self {
        let mut event = AuditEvent::new(action, caller.actor(), at, meta);
        event.session_id = caller.session_id();
        event
    }
}
