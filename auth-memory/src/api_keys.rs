use async_trait::async_trait;
use auth_core::api_keys::{
    ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, KeyOwner, QuotaOutcome, RateDecision,
    RateLimit, RotateOutcome, Successor,
};
use auth_core::pagination::PageRequest;
use auth_core::rate_limit::micros;
use auth_core::{ApiKeyId, ApiKeyStore, Conflict, Entity, RateLimitStore, StoreError, TokenHash};
use time::OffsetDateTime;

use crate::MemoryStore;

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut t = self.write();
        let missing = match key.owner {
            KeyOwner::User(id) => (!t.users.contains_key(&id)).then_some(Entity::User),
            KeyOwner::Group(id) => (!t.groups.contains_key(&id)).then_some(Entity::Group),
        };
        if let Some(entity) = missing {
            return Err(StoreError::MissingReference(entity));
        }
        if t.api_keys.contains_key(&key.id) || t.api_key_by_hash.contains_key(&key.key_hash) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        t.api_key_by_hash.insert(key.key_hash, key.id);
        t.api_keys.insert(key.id, key.clone());
        Ok(())
    }

    async fn get_api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.read().api_keys.get(&id).cloned())
    }

    async fn find_api_key(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let t = self.read();
        Ok(t.api_key_by_hash
            .get(key_hash)
            .and_then(|id| t.api_keys.get(id))
            .cloned())
    }

    async fn list_api_keys(
        &self,
        request: &PageRequest<ApiKeyFilter, ApiKeyOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let t = self.read();
        Ok(request.select(
            t.api_keys
                .values()
                .filter(|k| request.filter.matches(k, now))
                .cloned(),
        ))
    }

    async fn update_api_key(
        &self,
        id: ApiKeyId,
        patch: &ApiKeyPatch,
        now: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError> {
        let mut t = self.write();
        Ok(t.api_keys.get_mut(&id).map(|key| {
            patch.apply(key, now);
            key.clone()
        }))
    }

    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError> {
        let mut t = self.write();
        Ok(t.api_keys.get_mut(&id).map(|key| {
            if key.revoked_at.is_none_or(|r| at < r) {
                key.revoked_at = Some(at);
                key.updated_at = at.max(key.updated_at);
            }
            key.clone()
        }))
    }

    async fn rotate_api_key(
        &self,
        old: ApiKeyId,
        successor: &Successor,
        revoke_old_at: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        let mut t = self.write();
        let now = successor.created_at;
        let Some(current) = t.api_keys.get_mut(&old) else {
            return Ok(RotateOutcome::NotFound);
        };
        if current.revoked_at.is_some() || current.is_expired(now) {
            return Ok(RotateOutcome::NotActive);
        }
        current.revoked_at = Some(revoke_old_at);
        current.updated_at = now;
        let old = current.clone();
        let new = successor.of(&old);
        t.api_key_by_hash.insert(new.key_hash, new.id);
        t.api_keys.insert(new.id, new.clone());
        Ok(RotateOutcome::Rotated { old, new })
    }

    async fn delete_api_key(&self, id: ApiKeyId) -> Result<bool, StoreError> {
        let mut t = self.write();
        let Some(key) = t.api_keys.remove(&id) else {
            return Ok(false);
        };
        t.api_key_by_hash.remove(&key.key_hash);
        Ok(true)
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(key) = self.write().api_keys.get_mut(&id) {
            key.last_used_at = Some(key.last_used_at.map_or(at, |l| l.max(at)));
        }
        Ok(())
    }

    async fn take_quota(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<QuotaOutcome, StoreError> {
        let mut t = self.write();
        let Some(quota) = t.api_keys.get_mut(&id).and_then(|k| k.quota.as_mut()) else {
            return Ok(QuotaOutcome::Unlimited);
        };
        let (after, outcome) = quota.take(now);
        *quota = after;
        Ok(outcome)
    }
}

#[async_trait]
impl RateLimitStore for MemoryStore {
    async fn take_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = micros(now);
        let mut t = self.write();
        let stored = t.rate_limits.get(bucket).copied();
        Ok(match limit.next_tat(stored, now) {
            Some(next) => {
                t.rate_limits.insert(bucket.to_owned(), next);
                limit.decision(true, next, now)
            }
            None => limit.decision(false, stored.unwrap_or(now), now),
        })
    }

    async fn peek_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let stored = self.read().rate_limits.get(bucket).copied();
        Ok(limit.peek(stored, micros(now)))
    }

    async fn reset_rate_limit(&self, bucket: &str) -> Result<(), StoreError> {
        self.write().rate_limits.remove(bucket);
        Ok(())
    }

    async fn purge_rate_limits(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let before = micros(before);
        let mut t = self.write();
        let len = t.rate_limits.len();
        t.rate_limits.retain(|_, tat| *tat > before);
        Ok((len - t.rate_limits.len()) as u64)
    }
}
