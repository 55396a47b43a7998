use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use moka::sync::Cache;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{
    ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, KeyFormat, KeyOwner, NewApiKey, Quota,
    QuotaOutcome, RotateOutcome, Successor, VerifiedKey,
};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::clock::unix_nanos;
use crate::context::RequestMeta;
use crate::error::{AuthError, ConfigError, Entity};
use crate::fenced_cache::FencedCache;
use crate::ids::ApiKeyId;
use crate::invalidation::Invalidation;
use crate::members::Access;
use crate::pagination::{ListQuery, Page};
use crate::permissions::{Permission, PermissionSet};
use crate::secret::{Secret, TokenHash};
use crate::store::ApiKeyDomain;
use crate::validate;

/// Longest key name.
const MAX_KEY_NAME: usize = 128;

/// API key settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiKeyConfig {
    /// Key prefix, `[a-z0-9]{1,16}`. Default `sk`.
    pub prefix: String,
    /// Environment tag (`live`, `test`), `[a-z0-9]{1,16}`. Keys then start `sk_live_`.
    pub environment: Option<String>,
    /// Most scopes on one key. Default 32.
    pub max_scopes: usize,
    /// How long a verified key is cached in this process; also the longest a revocation
    /// made on another node can take to reach this one without an invalidation bus
    /// ([`AuthBuilder::invalidation`](crate::AuthBuilder::invalidation)), or when its event
    /// is lost. Default 30 s.
    pub cache_ttl: Duration,
    /// Most keys cached per process. Default 100 000.
    pub cache_capacity: u64,
    /// `last_used_at` is written at most this often per key and node (`0`: on every use).
    /// Default 60 s.
    pub touch_interval: Duration,
}

impl Default for ApiKeyConfig {
    fn default() -> Self {
        Self {
            prefix: "sk".into(),
            environment: None,
            max_scopes: 32,
            cache_ttl: Duration::seconds(30),
            cache_capacity: 100_000,
            touch_interval: Duration::seconds(60),
        }
    }
}

impl ApiKeyConfig {
    pub(crate) fn format(&self) -> Result<KeyFormat, ConfigError> {
        KeyFormat::new(&self.prefix, self.environment.as_deref())
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.format()?;
        let invalid = |reason| {
            Err(ConfigError::Invalid {
                setting: "api_keys",
                reason,
            })
        };
        if !(1..=256).contains(&self.max_scopes) {
            return invalid("max_scopes must be 1 to 256");
        }
        if self.cache_ttl < Duration::ZERO || self.cache_ttl > Duration::hours(1) {
            return invalid("cache_ttl must be between 0 and 1 hour");
        }
        if self.touch_interval < Duration::ZERO {
            return invalid("touch_interval must not be negative");
        }
        Ok(())
    }
}

/// A cached verification: the key, its scope set, when this node last recorded its use
/// (Unix seconds), and until when the synchronous path may answer for it. Cached behind
/// one `Arc`, so a hit costs one reference count, not one per field.
struct CachedKey {
    key: Arc<ApiKey>,
    scopes: Arc<PermissionSet>,
    last_touch: AtomicI64,
    /// The instant (Unix nanoseconds) the key is revoked or expires, whichever is first;
    /// `i64::MIN` for a key with a rate limit or a quota, which only the store can count.
    fast_until: i64,
}

impl CachedKey {
    fn new(key: ApiKey) -> Self {
        let fast_until = if key.rate_limit.is_some() || key.quota.is_some() {
            i64::MIN
        } else {
            let at = |t: Option<OffsetDateTime>| t.map_or(i64::MAX, unix_nanos);
            at(key.revoked_at).min(at(key.expires_at))
        };
        Self {
            scopes: Arc::new(PermissionSet::new(key.scopes.iter().cloned())),
            key: Arc::new(key),
            last_touch: AtomicI64::new(i64::MIN),
            fast_until,
        }
    }
}

