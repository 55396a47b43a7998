//! A `moka` cache that a concurrent invalidation cannot be undone in.
//!
//! The hot paths fill their caches from the store: read a row, then insert it. If a
//! revocation writes the store and evicts between the read and the insert, a plain cache
//! would put the stale row back for a whole TTL. Every invalidation here moves an epoch
//! forward first; a fill takes a [`Ticket`] (the epoch) before it reads the store and, after
//! inserting, drops its own entry again if the epoch moved meanwhile.
//!
//! Why that is enough: an invalidator writes the store, then bumps the epoch, then evicts.
//! A fill that read the old row took its ticket before the store write, so before the bump.
//! If its insert lands before the eviction, the eviction removes it; if after, the fill sees
//! the bumped epoch and removes it itself.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

use moka::sync::Cache;

/// The epoch a fill saw before reading the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

/// A cache whose fills lose to any invalidation that ran while they read the store.
pub(crate) struct FencedCache<K, V> {
    cache: Cache<K, V>,
    epoch: AtomicU64,
    /// Whether `invalidate_if` can select entries (moka then keeps per-entry bookkeeping
    /// that costs every hit about 45 ns); without it, `invalidate_if` evicts everything.
    predicates: bool,
}

impl<K, V> FencedCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries living at most `ttl`; `predicates` makes
    /// [`Self::invalidate_if`] selective (at a cost on every hit).
    pub(crate) fn new(capacity: u64, ttl: std::time::Duration, predicates: bool) -> Self {
        let builder = Cache::builder().max_capacity(capacity).time_to_live(ttl);
        let cache = if predicates {
            builder.support_invalidation_closures().build()
        } else {
            builder.build()
        };
        Self {
            cache,
            epoch: AtomicU64::new(0),
            predicates,
        }
    }

    /// The entry of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.cache.get(key)
    }

    /// Take before reading what will be inserted.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.epoch.load(Ordering::SeqCst))
    }

    /// Inserts what was read after `ticket` was taken, unless an invalidation ran since.
    pub(crate) fn insert(&self, ticket: Ticket, key: K, value: V) {
        if self.ticket() != ticket {
            return;
        }
        self.cache.insert(key.clone(), value);
        if self.ticket() != ticket {
            // An invalidation may have run before this insert landed.
            self.cache.invalidate(&key);
        }
    }

    /// Evicts `key` (call after the store write it reflects).
    pub(crate) fn invalidate(&self, key: &K) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(key);
    }

    /// Evicts every entry matching `predicate` (call after the store write); everything,
    /// when the cache was built without predicate support.
    pub(crate) fn invalidate_if(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if !self.predicates || self.cache.invalidate_entries_if(predicate).is_err() {
            self.cache.invalidate_all();
        }
    }

    /// Evicts everything (call after the store write).
    pub(crate) fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> FencedCache<u32, &'static str> {
        FencedCache::new(100, std::time::Duration::from_secs(60), true)
    }

    #[test]
    fn a_fill_with_a_current_ticket_is_kept() {
        let cache = cache();
        let ticket = cache.ticket();
        cache.insert(ticket, 1, "row");
        assert_eq!(cache.get(&1), Some("row"));
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() {
        let cache = cache();
        let ticket = cache.ticket();
        // The store read happened; a revocation writes the store and evicts.
        cache.invalidate(&1);
        cache.insert(ticket, 1, "stale row");
        assert_eq!(cache.get(&1), None);
        // The next fill, with a fresh ticket, is kept.
        cache.insert(cache.ticket(), 1, "fresh row");
        assert_eq!(cache.get(&1), Some("fresh row"));
    }

    #[test]
    fn predicate_and_full_invalidation_fence_fills_too() {
        let cache = cache();
        let ticket = cache.ticket();
        cache.invalidate_if(|_, v| *v == "other");
        cache.insert(ticket, 2, "stale");
        assert_eq!(cache.get(&2), None);

        cache.insert(cache.ticket(), 3, "kept");
        // Without predicate support, a predicate evicts everything rather than nothing.
        let plain = FencedCache::new(100, std::time::Duration::from_secs(60), false);
        plain.insert(plain.ticket(), 4, "kept");
        plain.invalidate_if(|_, v| *v == "other");
        assert_eq!(plain.get(&4), None);
        let ticket = cache.ticket();
        cache.invalidate_all();
        assert_eq!(cache.get(&3), None);
        cache.insert(ticket, 3, "stale");
        assert_eq!(cache.get(&3), None);
    }
}
