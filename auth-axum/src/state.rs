//! [`AuthState`]: what extractors, guards and routers need, for any store.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use auth_core::api_keys::VerifiedKey;
use auth_core::members::{Permissions, Resolution};
use auth_core::{Auth, AuthError, Authenticated, GroupId, RequestMeta, Store, User, UserId};
use axum::Router;
use axum::extract::FromRef;

use crate::config::HttpConfig;

/// The operations extractors and guards need, with the store type erased.
#[async_trait]
pub(crate) trait Verifier: Send + Sync {
    async fn session(&self, token: &str) -> Result<Arc<Authenticated>, AuthError>;
    fn session_cached(&self, token: &str) -> Option<Arc<Authenticated>>;
    fn api_key_cached(&self, raw: &str) -> Option<VerifiedKey>;
    async fn user(&self, id: UserId) -> Result<User, AuthError>;
    async fn api_key(&self, raw: &str, meta: &RequestMeta) -> Result<VerifiedKey, AuthError>;
    async fn permissions(&self, user: UserId, group: GroupId) -> Result<Permissions, AuthError>;
    async fn resolve(
        &self,
        user: UserId,
        group: GroupId,
        roles: &[&str],
    ) -> Result<Resolution, AuthError>;
    async fn within(&self, group: GroupId, ancestor: GroupId) -> Result<bool, AuthError>;
    fn looks_like_api_key(&self, text: &str) -> bool;
    fn as_any(&self) -> &dyn Any;
}

#[async_trait]
impl<S: Store> Verifier for Auth<S> {
    async fn session(&self, token: &str) -> Result<Arc<Authenticated>, AuthError> {
        self.sessions().validate(token).await
    }
    fn session_cached(&self, token: &str) -> Option<Arc<Authenticated>> {
        self.sessions().validate_cached(token)
    }
    fn api_key_cached(&self, raw: &str) -> Option<VerifiedKey> {
        self.api_keys().verify_cached(raw)
    }
    async fn user(&self, id: UserId) -> Result<User, AuthError> {
        self.users().get(id).await
    }
    async fn api_key(&self, raw: &str, meta: &RequestMeta) -> Result<VerifiedKey, AuthError> {
        self.api_keys().verify(raw, meta).await
    }
    async fn permissions(&self, user: UserId, group: GroupId) -> Result<Permissions, AuthError> {
        self.members().permissions(user, group).await
    }
    async fn resolve(
        &self,
        user: UserId,
        group: GroupId,
        roles: &[&str],
    ) -> Result<Resolution, AuthError> {
        let roles = (!roles.is_empty()).then_some(roles);
        self.members().resolve(user, group, roles, None).await
    }
    async fn within(&self, group: GroupId, ancestor: GroupId) -> Result<bool, AuthError> {
        if group == ancestor {
            return Ok(true);
        }
        let chain = self.groups().ancestors(group, false, None).await?;
        Ok(chain.groups.iter().any(|g| g.id == ancestor))
    }
    fn looks_like_api_key(&self, text: &str) -> bool {
        self.api_key_format().looks_like_key(text)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct Inner {
    auth: Arc<dyn Verifier>,
    config: HttpConfig,
    router: fn(&AuthState) -> Router,
}

/// Everything the HTTP layer needs: the `Auth` (its store type erased) and the
/// [`HttpConfig`]. Cheap to clone.
///
/// Give it to your app either way:
/// - as router state, `Router::new()...with_state(state)` (or a field of your own state
///   with `FromRef`), or
/// - as a layer, `.layer(state.layer())` (an `Extension`), which the route guards need.
#[derive(Clone)]
pub struct AuthState {
    inner: Option<Arc<Inner>>,
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState")
            .field("config", &self.inner.as_ref().map(|i| &i.config))
            .finish()
    }
}

impl AuthState {
    /// State over `auth` with the HTTP settings `config`.
    pub fn new<S: Store>(auth: Auth<S>, config: HttpConfig) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                auth: Arc::new(auth),
                config,
                router: crate::routes::router::<S>,
            })),
        }
    }

    /// The ready JSON API (`/auth/...`) and `/openapi.json`, as a router with its state
    /// applied: merge it into your app.
    pub fn router(&self) -> Router {
        match &self.inner {
            Some(inner) => (inner.router)(self),
            None => Router::new(),
        }
    }

    /// A layer that puts this state in every request's extensions, where extractors and
    /// route guards find it whatever your router's state is. (`Extension(state)` works
    /// too; this layer also keeps the request's principal without a second lookup.)
    pub fn layer(&self) -> crate::layer::AuthLayer {
        crate::layer::AuthLayer::new(self.clone())
    }

    /// The HTTP settings.
    pub fn config(&self) -> Option<&HttpConfig> {
        self.inner.as_ref().map(|i| &i.config)
    }

    /// The typed `Auth` this state was built over, if it is over store `S`.
    pub fn auth<S: Store>(&self) -> Option<&Auth<S>> {
        self.inner.as_ref()?.auth.as_any().downcast_ref::<Auth<S>>()
    }

    pub(crate) fn verifier(&self) -> Option<(&dyn Verifier, &HttpConfig)> {
        self.inner.as_ref().map(|i| (i.auth.as_ref(), &i.config))
    }
}

/// Lets extractors run in routers without state (`Router<()>`): they then find the state
/// in the request's extensions (see [`AuthState::layer`]).
impl FromRef<()> for AuthState {
    fn from_ref(_: &()) -> Self {
        Self { inner: None }
    }
}
