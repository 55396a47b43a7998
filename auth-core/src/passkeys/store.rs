use async_trait::async_trait;

use super::{DeletePasskeyOutcome, Passkey, PasskeyUse};
use crate::accounts::Account;
use crate::error::StoreError;
use crate::ids::{PasskeyId, UserId};
use crate::users::User;

/// Storage of passkeys. Object safe. A store with this domain deletes a user's passkeys
/// with the user, and does NOT remove them in
/// [`CredentialStore::end_credentials`](crate::CredentialStore::end_credentials) (a
/// password reset leaves the phishing-resistant credentials in place).
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Inserts a passkey. Fails with [`Conflict::PasskeyCredential`](crate::Conflict) if
    /// its credential id is registered to anyone, and with
    /// [`StoreError::MissingReference`]`(Entity::User)` if the user does not exist.
    async fn create_passkey(&self, passkey: &Passkey) -> Result<(), StoreError>;

    /// Inserts `user` with its `accounts` (possibly none) and its first passkey, in one
    /// transaction: a passkey sign-up. Fails with `Conflict::UserEmail` or
    /// `Conflict::PasskeyCredential`, writing nothing.
    async fn create_user_with_passkey(
        &self,
        user: &User,
        accounts: &[Account],
        passkey: &Passkey,
    ) -> Result<(), StoreError>;

    /// The passkey with this id.
    async fn get_passkey(&self, id: PasskeyId) -> Result<Option<Passkey>, StoreError>;

    /// The passkey with this credential id (the sign-in lookup: one indexed query).
    async fn find_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError>;

    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user_id: UserId) -> Result<Vec<Passkey>, StoreError>;

    /// Renames one of the user's passkeys; `None` if the user has no such passkey.
    async fn rename_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &str,
    ) -> Result<Option<Passkey>, StoreError>;

    /// Records a successful use, compare-and-set on the counter: writes `update` (the new
    /// credential, counter, backup flags, `last_used_at`) only while the stored counter is
    /// still `expected_counter`. Returns whether it wrote (`false`: a concurrent use moved
    /// the counter first, or the passkey is gone).
    async fn record_passkey_use(
        &self,
        id: PasskeyId,
        expected_counter: u32,
        update: &PasskeyUse,
    ) -> Result<bool, StoreError>;

    /// Deletes one of the user's passkeys. With `keep_sign_in_method`, refuses atomically
    /// (`LastSignInMethod`) when the user would be left with no other passkey and no
    /// account but the emailed-code one (no password, no linked identity).
    async fn delete_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keep_sign_in_method: bool,
    ) -> Result<DeletePasskeyOutcome, StoreError>;
}
