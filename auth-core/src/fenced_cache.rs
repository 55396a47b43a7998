//! The request path's cache of verified credentials, keyed by token hash: fast hits, a
//! lifetime on the injected clock, and no way for a concurrent invalidation to be undone.
//!
//! Hits are what every authenticated request pays, so the map is `quick_cache` (a lookup
//! under a shard's read lock; bounded, evicting by recent use) rather than `moka`, whose
//! per-read bookkeeping cost a hit about 300 ns (measured: docs/benchmarks.md). Keys are
//! SHA-256 outputs, already uniform, so they are hashed by taking eight of their bytes, and
//! compared as plain bytes: the comparison is between hashes of the presented token and of
//! a cached one, and how much of two SHA-256 outputs agree tells nothing about a token.
//! Each entry carries the time it was cached; a hit older than the lifetime (or from the
//! future, after the clock was set back) is a miss, so expiry follows the injected clock.
//! Times are Unix nanoseconds (`i64`): a hit compares integers and builds no date.
//!
//! Fencing: the hot paths fill the cache from the store: read a row, then insert it. If a
//! revocation writes the store and evicts between the read and the insert, a plain cache
//! would put the stale row back for a whole lifetime. Every invalidation here moves an
//! epoch forward first; a fill takes a [`Ticket`] (the epoch) before it reads the store and,
//! after inserting, drops its own entry again if the epoch moved meanwhile. An invalidator
//! writes the store, then bumps the epoch, then evicts; a fill that read the old row took
//! its ticket before the bump, so either the eviction removes it or it removes itself.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::UnitWeighter;
use quick_cache::sync::{Cache, DefaultLifecycle};
use time::{Duration, OffsetDateTime};

use crate::clock::unix_nanos;
use crate::secret::TokenHash;

/// The epoch a fill saw before reading the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

/// Hashes a [`TokenHash`] by its first eight bytes: it is a SHA-256 output, uniform and not
/// chosen by anyone, so mixing it again would only cost time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokenHashHasher(u64);

impl Hasher for TokenHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `Hash` for a byte array writes its length first, then the bytes: keep the bytes.
        let mut word = [0u8; 8];
        for (slot, byte) in word.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
    }
}

impl BuildHasher for TokenHashHasher {
    type Hasher = TokenHashHasher;
    fn build_hasher(&self) -> TokenHashHasher {
        TokenHashHasher(0)
    }
}

/// Values by token hash, each with when it was cached (Unix nanoseconds).
type Map<V> = Cache<[u8; 32], (V, i64), UnitWeighter, TokenHashHasher>;

/// A cache of values by token hash whose fills lose to any invalidation that ran while
/// they read the store.
pub(crate) struct FencedCache<V> {
    map: Map<V>,
    /// The lifetime, in nanoseconds.
    ttl: i64,
    epoch: AtomicU64,
}

impl<V: Clone> FencedCache<V> {
    /// A cache of at most `capacity` entries living at most `ttl`.
    pub(crate) fn new(capacity: u64, ttl: Duration) -> Self {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX).max(1);
        Self {
            map: Cache::with(
                capacity,
                u64::try_from(capacity).unwrap_or(u64::MAX),
                UnitWeighter,
                TokenHashHasher(0),
                DefaultLifecycle::default(),
            ),
            ttl: i64::try_from(ttl.whole_nanoseconds()).unwrap_or(i64::MAX),
            epoch: AtomicU64::new(0),
        }
    }

    /// The entry of `key`, if it was cached less than the lifetime before `now` (Unix
    /// nanoseconds, as `Auth::now_nanos` reads it).
    pub(crate) fn get(&self, key: &TokenHash, now: i64) -> Option<V> {
        let (value, cached_at) = self.map.get(key.as_bytes())?;
        (cached_at <= now && now.saturating_sub(cached_at) < self.ttl).then_some(value)
    }

    /// Take before reading what will be inserted.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.epoch.load(Ordering::SeqCst))
    }

    /// Inserts what was read after `ticket` was taken, at `now`, unless an invalidation ran
    /// since.
    pub(crate) fn insert(&self, ticket: Ticket, key: TokenHash, value: V, now: OffsetDateTime) {
        if self.ticket() != ticket {
            return;
        }
        self.map.insert(*key.as_bytes(), (value, unix_nanos(now)));
        if self.ticket() != ticket {
            // An invalidation may have run before this insert landed.
            self.map.remove(key.as_bytes());
        }
    }

    /// Evicts `key` (call after the store write it reflects).
    pub(crate) fn invalidate(&self, key: &TokenHash) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.map.remove(key.as_bytes());
    }

    /// Evicts every entry matching `predicate` (call after the store write). Walks the
    /// whole cache: for rare changes (a user edited or deleted), never the request path.
    pub(crate) fn invalidate_if(&self, predicate: impl Fn(&V) -> bool) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.map.retain(|_, (value, _)| !predicate(value));
    }

    /// Evicts everything (call after the store write).
    pub(crate) fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> TokenHash {
        TokenHash::of(&format!("token {n}"))
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    /// `seconds` after the epoch, as `get` takes it.
    fn nanos(seconds: i64) -> i64 {
        unix_nanos(at(seconds))
    }

    fn cache() -> FencedCache<&'static str> {
        FencedCache::new(100, Duration::seconds(60))
    }

    #[test]
    fn a_fill_with_a_current_ticket_is_kept_for_its_lifetime() {
        let cache = cache();
        let ticket = cache.ticket();
        cache.insert(ticket, key(1), "row", at(0));
        assert_eq!(cache.get(&key(1), nanos(0)), Some("row"));
        assert_eq!(cache.get(&key(1), nanos(59)), Some("row"));
        assert_eq!(cache.get(&key(1), nanos(60)), None, "expired");
        // A clock set back before the fill does not make the entry live forever.
        assert_eq!(cache.get(&key(1), nanos(-1)), None);
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() {
        let cache = cache();
        let ticket = cache.ticket();
        // The store read happened; a revocation writes the store and evicts.
        cache.invalidate(&key(1));
        cache.insert(ticket, key(1), "stale row", at(0));
        assert_eq!(cache.get(&key(1), nanos(0)), None);
        // The next fill, with a fresh ticket, is kept.
        cache.insert(cache.ticket(), key(1), "fresh row", at(0));
        assert_eq!(cache.get(&key(1), nanos(0)), Some("fresh row"));
    }

    #[test]
    fn predicate_and_full_invalidation_evict_and_fence_fills() {
        let cache = cache();
        cache.insert(cache.ticket(), key(1), "mine", at(0));
        cache.insert(cache.ticket(), key(2), "other", at(0));
        let ticket = cache.ticket();
        cache.invalidate_if(|v| *v == "other");
        assert_eq!(cache.get(&key(1), nanos(0)), Some("mine"));
        assert_eq!(cache.get(&key(2), nanos(0)), None);
        cache.insert(ticket, key(2), "stale", at(0));
        assert_eq!(cache.get(&key(2), nanos(0)), None);

        let ticket = cache.ticket();
        cache.invalidate_all();
        assert_eq!(cache.get(&key(1), nanos(0)), None);
        cache.insert(ticket, key(1), "stale", at(0));
        assert_eq!(cache.get(&key(1), nanos(0)), None);
    }

    #[test]
    fn the_hasher_spreads_token_hashes() {
        use std::collections::HashSet;
        let hashes: HashSet<u64> = (0..=255u8)
            .map(|n| TokenHashHasher(0).hash_one(key(n).as_bytes()))
            .collect();
        assert_eq!(hashes.len(), 256);
    }
}
