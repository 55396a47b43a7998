//! Route guards: layers that refuse a request unless its principal may call the route.
//!
//! ```ignore
//! Router::new()
//!     .route("/api/data", get(data))
//!     .route_layer(require_scope("data", "read")?)
//!     .route("/orgs/{org}/billing", post(billing))
//!     .route_layer(require_permission("org", "billing:write")?)
//!     .layer(state.layer());
//! ```
//!
//! Guards find the [`AuthState`] through its layer ([`AuthState::layer`]); a principal
//! they resolve through the services is kept for the handler's extractors.
//!
//! Semantics, by principal:
//! - **scope** `resource:action`: an API key needs a scope granting it
//!   (`403 INSUFFICIENT_SCOPE`, the scope named in `WWW-Authenticate`); a session acts
//!   with its user's own authority and passes (group rights are `require_permission`'s).
//! - **member** of the group in path parameter `param` (directly or through an ancestor),
//!   optionally with one of `roles`: sessions and user-owned keys by their user's
//!   membership; a group-owned key is a member of its group and the groups below it,
//!   without a role.
//! - **permission** on that group: a session by its user's roles; a user-owned key needs
//!   both the scope and its user's permission; a group-owned key needs the scope and must
//!   belong to the group or one above it. The decision is `auth-core`'s
//!   ([`Access`](auth_core::members::Access)), the same the services make.
//! - **aal2**: a session after a second factor (`403 MFA_REQUIRED` otherwise).
//! - **recent sign-in**: a session begun within the given time, on the `Auth`'s clock
//!   (`403 REAUTHENTICATION_REQUIRED` otherwise, and for API keys).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_core::permissions::Permission;
use auth_core::{Aal, AuthError, GroupId};
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tower::{Layer, Service};

use crate::error::ApiError;
use crate::layer::{AuthFuture, with_current};
use crate::principal::{Principal, layered_state, resolve, resolve_now};
use crate::state::AuthState;

#[derive(Debug)]
enum Rule {
    Scope(Permission),
    Member {
        param: String,
        roles: Vec<String>,
    },
    Permission {
        param: String,
        permission: Permission,
    },
    Aal2,
    RecentSignIn(time::Duration),
    SignedIn,
}

/// A route layer that checks the request's principal; see the module docs. Made by
/// [`require_scope`] and its siblings (the state comes from an [`AuthState::layer`]
/// around it), or by [`AuthState::guard`] (one layer that carries the state too).
#[derive(Debug, Clone)]
pub struct Require {
    rule: Arc<Rule>,
    /// The state this layer makes current itself (empty: an outer layer's).
    state: AuthState,
}

impl Require {
    fn new(rule: Rule) -> Self {
        Self {
            rule: Arc::new(rule),
            state: AuthState::empty(),
        }
    }

    /// This guard, carrying `state` itself.
    pub(crate) fn with_state(self, state: AuthState) -> Self {
        Self { state, ..self }
    }
}

/// Requires an API key's scope to grant `resource:action` (sessions pass). A malformed
/// permission is an error here, when the router is built, never on a request.
pub fn require_scope(resource: &str, action: &str) -> Result<Require, AuthError> {
    let permission = Permission::parse(&format!("{resource}:{action}"))?;
    Ok(Require::new(Rule::Scope(permission)))
}

/// Requires membership of the group whose id is path parameter `param`, with one of
/// `roles` if any are given (a role counts when it is held or included by a held role).
pub fn require_member(param: &str, roles: &[&str]) -> Require {
    Require::new(Rule::Member {
        param: param.to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    })
}

/// Requires permission `resource:action` (e.g. `"member:add"`) on the group whose id is
/// path parameter `param`. A malformed permission is an error here, when the router is
/// built, never on a request.
pub fn require_permission(param: &str, permission: &str) -> Result<Require, AuthError> {
    let permission = Permission::parse(permission)?;
    Ok(Require::new(Rule::Permission {
        param: param.to_owned(),
        permission,
    }))
}

