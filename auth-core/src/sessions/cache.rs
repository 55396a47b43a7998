use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::Authenticated;
use crate::clock::unix_nanos;
use crate::config::SessionConfig;
use crate::fenced_cache::{FencedCache, Ticket};
use crate::ids::UserId;
use crate::secret::TokenHash;

/// Recently validated sessions of this process, keyed by token hash.
///
/// Entries live at most `cache_ttl` on the injected clock; revocations, sign-outs,
/// refreshes and user changes made through this process evict at once, and a validation
/// that read the store while one of them ran does not put its stale row back (see
/// [`FencedCache`]). A hit still checks the session's own expiry against the clock, and
/// misses once its use is due to be recorded (the touch interval), through one comparison
/// with a deadline computed when the session was cached.
pub(crate) struct SessionCache {
    cache: Option<FencedCache<CachedSession>>,
    touch_interval: Duration,
}

/// A cached session, with the instant (Unix nanoseconds) from which a hit must not answer
/// for it: its expiry, its idle expiry, or when its use is due to be recorded, whichever
/// comes first. The session in the entry never changes, so neither does that instant.
#[derive(Clone)]
struct CachedSession {
    auth: Arc<Authenticated>,
    usable_until: i64,
}

impl SessionCache {
    pub(crate) fn new(config: &SessionConfig) -> Self {
        let cache = (config.cache_ttl > Duration::ZERO && config.cache_capacity > 0)
            .then(|| FencedCache::new(config.cache_capacity, config.cache_ttl));
        Self {
            cache,
            touch_interval: config.touch_interval,
        }
    }

    /// The session of `hash` if it is cached, active at `now` (Unix nanoseconds) and not
    /// due to have its use recorded.
    pub(crate) fn get(&self, hash: &TokenHash, now: i64) -> Option<Arc<Authenticated>> {
        let hit = self.cache.as_ref()?.get(hash, now)?;
        (now < hit.usable_until).then_some(hit.auth)
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
            let entry = CachedSession {
                usable_until: self.usable_until(&value),
                auth: value,
            };
            cache.insert(ticket, hash, entry, now);
        }
    }

    /// When a hit on `auth` stops answering: what `Session::is_active` and the touch
    /// interval decide, as one instant.
    fn usable_until(&self, auth: &Authenticated) -> i64 {
        let session = &auth.session;
        if session.revoked_at.is_some() {
            return i64::MIN;
        }
        let touch_due = session
            .last_seen_at
            .checked_add(self.touch_interval)
            .map_or(i64::MAX, unix_nanos);
        unix_nanos(session.expires_at)
            .min(unix_nanos(session.idle_expires_at))
            .min(touch_due)
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
            cache.invalidate_if(|cached| cached.auth.user.id == user);
        }
    }

    /// Evicts every cached session (events from other nodes may have been missed).
    pub(crate) fn clear(&self) {
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ids::SessionId;
    use crate::sessions::{Aal, Session};
    use crate::users::User;
    use crate::validate::Email;

    const T0: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

    fn config() -> SessionConfig {
        SessionConfig {
            touch_interval: Duration::seconds(60),
            cache_ttl: Duration::seconds(600),
            ..SessionConfig::default()
        }
    }

    /// A session seen at `T0`, idle-expiring at `T0 + idle`, expiring at `T0 + absolute`.
    fn authenticated(idle: i64, absolute: i64, revoked: bool) -> Arc<Authenticated> {
        let user = User {
            id: UserId::new(),
            email: Email::parse("ada@example.com").unwrap(),
            email_verified: true,
            name: None,
            image: None,
            extend: serde_json::json!({}),
            created_at: T0,
            updated_at: T0,
        };
        let session = Session {
            id: SessionId::new(),
            user_id: user.id,
            token_hash: TokenHash::of("token"),
            aal: Aal::Aal1,
            ip: None,
            user_agent: None,
            created_at: T0,
            last_seen_at: T0,
            idle_expires_at: T0 + Duration::seconds(idle),
            expires_at: T0 + Duration::seconds(absolute),
            revoked_at: revoked.then_some(T0),
            sso_connection_id: None,
        };
        Arc::new(Authenticated {
            session,
            user: Arc::new(user),
        })
    }

    /// Whether a hit answers `seconds` after `T0`, as `Session::is_active` and the touch
    /// interval decide, for a session cached at `T0`.
    fn answers(cache: &SessionCache, seconds: i64) -> bool {
        let hash = TokenHash::of("token");
        cache
            .get(&hash, unix_nanos(T0 + Duration::seconds(seconds)))
            .is_some()
    }

    fn cached(auth: Arc<Authenticated>) -> SessionCache {
        let cache = SessionCache::new(&config());
        cache.insert(cache.ticket(), TokenHash::of("token"), auth, T0);
        cache
    }

    #[test]
    fn a_hit_stops_at_the_touch_interval() {
        let cache = cached(authenticated(3600, 86_400, false));
        assert!(answers(&cache, 0));
        assert!(answers(&cache, 59));
        assert!(!answers(&cache, 60), "its use is due to be recorded");
    }

    #[test]
    fn a_hit_stops_at_the_idle_or_absolute_expiry_whichever_is_first() {
        let idle_first = cached(authenticated(30, 86_400, false));
        assert!(answers(&idle_first, 29));
        assert!(!answers(&idle_first, 30));
        let absolute_first = cached(authenticated(3600, 10, false));
        assert!(answers(&absolute_first, 9));
        assert!(!answers(&absolute_first, 10));
        // And never for a time before it was cached (a clock set back).
        assert!(!answers(&absolute_first, -1));
    }

    #[test]
    fn a_revoked_session_never_answers() {
        let cache = cached(authenticated(3600, 86_400, true));
        assert!(!answers(&cache, 0));
    }

    #[test]
    fn evicting_the_user_drops_the_hit() {
        let auth = authenticated(3600, 86_400, false);
        let user = auth.user.id;
        let cache = cached(auth);
        assert!(answers(&cache, 0));
        cache.evict_user(user);
        assert!(!answers(&cache, 0));
    }
}
