//! `GET /auth/sso/oidc/callback` (feature `oidc`): the identity provider's redirect back
//! after an OIDC sign-in started by `POST /auth/sso/sign-in`.

use auth_core::oidc::OidcCallback;
use auth_core::{AuthError, SsoDomain};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use super::auth::presenting_session;
use super::sso_sign_in::landing;
use super::{Api, Meta};
use crate::cookies;
use crate::error::ApiError;
use crate::principal::session_cookie;

/// The callback route.
pub(super) fn routes<S: SsoDomain>(state: &crate::AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route("/auth/sso/oidc/callback", get(oidc_callback::<S>))
        .with_state(api);
    Some(routes)
}

/// The callback's path.
#[derive(OpenApi)]
#[openapi(paths(oidc_callback))]
pub(super) struct Doc;

/// The identity provider's redirect back after an OIDC sign-in (its query: `code`,
/// `state`, `iss`, or `error`). Refuses a `state` that is not this browser's flow cookie;
/// on success sets the session cookie. Always answers 303 to the app's post-sign-in path,
/// with `?sso_error=<CODE>` when refused.
#[utoipa::path(get, path = "/auth/sso/oidc/callback", tag = "sso",
    params(
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The flow's state"),
        ("iss" = Option<String>, Query, description = "The issuer (RFC 9207)"),
        ("error" = Option<String>, Query, description = "The provider's error code"),
        ("error_description" = Option<String>, Query, description = "Ignored"),
    ),
    responses(
        (status = 303, description = "To the post-sign-in path; `?sso_error=<CODE>` when refused (OIDC_STATE_INVALID, OIDC_FLOW_EXPIRED, OIDC_PROVIDER_ERROR, OIDC_TOKEN_INVALID, OIDC_ISSUER_MISMATCH, OIDC_EXCHANGE_FAILED, SSO_EMAIL_NOT_ALLOWED, SSO_LINK_REFUSED, SSO_EMAIL_NOT_VERIFIED, SSO_REQUIRED, SSO_CONNECTION_INACTIVE, INVALID_INPUT, ...)",
            headers(("location" = String, description = "Where the browser goes next"))),
    ))]
pub(crate) async fn oidc_callback<S: SsoDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: HeaderMap,
    query: Result<Query<OidcCallback>, QueryRejection>,
) -> Response {
    let Some(config) = api.state.config() else {
        return ApiError::not_configured().into_response();
    };
    let bound = session_cookie(&headers, cookies::sso_flow_name(config));
    let result = match query {
        Ok(Query(callback)) => {
            let meta = presenting_session(meta, &headers, &api.state);
            api.auth
                .sso()
                .finish_oidc_bound(&callback, bound, &meta)
                .await
        }
        Err(_) => Err(AuthError::invalid("query", "not a valid callback")),
    };
    landing(config, result)
}