/// The process-local state of API-key verification: recently verified keys, keys known to
/// be over their rate limit until their window ends, keys whose use was recorded lately,
/// and failures audited lately.
pub(crate) struct KeyCache {
    format: KeyFormat,
    keys: Option<FencedCache<Arc<CachedKey>>>,
    limited: Cache<ApiKeyId, OffsetDateTime>,
    touched: Option<Cache<ApiKeyId, ()>>,
    failures_audited: Cache<String, ()>,
}

impl KeyCache {
    pub(crate) fn new(config: &ApiKeyConfig) -> Result<Self, ConfigError> {
        let ttl = config.cache_ttl.unsigned_abs();
        let touch = config.touch_interval.unsigned_abs();
        Ok(Self {
            format: config.format()?,
            // Evicted by key or all at once, never by predicate: no per-hit cost for that.
            keys: (!ttl.is_zero())
                .then(|| FencedCache::new(config.cache_capacity, config.cache_ttl)),
            limited: Cache::builder()
                .max_capacity(config.cache_capacity)
                .time_to_live(std::time::Duration::from_secs(24 * 3600))
                .build(),
            touched: (!touch.is_zero()).then(|| {
                Cache::builder()
                    .max_capacity(config.cache_capacity)
                    .time_to_live(touch)
                    .build()
            }),
            failures_audited: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
        })
    }

    pub(crate) fn format(&self) -> &KeyFormat {
        &self.format
    }

    /// Evicts one key (after the store write that changed or ended it).
    pub(crate) fn evict(&self, id: ApiKeyId, key_hash: &TokenHash) {
        if let Some(keys) = &self.keys {
            keys.invalidate(key_hash);
        }
        self.limited.invalidate(&id);
    }

    /// Evicts every cached key, after a deletion that took an unknown set of keys with it
    /// (a user's or a group tree's). Rare, and the cache refills from the store.
    pub(crate) fn evict_all(&self) {
        if let Some(keys) = &self.keys {
            keys.invalidate_all();
        }
    }

    /// Forgets everything cached about keys, rate-limit windows included (events from
    /// other nodes may have been missed).
    pub(crate) fn clear(&self) {
        self.evict_all();
        self.limited.invalidate_all();
    }
}

/// A new key, shown once.
pub struct CreatedKey {
    /// The key as stored.
    pub key: ApiKey,
    /// The raw key: hand it to the client now; it cannot be shown again.
    pub secret: Secret,
}

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("secret", &self.secret)
            .finish()
    }
}

/// API keys: `auth.api_keys()`.
pub struct ApiKeys<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: ApiKeyDomain> Auth<S> {
    /// API keys.
    pub fn api_keys(&self) -> ApiKeys<'_, S> {
        ApiKeys { auth: self }
    }
}

/// Nobody gives a key more than they hold: with `access` to the owning group (a group's
/// key, created by a user), every one of `scopes` must be the caller's own there.
fn within_held(access: Option<&Access>, scopes: &[Permission]) -> Result<(), AuthError> {
    match access.and_then(|a| a.first_not_held(scopes)) {
        Some(missing) => Err(AuthError::InsufficientScope {
            required: missing.to_string(),
        }),
        None => Ok(()),
    }
}