/// Requires a signed-in principal: a session or an API key (`401 NOT_SIGNED_IN` without
/// one). What [`CurrentUser`](crate::CurrentUser) checks, as a layer, so handlers that do
/// not need the user take no extractor.
pub fn require_signed_in() -> Require {
    Require::new(Rule::SignedIn)
}

/// Requires a session that passed a second factor (assurance level 2).
pub fn require_aal2() -> Require {
    Require::new(Rule::Aal2)
}

/// Requires a session begun within `max_age` (step-up for the app's own sensitive
/// routes; the library's own sensitive operations check
/// [`StepUpConfig`](auth_core::mfa::StepUpConfig) in its services). A negative
/// `max_age` is an error here, when the router is built.
pub fn require_recent_sign_in(max_age: time::Duration) -> Result<Require, AuthError> {
    if max_age.is_negative() {
        return Err(AuthError::invalid("max_age", "must not be negative"));
    }
    Ok(Require::new(Rule::RecentSignIn(max_age)))
}

impl<S> Layer<S> for Require {
    type Service = RequireService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            rule: Arc::clone(&self.rule),
            state: self.state.clone(),
        }
    }
}

/// What a guard calls: the route's future `F` at once (a cache hit), or a boxed future for
/// a refusal or a check that needs the store.
pub type Checked<F> = Either<F, Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>>;

/// The service of a [`Require`] layer.
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    rule: Arc<Rule>,
    state: AuthState,
}

impl<S> Service<Request> for RequireService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    /// The inner service's future when the check passed at once (a cache hit), or a
    /// boxed future for a refusal or a check that needs the store; polled with the
    /// guard's own state current, if it carries one.
    type Future = AuthFuture<Checked<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let mut state = self.state.clone();
        let future = with_current(&mut state, || self.check_and_call(request));
        AuthFuture::new(state, future)
    }
}

impl<S> RequireService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    fn check_and_call(&mut self, request: Request) -> Checked<S::Future> {
        let (mut parts, body) = request.into_parts();
        match check_now(&self.rule, &mut parts) {
            // Called now, on the service poll_ready readied: nothing to clone.
            Some(Ok(())) => Either::Left(self.inner.call(Request::from_parts(parts, body))),
            Some(Err(error)) => Either::Right(Box::pin(async move { Ok(error.into_response()) })),
            None => {
                // Called later: take the ready service, leave a clone to be readied next.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                Either::Right(Box::pin(checked(
                    Arc::clone(&self.rule),
                    parts,
                    body,
                    inner,
                )))
            }
        }
    }
}

/// The slow path of [`RequireService`]: the check that needs the services, then the route.
async fn checked<S>(
    rule: Arc<Rule>,
    mut parts: Parts,
    body: axum::body::Body,
    mut inner: S,
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match check(&rule, &mut parts).await {
        Ok(()) => inner.call(Request::from_parts(parts, body)).await,
        Err(error) => Ok(error.into_response()),
    }
}

/// Decides at once, without the store, when it can: scope and second-factor rules for a
/// principal the caches answered. `None`: ask [`check`].
fn check_now(rule: &Rule, parts: &mut Parts) -> Option<Result<(), ApiError>> {
    if !matches!(
        rule,
        Rule::Scope(_) | Rule::Aal2 | Rule::RecentSignIn(_) | Rule::SignedIn
    ) {
        return None;
    }
    let state = layered_state(parts)?;
    let Some(principal) = resolve_now(parts, &state)? else {
        return Some(Err(AuthError::NotSignedIn.into()));
    };
    Some(match rule {
        Rule::Scope(permission) => scope_rule(&principal, permission),
        Rule::RecentSignIn(max_age) => recent_sign_in(&state, &principal, *max_age),
        Rule::SignedIn => Ok(()),
        _ => aal2(&principal),
    })
}

