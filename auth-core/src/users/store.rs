use async_trait::async_trait;
use time::OffsetDateTime;

use super::{DeleteUserOutcome, User, UserFilter, UserOrder, UserPatch};
use crate::accounts::Account;
use crate::error::StoreError;
use crate::ids::UserId;
use crate::members::KeepRole;
use crate::pagination::PageRequest;
use crate::validate::Email;

/// Storage of users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts `user` together with its first `accounts`, atomically. Fails with
    /// [`Conflict::UserEmail`](crate::Conflict::UserEmail) if the email is taken or
    /// [`Conflict::Account`](crate::Conflict::Account) if an account is linked already.
    async fn create_user(&self, user: &User, accounts: &[Account]) -> Result<(), StoreError>;

    /// The user with this id.
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user with this normalised email.
    async fn get_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// Users matching the filter, sorted by `(order key, id)` in the request's direction,
    /// strictly after `request.after`, at most `request.fetch_limit()`.
    async fn list_users(
        &self,
        request: &PageRequest<UserFilter, UserOrder>,
    ) -> Result<Vec<User>, StoreError>;

    /// Applies `patch` (see [`UserPatch::apply`]) and returns the updated user, or `None` if
    /// there is no such user. Fails with `Conflict::UserEmail` if the new email is taken.
    async fn update_user(
        &self,
        id: UserId,
        patch: &UserPatch,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError>;

    /// Marks the email verified if the user's email is still `email`; returns whether it did.
    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Deletes the user with everything that is theirs, in one transaction: accounts,
    /// sessions, refresh tokens, verification codes, and the records of every optional
    /// domain the store implements (memberships, API keys, ...; each domain's conformance
    /// module checks its part). Invites they sent or accepted stay, without the reference.
    /// A store with organizations refuses ([`DeleteUserOutcome::LastHolder`]) if the user
    /// is the only active member with the role `keep` names in any group, serialised with
    /// membership changes of those groups; a store without them ignores `keep`. With
    /// `cascade` off, also refuses if [`Dependents`](super::Dependents) exist.
    async fn delete_user(
        &self,
        id: UserId,
        cascade: bool,
        keep: &KeepRole,
    ) -> Result<DeleteUserOutcome, StoreError>;
}
