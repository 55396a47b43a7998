//! [`Auth`], the facade an app holds, and its builder.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::api_keys::KeyCache;
use crate::audit::{AuditEvent, AuditSink, AuditStore, StoreAuditSink, TracingAuditSink};
use crate::caller::Caller;
use crate::clock::{self, Clock, SystemClock};
use crate::config::AuthConfig;
use crate::context::RequestMeta;
use crate::error::{AuthError, ConfigError};
use crate::invalidation::{Invalidation, InvalidationBus, InvalidationSink, LocalCaches};
use crate::passwords::{BreachCheck, HashPool, PasswordHasher};
use crate::permissions::Policy;
use crate::rate_limit::Limiter;
use crate::secret::{Keyring, OsRandom, Random, SecretBox, SecretKey};
use crate::sessions::SessionCache;
use crate::sso::DomainVerifier;
use crate::verification::{CodeChecker, Mailer, NoMailer, Outbox, SpawnOutbox};

/// The library's entry point: holds the store, the clock, the keys and the configuration,
/// and hands out one service per domain (`auth.users()`, `auth.sessions()`,
/// `auth.password()`, ...).
///
/// Cheap to clone (an `Arc` inside); build one per process with [`Auth::builder`]. Each
/// service asks only for the storage traits it uses, so a store implementing only
/// [`UserStore`](crate::UserStore) and [`SessionStore`](crate::SessionStore) can already
/// use the services built on those.
pub struct Auth<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Auth<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for Auth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner<S> {
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn Random>,
    pub(crate) config: AuthConfig,
    pub(crate) secret_box: SecretBox,
    pub(crate) codes: CodeChecker,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) has_mailer: bool,
    pub(crate) outbox: Arc<dyn Outbox>,
    pub(crate) audit: Arc<dyn AuditSink>,
    pub(crate) hasher: Arc<PasswordHasher>,
    pub(crate) hash_pool: HashPool,
    pub(crate) session_cache: SessionCache,
    pub(crate) policy: Policy,
    pub(crate) api_key_cache: KeyCache,
    pub(crate) limiter: Limiter,
    pub(crate) breach_check: Option<Arc<dyn BreachCheck>>,
    pub(crate) invalidation: Option<Arc<dyn InvalidationBus>>,
    /// The WebAuthn relying party, when `config.passkeys` is set.
    pub(crate) webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// Reads the DNS TXT records that prove control of an SSO domain, when configured.
    pub(crate) domain_verifier: Option<Arc<dyn DomainVerifier>>,
    /// The OpenID Connect relying party's HTTP client and provider cache.
    #[cfg(feature = "oidc")]
    pub(crate) oidc: crate::oidc::OidcRuntime,
    /// The app's social OpenID providers, by id.
    #[cfg(feature = "oidc")]
    pub(crate) social: Vec<crate::sso::SocialProvider>,
}

impl<S: Send + Sync> LocalCaches for Inner<S> {
    fn apply(&self, event: &Invalidation) {
        match event {
            Invalidation::Session(hash) => self.session_cache.evict(hash),
            Invalidation::User(id) => self.session_cache.evict_user(*id),
            Invalidation::ApiKey { id, key_hash } => self.api_key_cache.evict(*id, key_hash),
            Invalidation::AllApiKeys => self.api_key_cache.evict_all(),
        }
    }

    fn clear(&self) {
        self.session_cache.clear();
        self.api_key_cache.clear();
    }
}

impl<S: Send + Sync + 'static> Auth<S> {
    /// Starts building an `Auth` over `store`.
    pub fn builder(store: S) -> AuthBuilder<S> {
        AuthBuilder {
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            config: AuthConfig::default(),
            keys: None,
            mailer: None,
            outbox: None,
            audit: None,
            policy: Policy::default(),
            breach_check: None,
            invalidation: None,
            domain_verifier: None,
            #[cfg(feature = "oidc")]
            social: Vec::new(),
        }
    }
}

impl<S> Auth<S> {
    /// The store, for app code that needs what the services do not offer.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// The format of this app's API keys (to tell a key from a session token).
    pub fn api_key_format(&self) -> &crate::api_keys::KeyFormat {
        self.inner.api_key_cache.format()
    }

    /// The roles and permissions policy.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The AEAD box for secrets that must be read back, under the app's keys.
    pub fn secret_box(&self) -> &SecretBox {
        &self.inner.secret_box
    }

    /// The current time, truncated to microseconds (what every record stores).
    pub fn now(&self) -> OffsetDateTime {
        clock::now(self.inner.clock.as_ref())
    }

