use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Account, PasswordHash, Provider, RevokeSessions, UnlinkOutcome};
use crate::error::StoreError;
use crate::ids::{AccountId, UserId};
use crate::secret::TokenHash;

/// Storage of accounts (ways to sign in).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The account for this provider and provider account id.
    async fn get_account(
        &self,
        provider: &Provider,
        provider_account_id: &str,
    ) -> Result<Option<Account>, StoreError>;

    /// All of a user's accounts, oldest first.
    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<Account>, StoreError>;

    /// Links an account to an existing user. Fails with
    /// [`StoreError::MissingReference`]`(Entity::User)` if the user does not exist, and with
    /// [`Conflict::Account`](crate::Conflict::Account) if the provider identity is linked
    /// already.
    async fn link_account(&self, account: &Account) -> Result<(), StoreError>;

    /// Removes one of a user's accounts, refusing (atomically) to remove the last one.
    async fn unlink_account(
        &self,
        user_id: UserId,
        account_id: AccountId,
    ) -> Result<UnlinkOutcome, StoreError>;

    /// Sets the user's password (creating the password account if there is none) and
    /// revokes sessions as asked, in one transaction. Returns the token hashes of the
    /// revoked sessions, or `None` if the user does not exist.
    async fn set_password(
        &self,
        user_id: UserId,
        hash: &PasswordHash,
        revoke: RevokeSessions,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<TokenHash>>, StoreError>;

    /// Replaces the user's password hash with `new` only while the stored one is still
    /// `current`, revoking nothing: a re-hash after sign-in must never undo a password
    /// change that raced it. Returns whether the hash was replaced.
    async fn replace_password_hash(
        &self,
        user_id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}