fn scope_rule(principal: &Principal, permission: &Permission) -> Result<(), ApiError> {
    match principal {
        Principal::Session { .. } => Ok(()),
        Principal::ApiKey(key) => scope(key.scopes.allows(permission), permission),
    }
}

fn aal2(principal: &Principal) -> Result<(), ApiError> {
    match principal {
        Principal::Session { auth, .. } if auth.session.aal >= Aal::Aal2 => Ok(()),
        _ => Err(AuthError::MfaRequired.into()),
    }
}

fn recent_sign_in(
    state: &crate::AuthState,
    principal: &Principal,
    max_age: time::Duration,
) -> Result<(), ApiError> {
    match (principal, state.inner()) {
        (Principal::Session { auth, .. }, Some(inner))
            if inner.sessions.now() - auth.session.created_at <= max_age =>
        {
            Ok(())
        }
        _ => Err(AuthError::ReauthenticationRequired.into()),
    }
}

async fn check(rule: &Rule, parts: &mut Parts) -> Result<(), ApiError> {
    let state = layered_state(parts).ok_or_else(ApiError::not_configured)?;
    let principal = resolve(parts, &state, false)
        .await?
        .ok_or_else(|| ApiError::from(AuthError::NotSignedIn))?;
    match rule {
        Rule::Scope(permission) => scope_rule(&principal, permission),
        Rule::Aal2 => aal2(&principal),
        Rule::RecentSignIn(max_age) => recent_sign_in(&state, &principal, *max_age),
        Rule::SignedIn => Ok(()),
        Rule::Member { param, roles } => {
            let group = group_param(parts, param).await?;
            let access = organizations(&state)?
                .access(&principal.caller(), group)
                .await?;
            let allowed = access.is_member()
                && (roles.is_empty() || roles.iter().any(|r| access.holds_role(r)));
            if allowed {
                Ok(())
            } else {
                Err(AuthError::Forbidden(
                    "not a member of this group with the required role".into(),
                )
                .into())
            }
        }
        Rule::Permission { param, permission } => {
            let group = group_param(parts, param).await?;
            let access = organizations(&state)?
                .access(&principal.caller(), group)
                .await?;
            scope(access.scope_allows(permission), permission)?;
            if access.allows(permission) {
                Ok(())
            } else {
                Err(AuthError::Forbidden(format!("missing permission {permission}").into()).into())
            }
        }
    }
}

/// The organizations of the state, which group guards need: a store without them cannot
/// decide, so the request fails (`NOT_CONFIGURED`) rather than passing.
fn organizations(
    state: &crate::AuthState,
) -> Result<&std::sync::Arc<dyn crate::state::Organizations>, ApiError> {
    state
        .inner()
        .and_then(|inner| inner.organizations.as_ref())
        .ok_or_else(|| {
            tracing::error!("a group guard on a state without organizations");
            ApiError::from(AuthError::NotConfigured(
                "organizations (AuthStateBuilder::organizations)",
            ))
        })
}

fn scope(granted: bool, permission: &Permission) -> Result<(), ApiError> {
    if granted {
        Ok(())
    } else {
        Err(AuthError::InsufficientScope {
            required: permission.to_string(),
        }
        .into())
    }
}

/// The group id in path parameter `param`: `422` if malformed.
async fn group_param(parts: &mut Parts, param: &str) -> Result<GroupId, ApiError> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|rejection| {
            if rejection.status().is_client_error() {
                // A parameter that is not UTF-8 once percent-decoded: the client's mistake.
                ApiError::from(AuthError::invalid(param.to_owned(), "is not valid UTF-8"))
            } else {
                ApiError::from(AuthError::Internal("route guard outside a route"))
            }
        })?;
    let raw = params
        .iter()
        .find(|(name, _)| *name == param)
        .map(|(_, value)| value)
        .ok_or_else(|| {
            tracing::error!(param, "route guard names a path parameter the route lacks");
            ApiError::from(AuthError::Internal("route guard misconfigured"))
        })?;
    Ok(raw.parse::<GroupId>()?)
}