    /// [`Self::now`] in nanoseconds since the Unix epoch, read without building a date:
    /// what the caches compare on the request path.
    pub(crate) fn now_nanos(&self) -> i64 {
        clock::now_nanos(self.inner.clock.as_ref())
    }

    /// Whether `session` began recently enough to stand for a fresh sign-in, for a user with
    /// no password to confirm a sensitive change with
    /// ([`AuthConfig::reauth_window`](crate::AuthConfig::reauth_window)).
    pub(crate) fn signed_in_recently(&self, session: &crate::Session) -> bool {
        self.now() - session.created_at <= self.config().reauth_window
    }

    /// Names rate-limit buckets by keyed hash and takes or resets them.
    pub(crate) fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    pub(crate) fn inner(&self) -> &Inner<S> {
        &self.inner
    }

    /// Evicts what `events` name from this process's caches (after the store write they
    /// reflect), then publishes them to the other nodes when a bus is configured. A failed
    /// publish is logged, not returned: the write stands, and the other nodes' cache TTL
    /// remains the bound.
    pub(crate) async fn invalidate(&self, events: &[Invalidation])
    where
        S: Send + Sync,
    {
        for event in events {
            self.inner.apply(event);
        }
        if let Some(bus) = &self.inner.invalidation
            && !events.is_empty()
            && let Err(error) = bus.publish(events).await
        {
            tracing::warn!(%error, events = events.len(), "could not publish cache invalidations; other nodes wait for their cache TTL");
        }
    }

    /// Records an audit event.
    pub(crate) async fn record_audit(&self, event: AuditEvent) {
        self.inner.audit.record(event).await;
    }

    /// Passes `result` on, recording a failed `action` by `caller` first when it is an
    /// authorization refusal (`FORBIDDEN`, `INSUFFICIENT_SCOPE`, a missing second factor,
    /// or a record hidden as not found).
    pub(crate) async fn audit_refusal<T>(
        &self,
        action: &str,
        caller: &Caller,
        meta: &RequestMeta,
        result: Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        if let Err(error) = &result
            && matches!(
                error,
                AuthError::Forbidden(_)
                    | AuthError::InsufficientScope { .. }
                    | AuthError::NotFound(_)
                    | AuthError::MfaRequired
                    | AuthError::MfaEnrollmentRequired
            )
        {
            let event = AuditEvent::by(action, caller, self.now(), meta).failed(error);
            self.record_audit(event).await;
        }
        result
    }
}

/// Builds an [`Auth`]; see [`Auth::builder`].
pub struct AuthBuilder<S> {
    store: S,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    config: AuthConfig,
    keys: Option<Keyring>,
    mailer: Option<Arc<dyn Mailer>>,
    outbox: Option<Arc<dyn Outbox>>,
    audit: Option<Arc<dyn AuditSink>>,
    policy: Policy,
    breach_check: Option<Arc<dyn BreachCheck>>,
    invalidation: Option<Arc<dyn InvalidationBus>>,
    domain_verifier: Option<Arc<dyn DomainVerifier>>,
    #[cfg(feature = "oidc")]
    social: Vec<crate::sso::SocialProvider>,
}

