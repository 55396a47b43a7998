//! [`AuthState`]: what extractors, guards and routers need, for any store, with the
//! domains the store implements.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use auth_core::api_keys::VerifiedKey;
use auth_core::members::Access;
use auth_core::{
    ApiKeyDomain, Auth, AuthError, Authenticated, Caller, CoreStore, GroupId, OrganizationStore,
    PasskeyDomain, RequestMeta, SsoDomain, Store, TotpDomain, User, UserId,
};
use axum::Router;
use axum::extract::FromRef;

use crate::config::HttpConfig;
use crate::routes::Domain;

/// The core operations of the request path, with the store type erased.
#[async_trait]
pub(crate) trait Sessions: Send + Sync {
    async fn session(&self, token: &str) -> Result<Arc<Authenticated>, AuthError>;
    fn session_cached(&self, token: &str) -> Option<Arc<Authenticated>>;
    async fn user(&self, id: UserId) -> Result<User, AuthError>;
    /// The injected clock's time (what session ages are measured on).
    fn now(&self) -> time::OffsetDateTime;
    fn as_any(&self) -> &dyn Any;
}

#[async_trait]
impl<S: CoreStore> Sessions for Auth<S> {
    async fn session(&self, token: &str) -> Result<Arc<Authenticated>, AuthError> {
        self.sessions().validate(token).await
    }
    fn session_cached(&self, token: &str) -> Option<Arc<Authenticated>> {
        self.sessions().validate_cached(token)
    }
    async fn user(&self, id: UserId) -> Result<User, AuthError> {
        self.users().get(&Caller::System, id).await
    }
    fn now(&self) -> time::OffsetDateTime {
        Auth::now(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// API-key verification, with the store type erased (only where the store has keys).
#[async_trait]
pub(crate) trait Keys: Send + Sync {
    async fn verify(&self, raw: &str, meta: &RequestMeta) -> Result<VerifiedKey, AuthError>;
    fn verify_cached(&self, raw: &str) -> Option<VerifiedKey>;
    fn looks_like_key(&self, text: &str) -> bool;
}

#[async_trait]
impl<S: ApiKeyDomain> Keys for Auth<S> {
    async fn verify(&self, raw: &str, meta: &RequestMeta) -> Result<VerifiedKey, AuthError> {
        self.api_keys().verify(raw, meta).await
    }
    fn verify_cached(&self, raw: &str) -> Option<VerifiedKey> {
        self.api_keys().verify_cached(raw)
    }
    fn looks_like_key(&self, text: &str) -> bool {
        self.api_key_format().looks_like_key(text)
    }
}

/// What a caller may do on a group, with the store type erased (only where the store has
/// organizations): the one decision the group guards ask for.
#[async_trait]
pub(crate) trait Organizations: Send + Sync {
    async fn access(&self, caller: &Caller, group: GroupId) -> Result<Access, AuthError>;
}

#[async_trait]
impl<S: OrganizationStore> Organizations for Auth<S> {
    async fn access(&self, caller: &Caller, group: GroupId) -> Result<Access, AuthError> {
        self.members().access(caller, group).await
    }
}

pub(crate) struct Inner {
    pub(crate) sessions: Arc<dyn Sessions>,
    pub(crate) keys: Option<Arc<dyn Keys>>,
    pub(crate) organizations: Option<Arc<dyn Organizations>>,
    pub(crate) config: HttpConfig,
    /// The session cookie's name, decided once from `config` (read on every request).
    pub(crate) cookie_name: &'static str,
    pub(crate) domains: Vec<Domain>,
    /// The SCIM server's routes, when served ([`AuthStateBuilder::scim`]).
    pub(crate) scim: Option<fn(&AuthState) -> Option<Router>>,
}

/// Everything the HTTP layer needs: the `Auth` (its store type erased), the domains it
/// serves, and the [`HttpConfig`]. Cheap to clone.
///
/// Give it to your app either way:
/// - as router state, `Router::new()...with_state(state)` (or a field of your own state
///   with `FromRef`), or
/// - as a layer, `.layer(state.layer())`, which the route guards need.
#[derive(Clone)]
pub struct AuthState {
    inner: Option<Arc<Inner>>,
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState")
            .field("config", &self.inner.as_ref().map(|i| &i.config))
            .field(
                "domains",
                &self
                    .inner
                    .as_ref()
                    .map(|i| i.domains.iter().map(|d| d.name).collect::<Vec<_>>()),
            )
            .finish()
    }
}

impl AuthState {
    /// State over a complete store (every domain: `auth-memory`, `auth-sqlx`): the JSON API
    /// of every domain (passkeys when `AuthConfig::passkeys` is set; SSO management, and SSO
    /// sign-in with the `oidc` or `saml` feature), and every guard. For a store with only some domains, see
    /// [`AuthState::builder`].
    pub fn new<S: Store>(auth: Auth<S>, config: HttpConfig) -> Self {
        let builder = Self::builder(auth, config)
            .organizations()
            .api_keys()
            .totp()
            .passkeys()
            .sso()
            .scim();
        #[cfg(any(feature = "oidc", feature = "saml"))]
        let builder = builder.sso_sign_in();
        builder.build()
    }

    /// State over a store with the core and the optional domains you add: the core's
    /// routes (sign-up, sign-in, sessions, the account) always; each domain's routes,
    /// OpenAPI paths and guards only once added, and a domain can only be added where the
    /// store implements it (the compiler checks).
    ///
    /// ```no_run
    /// # fn demo<S: auth_core::CoreStore>(auth: auth_core::Auth<S>) {
    /// use auth_axum::{AuthState, HttpConfig};
    /// let state = AuthState::builder(auth, HttpConfig::new("https://app.example.com").unwrap())
    ///     .build(); // a core-only store: sign-up, sign-in, sessions, the account
    /// # }
    /// ```
    pub fn builder<S: CoreStore>(auth: Auth<S>, config: HttpConfig) -> AuthStateBuilder<S> {
        AuthStateBuilder {
            domains: vec![crate::routes::core::domain::<S>()],
            keys: None,
            organizations: None,
            scim: None,
            auth,
            config,
        }
    }

    /// The JSON API of the domains served (`/auth/...`) and `/openapi.json`, as a router
    /// with its state applied: merge it into your app.
    pub fn router(&self) -> Router {
        crate::routes::router(self)
    }

    /// The SCIM 2.0 server under `/scim/v2` (when served: [`AuthStateBuilder::scim`]), as a
    /// router with its state applied: merge it into your app. Its answers and errors are
    /// SCIM's (`application/scim+json`); it authenticates each request by its
    /// connection's bearer token, not by the session layer. Empty when not served.
    pub fn scim_router(&self) -> Router {
        self.inner()
            .and_then(|inner| inner.scim)
            .and_then(|routes| routes(self))
            .unwrap_or_default()
    }

    /// The OpenAPI document of the domains served (what `/openapi.json` answers).
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        crate::routes::openapi(self)
    }

    /// A layer that gives this state to the extractors and route guards of every request
    /// it serves, whatever your router's state is, without adding anything to the request
    /// (`Extension(state)` works too, at the cost of an extensions insert per request).
    pub fn layer(&self) -> crate::layer::AuthLayer {
        crate::layer::AuthLayer::new(self.clone())
    }

    /// One layer that both gives this state to the request (as [`Self::layer`] does) and
    /// guards it (as `guard`, e.g. [`require_signed_in`](crate::require_signed_in) or
    /// [`require_scope`](crate::require_scope)): what `.route_layer(guard).layer(state.layer())`
    /// does, with one layer's cost instead of two. Routes behind it that need the
    /// principal still take an extractor.
    ///
    /// ```ignore
    /// Router::new()
    ///     .route("/api/data", get(data))
    ///     .route_layer(state.guard(require_scope("data", "read")?));
    /// ```
    pub fn guard(&self, guard: crate::Require) -> crate::Require {
        guard.with_state(self.clone())
    }

    /// The HTTP settings.
    pub fn config(&self) -> Option<&HttpConfig> {
        self.inner.as_ref().map(|i| &i.config)
    }

    /// The typed `Auth` this state was built over, if it is over store `S`.
    pub fn auth<S: CoreStore>(&self) -> Option<&Auth<S>> {
        self.inner
            .as_ref()?
            .sessions
            .as_any()
            .downcast_ref::<Auth<S>>()
    }

    pub(crate) fn inner(&self) -> Option<&Inner> {
        self.inner.as_deref()
    }

    /// No state: what a router without one finds, and what the layer's slot holds outside
    /// a request.
    pub(crate) const fn empty() -> Self {
        Self { inner: None }
    }
}

/// Builds an [`AuthState`] domain by domain; see [`AuthState::builder`].
pub struct AuthStateBuilder<S> {
    auth: Auth<S>,
    config: HttpConfig,
    domains: Vec<Domain>,
    keys: Option<Arc<dyn Keys>>,
    organizations: Option<Arc<dyn Organizations>>,
    scim: Option<fn(&AuthState) -> Option<Router>>,
}

impl<S: CoreStore> AuthStateBuilder<S> {
    /// The state.
    pub fn build(self) -> AuthState {
        AuthState {
            inner: Some(Arc::new(Inner {
                sessions: Arc::new(self.auth),
                keys: self.keys,
                organizations: self.organizations,
                cookie_name: self.config.cookie_name(),
                config: self.config,
                domains: self.domains,
                scim: self.scim,
            })),
        }
    }
}

impl<S: OrganizationStore> AuthStateBuilder<S> {
    /// Serves organizations: `/auth/groups/...` and `/auth/invites/...`, and the
    /// `require_member` and `require_permission` guards.
    pub fn organizations(mut self) -> Self {
        if self.organizations.is_none() {
            self.organizations = Some(Arc::new(self.auth.clone()));
            self.domains.push(crate::routes::groups::domain::<S>());
        }
        self
    }
}

impl<S: ApiKeyDomain> AuthStateBuilder<S> {
    /// Serves API keys: `/auth/api-keys/...`, and keys as credentials (`x-api-key`, or a
    /// key as the bearer token). Organizations come with it (a key may be a group's).
    pub fn api_keys(mut self) -> Self {
        self = self.organizations();
        if self.keys.is_none() {
            self.keys = Some(Arc::new(self.auth.clone()));
            self.domains.push(crate::routes::api_keys::domain::<S>());
        }
        self
    }
}

impl<S: TotpDomain> AuthStateBuilder<S> {
    /// Serves TOTP second factors and recovery codes: `/auth/mfa/totp` (enrol, status,
    /// disable), `/auth/mfa/totp/confirm` and `/auth/mfa/recovery-codes`.
    pub fn totp(mut self) -> Self {
        if !self.domains.iter().any(|d| d.name == "totp") {
            self.domains.push(crate::routes::totp::domain::<S>());
        }
        self
    }
}

impl<S: PasskeyDomain> AuthStateBuilder<S> {
    /// Serves passkeys: `/auth/passkeys/...` (register, sign up, sign in, list, rename,
    /// remove), when the `Auth` has a relying party (`AuthConfig::passkeys`); without one
    /// there is nothing to serve, and nothing is mounted.
    pub fn passkeys(mut self) -> Self {
        let configured = self.auth.config().passkeys.is_some();
        if configured && !self.domains.iter().any(|d| d.name == "passkeys") {
            self.domains.push(crate::routes::passkeys::domain::<S>());
        }
        self
    }
}

impl<S: SsoDomain> AuthStateBuilder<S> {
    /// Serves SSO management: an organization's connections
    /// (`/auth/groups/{id}/sso/connections/...`) and domains
    /// (`/auth/groups/{id}/domains/...`). Organizations come with it.
    pub fn sso(mut self) -> Self {
        self = self.organizations();
        if !self.domains.iter().any(|d| d.name == "sso") {
            self.domains.push(crate::routes::sso::domain::<S>());
        }
        self
    }
}

#[cfg(any(feature = "oidc", feature = "saml"))]
impl<S: auth_core::SsoDomain> AuthStateBuilder<S> {
    /// Serves SSO sign-in (features `oidc`, `saml`): `POST /auth/sso/sign-in` (by address,
    /// domain, connection or social provider); with `oidc`, the OIDC callback
    /// `GET /auth/sso/oidc/callback`; with `saml`, each SAML connection's ACS
    /// `POST /auth/sso/saml/{connection_id}/acs` and SP metadata
    /// `GET /auth/sso/saml/{connection_id}/metadata`. Organizations come with it (a
    /// connection is an organization's).
    pub fn sso_sign_in(mut self) -> Self {
        self = self.organizations();
        if !self.domains.iter().any(|d| d.name == "sso_sign_in") {
            self.domains.push(crate::routes::sso_sign_in::domain::<S>());
        }
        self
    }
}

impl<S: auth_core::ScimDomain> AuthStateBuilder<S> {
    /// Serves SCIM provisioning: its set-up for the organization's admins
    /// (`/auth/groups/{id}/sso/connections/{connection_id}/scim`, `.../scim/token`) in the
    /// JSON API, and the SCIM server ([`AuthState::scim_router`], `/scim/v2/...`) through
    /// which each connection's directory creates, updates and removes users and groups.
    /// SSO management comes with it (SCIM is set up per connection).
    pub fn scim(mut self) -> Self {
        self = self.sso();
        if !self.domains.iter().any(|d| d.name == "scim") {
            self.domains.push(crate::routes::scim_admin::domain::<S>());
        }
        self.scim = Some(crate::scim::router::<S>);
        self
    }
}

/// Lets extractors run in routers without state (`Router<()>`): they then find the state
/// through [`AuthState::layer`].
impl FromRef<()> for AuthState {
    fn from_ref(_: &()) -> Self {
        Self::empty()
    }
}
