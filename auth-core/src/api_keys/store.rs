use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, QuotaOutcome, RotateOutcome, Successor,
};
use crate::error::StoreError;
use crate::ids::ApiKeyId;
use crate::pagination::PageRequest;
use crate::secret::TokenHash;

/// Storage of API keys.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Inserts a key. Fails with [`StoreError::MissingReference`] `(Entity::User)` or
    /// `(Entity::Group)` if its owner does not exist.
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// The key with this id.
    async fn get_api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError>;

    /// The key with this hash: the verification lookup (one indexed query).
    async fn find_api_key(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError>;

    /// Keys matching the filter at `now`, sorted by `(order key, id)`, strictly after
    /// `request.after`, at most `request.fetch_limit()`.
    async fn list_api_keys(
        &self,
        request: &PageRequest<ApiKeyFilter, ApiKeyOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<ApiKey>, StoreError>;

    /// Applies `patch`; `None` if there is no such key.
    async fn update_api_key(
        &self,
        id: ApiKeyId,
        patch: &ApiKeyPatch,
        now: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// Sets `revoked_at` to `at` unless it is already earlier; returns the key as updated,
    /// `None` if there is no such key.
    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// In one transaction, with the old key locked: refuses (`NotActive`) if it has a
    /// `revoked_at` at all (revoked, or in an earlier rotation's grace period) or is expired
    /// at `successor.created_at`; otherwise inserts `successor.of(&old)` and sets the old
    /// key's `revoked_at` to `revoke_old_at` (the end of the grace period).
    async fn rotate_api_key(
        &self,
        old: ApiKeyId,
        successor: &Successor,
        revoke_old_at: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError>;

    /// Deletes a key for good; `false` if there was none.
    async fn delete_api_key(&self, id: ApiKeyId) -> Result<bool, StoreError>;

    /// Records use (`last_used_at`, never moved backwards).
    async fn touch_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError>;

    /// Takes one unit of the key's quota at `now`, refilling first if a refill is due (see
    /// [`Quota::take`](super::Quota::take)), atomically: concurrent callers never take more
    /// than there is.
    async fn take_quota(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<QuotaOutcome, StoreError>;
}