impl<S: Send + Sync + 'static> AuthBuilder<S> {
    /// The clock (default: the system clock). Tests pass a [`TestClock`](crate::TestClock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The source of randomness (default: the OS-seeded CSPRNG).
    pub fn random(mut self, random: impl Random + 'static) -> Self {
        self.random = Arc::new(random);
        self
    }

    /// The app's secret key (required): derives the key that seals secrets at rest and the
    /// key that authenticates emailed codes.
    pub fn secret_key(mut self, key: SecretKey) -> Self {
        self.keys = Some(Keyring::single(key));
        self
    }

    /// The app's keys, with retired keys for rotation (instead of [`Self::secret_key`]).
    pub fn keyring(mut self, keys: Keyring) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The configuration (default: [`AuthConfig::default`]).
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.config = config;
        self
    }

    /// The mailer that delivers codes and links (default: none; email flows then fail
    /// with `NOT_CONFIGURED`).
    pub fn mailer(mut self, mailer: impl Mailer + 'static) -> Self {
        self.mailer = Some(Arc::new(mailer));
        self
    }

    /// Where the email flows whose timing would reveal whether an address has an account
    /// (password reset, sign-in codes, sign-up) hand their mail, so the request does not
    /// wait for the mailer (default: [`SpawnOutbox`], a tokio task per email).
    pub fn outbox(mut self, outbox: impl Outbox + 'static) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    /// The roles and their permissions (default: [`Policy::default`], owner ⊃ admin ⊃ member).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// A breach database asked about every new password, k-anonymity style (default:
    /// none; the offline list of common passwords applies either way). See
    /// [`BreachCheck`].
    pub fn breach_check(mut self, check: impl BreachCheck + 'static) -> Self {
        self.breach_check = Some(Arc::new(check));
        self
    }

    /// A bus carrying cache evictions between the nodes that share the store (default:
    /// none; each node's caches then learn of another node's revocations only when their
    /// entries expire, after `cache_ttl`). See [`crate::invalidation`].
    pub fn invalidation(mut self, bus: impl InvalidationBus) -> Self {
        self.invalidation = Some(Arc::new(bus));
        self
    }

    /// Reads the DNS TXT records that prove an organization controls an SSO domain
    /// (default: none; `auth.sso().verify_domain` then fails with `NOT_CONFIGURED`). With
    /// auth-core's feature `dns`, `sso::HickoryVerifier` reads real DNS.
    pub fn domain_verifier(mut self, verifier: impl DomainVerifier) -> Self {
        self.domain_verifier = Some(Arc::new(verifier));
        self
    }

    /// Registers a social OpenID provider ("Sign in with Google"), started with
    /// `auth.sso().begin_social_sign_in(id, ..)` and finished by the same callback as
    /// enterprise sign-ins (feature `oidc`). Two providers with one id fail the build.
    #[cfg(feature = "oidc")]
    pub fn social_provider(mut self, provider: crate::sso::SocialProvider) -> Self {
        self.social.push(provider);
        self
    }

    /// Where audit events go (default: `tracing`, target `auth_audit`).
    pub fn audit(mut self, sink: impl AuditSink + 'static) -> Self {
        self.audit = Some(Arc::new(sink));
        self
    }

    /// Validates the configuration and builds.
    pub fn build(self) -> Result<Auth<S>, ConfigError> {
        self.config.validate()?;
        let keys = self.keys.ok_or(ConfigError::MissingSecretKey)?;
        if self.config.require_email_verification && self.mailer.is_none() {
            return Err(ConfigError::Invalid {
                setting: "require_email_verification",
                reason: "needs a mailer to send verification codes",
            });
        }
        let hasher = PasswordHasher::new(&self.config.password.argon2, self.random.as_ref())?;
        let session_cache = SessionCache::new(&self.config.session);
        let api_key_cache = KeyCache::new(&self.config.api_keys)?;
        let codes = CodeChecker::new(&keys, &self.config.verification);
        let limiter = Limiter::new(&keys);
        let has_mailer = self.mailer.is_some();
        let webauthn = match &self.config.passkeys {
            Some(passkeys) => Some(Arc::new(
                passkeys.relying_party_with(self.config.ceremony_ttl.unsigned_abs())?,
            )),
            None => None,
        };
        #[cfg(feature = "oidc")]
        let oidc = crate::oidc::OidcRuntime::new(&self.config.oidc)?;
        #[cfg(feature = "oidc")]
        {
            let mut ids: Vec<&str> = self.social.iter().map(|s| s.id()).collect();
            ids.sort_unstable();
            if ids.windows(2).any(|w| w.first() == w.last()) {
                return Err(ConfigError::Invalid {
                    setting: "social_provider",
                    reason: "two providers have the same id",
                });
            }
        }
        let inner = Arc::new(Inner {
            #[cfg(feature = "oidc")]
            oidc,
            #[cfg(feature = "oidc")]
            social: self.social,
            store: self.store,
            clock: self.clock,
            random: self.random,
            secret_box: SecretBox::new(keys),
            codes,
            mailer: self.mailer.unwrap_or_else(|| Arc::new(NoMailer)),
            has_mailer,
            outbox: self
                .outbox
                .unwrap_or_else(|| Arc::new(SpawnOutbox::default())),
            audit: self.audit.unwrap_or_else(|| Arc::new(TracingAuditSink)),
            hasher: Arc::new(hasher),
            hash_pool: HashPool::new(&self.config.password.hashing),
            session_cache,
            policy: self.policy,
            api_key_cache,
            limiter,
            breach_check: self.breach_check,
            invalidation: self.invalidation,
            webauthn,
            domain_verifier: self.domain_verifier,
            config: self.config,
        });
        if let Some(bus) = &inner.invalidation {
            let caches: Arc<dyn LocalCaches> = inner.clone();
            bus.subscribe(InvalidationSink::new(Arc::downgrade(&caches)))?;
        }
        Ok(Auth { inner })
    }
}

impl<S: AuditStore + Clone + Send + Sync + 'static> AuthBuilder<S> {
    /// Appends audit events to the store itself (so `auth.audit().list(..)` sees them).
    pub fn audit_to_store(self) -> Self {
        let sink = StoreAuditSink::new(self.store.clone());
        self.audit(sink)
    }
}