fn parse_scopes(scopes: &[String], max: usize) -> Result<Vec<Permission>, AuthError> {
    if scopes.len() > max {
        return Err(AuthError::invalid(
            "scopes",
            format!("at most {max} scopes"),
        ));
    }
    let parsed = scopes
        .iter()
        .map(|s| {
            Permission::parse(s).map_err(|_| {
                AuthError::invalid(
                    "scopes",
                    "each scope is resource:action of [a-z0-9_.-] or *",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PermissionSet::new(parsed).patterns().to_vec())
}

impl<S: ApiKeyDomain> ApiKeys<'_, S> {
    fn cache(&self) -> &KeyCache {
        &self.auth.inner().api_key_cache
    }

    /// Creates a key and returns it once. Keys are managed from a session or by the app,
    /// never with another key. A user's key is created by that user; a group's key needs
    /// `api_key:create` on the group, and may only carry scopes its creator holds there.
    /// From a session it is a sensitive operation ([`Auth::require_step_up`]).
    #[tracing::instrument(name = "api_keys.create", skip_all)]
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewApiKey,
        meta: &RequestMeta,
    ) -> Result<CreatedKey, AuthError> {
        let config = &self.auth.config().api_keys;
        let allowed = self.check_owner(caller, input.owner, "create").await;
        let access = self
            .auth
            .audit_refusal("api_key.create", caller, meta, allowed)
            .await?;
        if let Some(session) = caller.session() {
            self.auth
                .require_step_up(session, "api_key.create", meta)
                .await?;
        }
        let name = validate::text("name", &input.name, MAX_KEY_NAME)?;
        let scopes = parse_scopes(&input.scopes, config.max_scopes)?;
        let now = self.auth.now();
        if input.expires_at.is_some_and(|e| e <= now) {
            return Err(AuthError::invalid("expires_at", "must be in the future"));
        }
        if let Some(limit) = &input.rate_limit {
            limit.validate()?;
        }
        if let Some(quota) = &input.quota {
            quota.validate()?;
        }
        let metadata = input.metadata.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("metadata", &metadata)?;
        let held = within_held(access.as_ref(), &scopes);
        self.auth
            .audit_refusal("api_key.create", caller, meta, held)
            .await?;
        let (secret, start) = self
            .cache()
            .format
            .generate(self.auth.inner().random.as_ref());
        let key = ApiKey {
            id: ApiKeyId::new(),
            owner: input.owner,
            created_by: caller.user_id(),
            name,
            start,
            key_hash: TokenHash::of(secret.expose()),
            scopes,
            rate_limit: input.rate_limit,
            quota: input.quota.map(|q| Quota::new(q, now)),
            metadata,
            expires_at: input.expires_at.map(crate::clock::truncate_to_micros),
            revoked_at: None,
            last_used_at: None,
            created_at: now,
            updated_at: now,
        };
        self.auth.store().create_api_key(&key).await?;
        self.audit("api_key.create", &key, caller, meta, None).await;
        Ok(CreatedKey { key, secret })
    }

    /// Checks that `caller` may `action` (`create`, `read`, `update`, ...) the keys of
    /// `owner`. Returns the caller's access to the owning group for a group's key (to
    /// check scopes against), `None` otherwise. A user's keys are their own (others get
    /// `API_KEY_NOT_FOUND`); a group's keys need `api_key:<action>` there (`GROUP_NOT_FOUND`
    /// for outsiders when creating or listing, `API_KEY_NOT_FOUND` otherwise).
    async fn check_owner(
        &self,
        caller: &Caller,
        owner: KeyOwner,
        action: &str,
    ) -> Result<Option<Access>, AuthError> {
        let hidden = if matches!(action, "create" | "list") {
            Entity::Group
        } else {
            Entity::ApiKey
        };
        match (caller, owner) {
            (Caller::System, _) => Ok(None),
            (Caller::ApiKey(_), _) => Err(AuthError::Forbidden(
                "API keys are managed from a signed-in session, never with a key".into(),
            )),
            (_, KeyOwner::User(user)) if caller.is_self_or_system(user) => Ok(None),
            (_, KeyOwner::User(_)) if action == "create" => Err(AuthError::Forbidden(
                "a user's key is created by that user".into(),
            )),
            (_, KeyOwner::User(_)) => Err(AuthError::NotFound(Entity::ApiKey)),
            (_, KeyOwner::Group(group)) => {
                let access = match self.auth.members().access(caller, group).await {
                    Err(AuthError::NotFound(_)) => return Err(AuthError::NotFound(hidden)),
                    other => other?,
                };
                let wanted =
                    Permission::new("api_key", if action == "list" { "read" } else { action });
                access.require(&wanted, hidden)?;
                Ok(Some(access))
            }
        }
    }

    /// Loads key `id` and checks `action` on it (see [`Self::check_owner`]), auditing a
    /// refusal as a failed `api_key.<action>`.
    async fn load(
        &self,
        caller: &Caller,
        id: ApiKeyId,
        action: &str,
        meta: &RequestMeta,
    ) -> Result<(ApiKey, Option<Access>), AuthError> {
        let key = self
            .auth
            .store()
            .get_api_key(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::ApiKey))?;
        let allowed = self.check_owner(caller, key.owner, action).await;
        let access = self
            .auth
            .audit_refusal(&format!("api_key.{action}"), caller, meta, allowed)
            .await?;
        Ok((key, access))
    }

    /// The key with this id (never the key itself), if the caller may read it; else
    /// `API_KEY_NOT_FOUND`.
    pub async fn get(&self, caller: &Caller, id: ApiKeyId) -> Result<ApiKey, AuthError> {
        let key = self
            .auth
            .store()
            .get_api_key(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::ApiKey))?;
        self.check_owner(caller, key.owner, "read").await?;
        Ok(key)
    }

    /// Lists keys (never the keys themselves): the caller's own (`filter.owner` their
    /// user) or a group's (`api_key:read` there); the app lists anything.
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery<ApiKeyFilter, ApiKeyOrder>,
    ) -> Result<Page<ApiKey>, AuthError> {
        match query.filter.owner {
            Some(owner) => {
                self.check_owner(caller, owner, "list").await?;
            }
            None if caller.is_system() => {}
            None => {
                return Err(AuthError::Forbidden(
                    "list your own keys or a group's (filter by owner)".into(),
                ));
            }
        }
        if let Some(name) = &query.filter.name_contains {
            validate::text("name_contains", name, MAX_KEY_NAME)?;
        }
        if let Some(start) = &query.filter.start {
            validate::text("start", start, 64)?;
        }
        let request = query.validate()?;
        let rows = self
            .auth
            .store()
            .list_api_keys(&request, self.auth.now())
            .await?;
        Ok(Page::from_fetched(rows, &request))
    }

    /// Changes a key's name, scopes, rate limit or metadata (`api_key:update` for a group's
    /// key). Any change needs the caller to hold every scope the key has now and every new
    /// one (`INSUFFICIENT_SCOPE` otherwise, audited): nobody renames, unthrottles or
    /// narrows a key more powerful than themselves.
    #[tracing::instrument(name = "api_keys.update", skip_all, fields(key = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: ApiKeyId,
        patch: ApiKeyPatch,
        meta: &RequestMeta,
    ) -> Result<ApiKey, AuthError> {
        let (current, access) = self.load(caller, id, "update", meta).await?;
        let config = &self.auth.config().api_keys;
        let patch = ApiKeyPatch {
            name: patch
                .name
                .map(|n| validate::text("name", &n, MAX_KEY_NAME))
                .transpose()?,
            scopes: patch
                .scopes
                .map(|s| {
                    let texts: Vec<String> = s.iter().map(ToString::to_string).collect();
                    parse_scopes(&texts, config.max_scopes)
                })
                .transpose()?,
            ..patch
        };
        if let Some(Some(limit)) = &patch.rate_limit {
            limit.validate()?;
        }
        if let Some(metadata) = &patch.metadata {
            validate::extend("metadata", metadata)?;
        }
        let held = within_held(access.as_ref(), &current.scopes).and_then(|()| {
            within_held(access.as_ref(), patch.scopes.as_deref().unwrap_or_default())
        });
        self.auth
            .audit_refusal("api_key.update", caller, meta, held)
            .await?;
        let key = self
            .auth
            .store()
            .update_api_key(id, &patch, self.auth.now())
            .await?
            .ok_or(AuthError::NotFound(Entity::ApiKey))?;
        self.auth.invalidate(&[Invalidation::api_key(&key)]).await;
        self.audit("api_key.update", &key, caller, meta, None).await;
        Ok(key)
    }

    /// Revokes a key now (kept for the audit trail; see [`Self::remove`] to delete it).
    #[tracing::instrument(name = "api_keys.revoke", skip_all, fields(key = %id))]
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: ApiKeyId,
        meta: &RequestMeta,
    ) -> Result<ApiKey, AuthError> {
        self.load(caller, id, "revoke", meta).await?;
        let key = self
            .auth
            .store()
            .revoke_api_key(id, self.auth.now())
            .await?
            .ok_or(AuthError::NotFound(Entity::ApiKey))?;
        self.auth.invalidate(&[Invalidation::api_key(&key)]).await;
        self.audit("api_key.revoke", &key, caller, meta, None).await;
        Ok(key)
    }

    /// Deletes a key for good.
    #[tracing::instrument(name = "api_keys.remove", skip_all, fields(key = %id))]
    pub async fn remove(
        &self,
        caller: &Caller,
        id: ApiKeyId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let (key, _) = self.load(caller, id, "delete", meta).await?;
        if !self.auth.store().delete_api_key(id).await? {
            return Err(AuthError::NotFound(Entity::ApiKey));
        }
        self.auth.invalidate(&[Invalidation::api_key(&key)]).await;
        self.audit("api_key.remove", &key, caller, meta, None).await;
        Ok(())
    }

    /// Replaces a key with a new one with the same owner, name, scopes, limits, metadata
    /// and what remains of its quota. The old key stops working at once, or after `grace`
    /// (both work meanwhile). Only an active key not already being replaced can be rotated
    /// (`API_KEY_NOT_ACTIVE`). The caller receives the new secret, so must hold every scope
    /// of the key like [`Self::create`]'s creator (`api_key:rotate` for a group's key).
    #[tracing::instrument(name = "api_keys.rotate", skip_all, fields(key = %id))]
    pub async fn rotate(
        &self,
        caller: &Caller,
        id: ApiKeyId,
        grace: Option<Duration>,
        meta: &RequestMeta,
    ) -> Result<CreatedKey, AuthError> {
        let (old, access) = self.load(caller, id, "rotate", meta).await?;
        let grace = grace.unwrap_or(Duration::ZERO);
        if grace < Duration::ZERO || grace > Duration::days(30) {
            return Err(AuthError::invalid("grace", "must be 0 to 30 days"));
        }
        let held = within_held(access.as_ref(), &old.scopes);
        self.auth
            .audit_refusal("api_key.rotate", caller, meta, held)
            .await?;
        let now = self.auth.now();
        let (secret, start) = self
            .cache()
            .format
            .generate(self.auth.inner().random.as_ref());
        let successor = Successor {
            id: ApiKeyId::new(),
            start,
            key_hash: TokenHash::of(secret.expose()),
            created_at: now,
        };
        let new = match self
            .auth
            .store()
            .rotate_api_key(id, &successor, now + grace)
            .await?
        {
            RotateOutcome::Rotated { old, new } => {
                self.auth.invalidate(&[Invalidation::api_key(&old)]).await;
                new
            }
            RotateOutcome::NotFound => return Err(AuthError::NotFound(Entity::ApiKey)),
            RotateOutcome::NotActive => return Err(AuthError::ApiKeyNotActive),
        };
        self.audit(
            "api_key.rotate",
            &new,
            caller,
            meta,
            Some(serde_json::json!({ "replaces": id, "grace_seconds": grace.whole_seconds() })),
        )
        .await;
        Ok(CreatedKey { key: new, secret })
    }

    /// Verifies a presented key: format and checksum (no store call when wrong), then the
    /// cached or stored key, revocation, expiry, rate limit and quota. Distinct errors:
    /// `API_KEY_INVALID`, `API_KEY_REVOKED`, `API_KEY_EXPIRED`, `RATE_LIMITED` (with the
    /// time until the window ends), `QUOTA_EXCEEDED`.
    pub async fn verify(&self, raw: &str, meta: &RequestMeta) -> Result<VerifiedKey, AuthError> {
        let cache = self.cache();
        if let Err(error) = cache.format.check(raw) {
            self.audit_failure(&error, None, meta).await;
            return Err(error);
        }
        let hash = TokenHash::of(raw);
        let now = self.auth.now();
        let hit = cache
            .keys
            .as_ref()
            .and_then(|keys| keys.get(&hash, unix_nanos(now)));
        let cached = match hit {
            Some(hit) => hit,
            None => {
                let ticket = cache.keys.as_ref().map(FencedCache::ticket);
                let Some(key) = self.auth.store().find_api_key(&hash).await? else {
                    let error = AuthError::ApiKeyInvalid;
                    self.audit_failure(&error, None, meta).await;
                    return Err(error);
                };
                let entry = Arc::new(CachedKey::new(key));
                if let (Some(keys), Some(ticket)) = (&cache.keys, ticket) {
                    keys.insert(ticket, hash, Arc::clone(&entry), now);
                }
                entry
            }
        };
        let key = &cached.key;
        let rate = match self.admit(key, now).await {
            Ok(rate) => rate,
            Err(error) => {
                // A refusal is audited; a store failure is not the key's doing.
                if !matches!(error, AuthError::Store(_)) {
                    self.audit_failure(&error, Some(key), meta).await;
                }
                return Err(error);
            }
        };
        self.touch(&cached, now).await;
        Ok(VerifiedKey {
            key: Arc::clone(key),
            scopes: Arc::clone(&cached.scopes),
            rate,
        })
    }

    /// Whether a known key may be used now: revocation, expiry, then one unit of its rate
    /// limit and of its quota (both counted in the store).
    async fn admit(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
    ) -> Result<Option<super::RateDecision>, AuthError> {
        if key.is_revoked(now) {
            return Err(AuthError::ApiKeyRevoked);
        }
        if key.is_expired(now) {
            return Err(AuthError::ApiKeyExpired);
        }
        let rate = match &key.rate_limit {
            Some(limit) => Some(self.take_rate(key, limit, now).await?),
            None => None,
        };
        if key.quota.is_some()
            && let QuotaOutcome::Exhausted { refill_at } =
                self.auth.store().take_quota(key.id, now).await?
        {
            return Err(AuthError::QuotaExceeded {
                retry_after: refill_at.map(|r| r - now),
            });
        }
        Ok(rate)
    }

    /// The synchronous part of [`Self::verify`]: the key when this process's cache has
    /// it, usable now, without a rate limit or quota (those count in the store) and with
    /// no use to record now. `None` means "ask [`Self::verify`]" (which also explains any
    /// refusal); no store call is made. A cache hit skips the checksum: only keys that
    /// passed it are cached, under the SHA-256 of the whole key.
    pub fn verify_cached(&self, raw: &str) -> Option<VerifiedKey> {
        let cache = self.cache();
        if raw.len() != cache.format.key_len() {
            return None;
        }
        // Times as Unix nanoseconds: the checks compare integers and build no date.
        let now = self.auth.now_nanos();
        let hit = cache.keys.as_ref()?.get(&TokenHash::of(raw), now)?;
        // Not revoked, not expired, no rate limit or quota (`fast_until`), no use to record.
        let usable = now < hit.fast_until && !self.touch_due(&hit, now.div_euclid(1_000_000_000));
        usable.then(|| VerifiedKey {
            key: Arc::clone(&hit.key),
            scopes: Arc::clone(&hit.scopes),
            rate: None,
        })
    }

    /// Whether this node should record the key's use at `now` (Unix seconds).
    fn touch_due(&self, cached: &CachedKey, now: i64) -> bool {
        let interval = self.auth.config().api_keys.touch_interval.whole_seconds();
        let last = cached.last_touch.load(Ordering::Relaxed);
        last == i64::MIN || now - last >= interval
    }

    /// One unit of the key's rate limit, through the store (so it holds across nodes),
    /// skipping the store while this node knows the window is used up.
    async fn take_rate(
        &self,
        key: &ApiKey,
        limit: &super::RateLimit,
        now: OffsetDateTime,
    ) -> Result<super::RateDecision, AuthError> {
        let cache = self.cache();
        if let Some(reset_at) = cache.limited.get(&key.id)
            && now < reset_at
        {
            return Err(AuthError::RateLimited {
                retry_after: reset_at - now,
            });
        }
        let bucket = self.auth.limiter().bucket("api_key", &key.id.to_string());
        let decision = self
            .auth
            .store()
            .take_rate_limit(&bucket, limit, now)
            .await?;
        if !decision.allowed {
            cache.limited.insert(key.id, decision.reset_at);
            return Err(AuthError::RateLimited {
                retry_after: decision.retry_after(now),
            });
        }
        Ok(decision)
    }

    /// Writes `last_used_at` at most once per touch interval per key (per node); a failed
    /// write is logged, never fatal. A cached key remembers its last write in the entry (an
    /// atomic, no lookup); without the cache, a small map of recently touched keys does.
    async fn touch(&self, cached: &CachedKey, now: OffsetDateTime) {
        let last = cached.last_touch.load(Ordering::Relaxed);
        if !self.touch_due(cached, now.unix_timestamp()) {
            return;
        }
        let seconds = now.unix_timestamp();
        // One caller per interval wins the right to write.
        if cached
            .last_touch
            .compare_exchange(last, seconds, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let id = cached.key.id;
        if let Some(touched) = &self.cache().touched {
            // A fresh entry (or no cache at all): this node may have written lately under an
            // entry that has since expired.
            if last == i64::MIN && touched.contains_key(&id) {
                return;
            }
            touched.insert(id, ());
        }
        if let Err(error) = self.auth.store().touch_api_key(id, now).await {
            tracing::warn!(error = %error, "recording API key use failed");
        }
    }

    /// Audits a failed verification, at most once a minute per (error, key) — or per
    /// (error, client address) when the key is unknown — so a flood of bad keys does not
    /// flood the log. Records the key's id and display prefix when it is known, and nothing
    /// of a presented value otherwise.
    async fn audit_failure(&self, error: &AuthError, key: Option<&ApiKey>, meta: &RequestMeta) {
        let who = match (key, meta.ip) {
            (Some(key), _) => key.id.to_string(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => String::new(),
        };
        let bucket = format!("{}:{who}", error.code());
        let audited = &self.cache().failures_audited;
        if audited.contains_key(&bucket) {
            return;
        }
        audited.insert(bucket, ());
        let mut event = AuditEvent::new("api_key.verify", Actor::Anonymous, self.auth.now(), meta)
            .failed(error);
        if let Some(key) = key {
            event = event
                .subject("api_key", key.id)
                .detail(serde_json::json!({ "start": key.start }));
        }
        self.auth.record_audit(event).await;
    }

    async fn audit(
        &self,
        action: &str,
        key: &ApiKey,
        caller: &Caller,
        meta: &RequestMeta,
        detail: Option<serde_json::Value>,
    ) {
        let detail = detail.unwrap_or_else(
            || serde_json::json!({ "owner": key.owner, "scopes": key.scopes, "start": key.start }),
        );
        self.auth
            .record_audit(
                AuditEvent::by(action, caller, self.auth.now(), meta)
                    .subject("api_key", key.id)
                    .detail(detail),
            )
            .await;
    }
}
