//! The union of every repository trait.

use crate::accounts::AccountStore;
use crate::api_keys::{ApiKeyStore, RateLimitStore};
use crate::audit::AuditStore;
use crate::groups::GroupStore;
use crate::invites::InviteStore;
use crate::members::MemberStore;
use crate::sessions::SessionStore;
use crate::users::UserStore;
use crate::verification::VerificationStore;

/// Every repository trait at once: what a complete storage adapter implements. Implemented
/// automatically for any type that implements them all. Services ask only for the traits
/// they use, so a partial backend can still use some of them.
pub trait Store:
    UserStore
    + AccountStore
    + SessionStore
    + VerificationStore
    + AuditStore
    + GroupStore
    + MemberStore
    + InviteStore
    + ApiKeyStore
    + RateLimitStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: UserStore
        + AccountStore
        + SessionStore
        + VerificationStore
        + AuditStore
        + GroupStore
        + MemberStore
        + InviteStore
        + ApiKeyStore
        + RateLimitStore
        + Send
        + Sync
        + 'static
{
}
