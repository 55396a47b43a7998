//! Route guards: layers that refuse a request unless its principal may call the route.
//!
//! ```ignore
//! Router::new()
//!     .route("/api/data", get(data))
//!     .route_layer(require_scope("data", "read"))
//!     .route("/orgs/{org}/billing", post(billing))
//!     .route_layer(require_permission("org", "billing:write"))
//!     .layer(state.layer());
//! ```
//!
//! Guards find the [`AuthState`] in the request's extensions ([`AuthState::layer`]) and
//! keep the resolved principal there for the handler's extractors.
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
//!   belong to the group or one above it.
//! - **aal2**: a session after a second factor (`403 MFA_REQUIRED` otherwise).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_core::api_keys::KeyOwner;
use auth_core::permissions::Permission;
use auth_core::{Aal, AuthError, GroupId};
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tower::{Layer, Service};

use crate::error::ApiError;
use crate::principal::{Principal, layered_state, resolve, resolve_now};

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
    /// A guard built with a malformed permission: refuses every request (500) rather
    /// than letting any through.
    Broken(String),
}

/// A route layer that checks the request's principal; see the module docs.
#[derive(Debug, Clone)]
pub struct Require {
    rule: Arc<Rule>,
}

fn permission_rule(resource: &str, action: &str, make: impl FnOnce(Permission) -> Rule) -> Require {
    let rule = match Permission::parse(&format!("{resource}:{action}")) {
        Ok(p) => make(p),
        Err(_) => Rule::Broken(format!("{resource}:{action}")),
    };
    Require {
        rule: Arc::new(rule),
    }
}

/// Requires an API key's scope to grant `resource:action` (sessions pass).
pub fn require_scope(resource: &str, action: &str) -> Require {
    permission_rule(resource, action, Rule::Scope)
}

/// Requires membership of the group whose id is path parameter `param`, with one of
/// `roles` if any are given (a role counts when it is held or included by a held role).
pub fn require_member(param: &str, roles: &[&str]) -> Require {
    Require {
        rule: Arc::new(Rule::Member {
            param: param.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }),
    }
}

/// Requires permission `resource:action` (e.g. `"member:add"`) on the group whose id is
/// path parameter `param`.
pub fn require_permission(param: &str, permission: &str) -> Require {
    let rule = match Permission::parse(permission) {
        Ok(permission) => Rule::Permission {
            param: param.to_owned(),
            permission,
        },
        Err(_) => Rule::Broken(permission.to_owned()),
    };
    Require {
        rule: Arc::new(rule),
    }
}

/// Requires a session that passed a second factor (assurance level 2).
pub fn require_aal2() -> Require {
    Require {
        rule: Arc::new(Rule::Aal2),
    }
}

impl<S> Layer<S> for Require {
    type Service = RequireService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            rule: Arc::clone(&self.rule),
        }
    }
}

/// The service of a [`Require`] layer.
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    rule: Arc<Rule>,
}

impl<S> Service<Request> for RequireService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    /// The inner service's future when the check passed at once (a cache hit), or a
    /// boxed future for a refusal or a check that needs the store.
    type Future =
        Either<S::Future, Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone is ready only after poll_ready; swap so the ready one is used.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rule = Arc::clone(&self.rule);
        let (mut parts, body) = request.into_parts();
        match check_now(&rule, &mut parts) {
            Some(Ok(())) => Either::Left(inner.call(Request::from_parts(parts, body))),
            Some(Err(error)) => Either::Right(Box::pin(async move { Ok(error.into_response()) })),
            None => Either::Right(Box::pin(async move {
                match check(&rule, &mut parts).await {
                    Ok(()) => inner.call(Request::from_parts(parts, body)).await,
                    Err(error) => Ok(error.into_response()),
                }
            })),
        }
    }
}

/// Decides at once, without the store, when it can: scope and second-factor rules for a
/// principal the caches answered. `None`: ask [`check`].
fn check_now(rule: &Rule, parts: &mut Parts) -> Option<Result<(), ApiError>> {
    if !matches!(rule, Rule::Scope(_) | Rule::Aal2) {
        return None;
    }
    let state = layered_state(parts)?.clone();
    let Some(principal) = resolve_now(parts, &state)? else {
        return Some(Err(AuthError::NotSignedIn.into()));
    };
    Some(match rule {
        Rule::Scope(permission) => scope_rule(&principal, permission),
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

async fn check(rule: &Rule, parts: &mut Parts) -> Result<(), ApiError> {
    if let Rule::Broken(text) = rule {
        tracing::error!(permission = %text, "route guard built with a malformed permission");
        return Err(AuthError::Internal("route guard misconfigured").into());
    }
    let state = layered_state(parts)
        .cloned()
        .ok_or_else(ApiError::not_configured)?;
    let principal = resolve(parts, &state, false)
        .await?
        .ok_or(ApiError::from(AuthError::NotSignedIn))?;
    let (verifier, _) = state.verifier().ok_or_else(ApiError::not_configured)?;
    match rule {
        Rule::Scope(permission) => scope_rule(&principal, permission),
        Rule::Aal2 => aal2(&principal),
        Rule::Member { param, roles } => {
            let group = group_param(parts, param).await?;
            let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
            let allowed = match (&principal, principal.user_id()) {
                (_, Some(user)) => verifier
                    .resolve(user, group, &roles)
                    .await?
                    .member
                    .is_some(),
                (Principal::ApiKey(key), None) => match key.key.owner {
                    KeyOwner::Group(owner) => {
                        roles.is_empty() && verifier.within(group, owner).await?
                    }
                    KeyOwner::User(_) => false,
                },
                (Principal::Session { .. }, None) => false,
            };
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
            if let Principal::ApiKey(key) = &principal {
                scope(key.scopes.allows(permission), permission)?;
                if let KeyOwner::Group(owner) = key.key.owner {
                    return if verifier.within(group, owner).await? {
                        Ok(())
                    } else {
                        Err(AuthError::Forbidden("this key belongs to another group".into()).into())
                    };
                }
            }
            let user = principal
                .user_id()
                .ok_or(ApiError::from(AuthError::NotSignedIn))?;
            if verifier.permissions(user, group).await?.allows(permission) {
                Ok(())
            } else {
                Err(AuthError::Forbidden(format!("missing permission {permission}").into()).into())
            }
        }
        Rule::Broken(_) => Err(AuthError::Internal("route guard misconfigured").into()),
    }
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
