use std::sync::Arc;

use moka::sync::Cache;

use super::Authenticated;
use crate::config::SessionConfig;
use crate::ids::UserId;
use crate::secret::TokenHash;

/// Recently validated sessions of this process, keyed by token hash.
///
/// Entries live at most `cache_ttl`; revocations, sign-outs, refreshes and user changes
/// made through this process evict at once. A hit still checks expiry against the clock.
pub(crate) struct SessionCache {
    cache: Option<Cache<TokenHash, Arc<Authenticated>>>,
}

impl SessionCache {
    pub(crate) fn new(config: &SessionConfig) -> Self {
        let ttl = config.cache_ttl.unsigned_abs();
        let cache = (!ttl.is_zero() && config.cache_capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(config.cache_capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build()
        });
        Self { cache }
    }

    pub(crate) fn get(&self, hash: &TokenHash) -> Option<Arc<Authenticated>> {
        self.cache.as_ref()?.get(hash)
    }

    pub(crate) fn insert(&self, hash: TokenHash, value: Arc<Authenticated>) {
        if let Some(cache) = &self.cache {
            cache.insert(hash, value);
        }
    }

    pub(crate) fn evict(&self, hash: &TokenHash) {
        if let Some(cache) = &self.cache {
            cache.invalidate(hash);
        }
    }

    pub(crate) fn evict_all<'a>(&self, hashes: impl IntoIterator<Item = &'a TokenHash>) {
        for hash in hashes {
            self.evict(hash);
        }
    }

    /// Evicts every cached session of `user` (after the user changed or was deleted).
    pub(crate) fn evict_user(&self, user: UserId) {
        if let Some(cache) = &self.cache {
            // Only fails if closures are not enabled, which `new` always does.
            let _ = cache.invalidate_entries_if(move |_, a| a.user.id == user);
        }
    }
}
