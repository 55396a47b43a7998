use std::sync::Arc;

use time::OffsetDateTime;

use super::Authenticated;
use crate::config::SessionConfig;
use crate::fenced_cache::{FencedCache, Ticket};
use crate::ids::UserId;
use crate::secret::TokenHash;

/// Recently validated sessions of this process, keyed by token hash.
///
/// Entries live at most `cache_ttl` on the injected clock; revocations, sign-outs,
/// refreshes and user changes made through this process evict at once, and a validation
/// that read the store while one of them ran does not put its stale row back (see
/// [`FencedCache`]). A hit still checks the session's own expiry against the clock.
pub(crate) struct SessionCache {
    cache: Option<FencedCache<Arc<Authenticated>>>,
}

impl SessionCache {
    pub(crate) fn new(config: &SessionConfig) -> Self {
        let cache = (config.cache_ttl > time::Duration::ZERO && config.cache_capacity > 0)
            .then(|| FencedCache::new(config.cache_capacity, config.cache_ttl));
        Self { cache }
    }

    pub(crate) fn get(&self, hash: &TokenHash, now: OffsetDateTime) -> Option<Arc<Authenticated>> {
        self.cache.as_ref()?.get(hash, now)
    }

    /// Take before reading the session that will be inserted.
    pub(crate) fn ticket(&self) -> Option<Ticket> {
        self.cache.as_ref().map(FencedCache::ticket)
    }

    pub(crate) fn insert(
        &self,
        ticket: Option<Ticket>,
        hash: TokenHash,
        value: Arc<Authenticated>,
        now: OffsetDateTime,
    ) {
        if let (Some(cache), Some(ticket)) = (&self.cache, ticket) {
            cache.insert(ticket, hash, value, now);
        }
    }

    /// Evicts one session (after the store write that ended or changed it).
    pub(crate) fn evict(&self, hash: &TokenHash) {
        if let Some(cache) = &self.cache {
            cache.invalidate(hash);
        }
    }

    /// Evicts every cached session of `user` (after the user changed or was deleted).
    pub(crate) fn evict_user(&self, user: UserId) {
        if let Some(cache) = &self.cache {
            cache.invalidate_if(|a| a.user.id == user);
        }
    }

    /// Evicts every cached session (events from other nodes may have been missed).
    pub(crate) fn clear(&self) {
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }
}
