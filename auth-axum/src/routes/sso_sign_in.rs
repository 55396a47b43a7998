//! `/auth/sso/sign-in` and the identity providers' answers: signing in through an
//! organization's identity provider (routed by address, domain or connection) or one of
//! the app's social providers (features `oidc`, `saml`).
//!
//! The start answers the provider's URL and binds the flow to the browser with a
//! short-lived HttpOnly cookie holding its handle (the OIDC `state`, the SAML
//! `RelayState`). The answer, the OIDC callback (`oidc`, in [`super::sso_oidc`]) or the
//! SAML ACS post (`saml`, in [`super::sso_saml`]), is refused when its handle is not the cookie's (login CSRF); it
//! finishes, sets the session cookie and redirects (303) to
//! [`HttpConfig::sso_return_path`](crate::HttpConfig::sso_return_path), with
//! `?sso_error=<CODE>` on a refusal: a browser never lands on an error page, and never
//! sees the provider's error text. The callback URL is built from the configured public
//! origin, never from the request's `Host`.

use auth_core::sessions::SignedIn;
use auth_core::sso::{SsoStart, SsoTarget};
use auth_core::{AuthError, ErrorCode, SsoConnectionId, SsoDomain};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use utoipa::OpenApi;

use super::auth::{check_sign_in_origin, set_session_cookie};
use super::{Api, Domain, Meta, SsoSignInBody, SsoSignInResponse, TokenMode};
use crate::body::ApiJson;
use crate::config::HttpConfig;
use crate::cookies;
use crate::error::{ApiError, ErrorBody};

/// The OIDC callback path, under the app's public origin (routed in
/// [`super::sso_oidc`]).
pub(crate) const CALLBACK_PATH: &str = "/auth/sso/oidc/callback";

/// The SSO sign-in domain.
pub(crate) fn domain<S: SsoDomain>() -> Domain {
    Domain {
        name: "sso_sign_in",
        routes: routes::<S>,
        doc,
    }
}

fn routes<S: SsoDomain>(state: &crate::AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route("/auth/sso/sign-in", post(sign_in_start::<S>))
        .with_state(api);
    #[cfg(feature = "oidc")]
    let routes = routes.merge(super::sso_oidc::routes::<S>(state)?);
    #[cfg(feature = "saml")]
    let routes = routes.merge(super::sso_saml::routes::<S>(state)?);
    Some(routes)
}

/// The OpenAPI paths of the SSO sign-in domain (as the features include them).
pub(crate) fn doc() -> utoipa::openapi::OpenApi {
    #[allow(unused_mut)]
    let mut doc = Doc::openapi();
    #[cfg(feature = "oidc")]
    doc.merge(super::sso_oidc::Doc::openapi());
    #[cfg(feature = "saml")]
    doc.merge(super::sso_saml::Doc::openapi());
    doc
}

/// The start of every SSO sign-in.
#[derive(OpenApi)]
#[openapi(
    paths(sign_in_start),
    tags((name = "sso", description = "Single sign-on: enterprise connections and social providers"))
)]
struct Doc;

/// What a start names: exactly one of the body's fields.
enum Start {
    Target(SsoTarget),
    Social(String),
}

fn start_of(body: SsoSignInBody) -> Result<Start, ApiError> {
    let given = [
        body.email.is_some(),
        body.domain.is_some(),
        body.connection_id.is_some(),
        body.provider.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(AuthError::invalid(
            "body",
            "give exactly one of email, domain, connection_id, provider",
        )
        .into());
    }
    Ok(match body {
        SsoSignInBody {
            email: Some(email), ..
        } => Start::Target(SsoTarget::Email(email)),
        SsoSignInBody {
            domain: Some(domain),
            ..
        } => Start::Target(SsoTarget::Domain(domain)),
        SsoSignInBody {
            connection_id: Some(id),
            ..
        } => {
            let id: SsoConnectionId = id.parse()?;
            Start::Target(SsoTarget::Connection(id))
        }
        SsoSignInBody {
            provider: Some(provider),
            ..
        } => Start::Social(provider),
        _ => return Err(AuthError::invalid("body", "nothing to sign in with").into()),
    })
}

/// The app's callback URL: its public origin (configured, not the request's `Host`) and
/// the callback path.
fn redirect_uri(config: &HttpConfig) -> String {
    format!("{}{CALLBACK_PATH}", config.origin)
}

/// Starts an SSO sign-in: by address or domain (routed to its organization's active
/// connection), by connection id, or by social provider id. Answers the identity
/// provider's URL to navigate to, and sets a short-lived HttpOnly cookie binding the flow
/// to this browser.
#[utoipa::path(post, path = "/auth/sso/sign-in", tag = "sso",
    request_body = SsoSignInBody,
    responses(
        (status = 200, body = SsoSignInResponse,
            headers(("set-cookie" = String, description = "The flow's binding cookie"))),
        (status = 400, description = "SSO_PROTOCOL_NOT_SUPPORTED (a protocol this build leaves out)", body = ErrorBody),
        (status = 403, description = "CSRF_REJECTED (from another origin)", body = ErrorBody),
        (status = 404, description = "SSO_CONNECTION_NOT_FOUND (nothing routes it, or no such provider)", body = ErrorBody),
        (status = 409, description = "SSO_CONNECTION_INACTIVE, SSO_CONNECTION_NOT_READY", body = ErrorBody),
        (status = 422, description = "INVALID_INPUT, INVALID_EMAIL", body = ErrorBody),
        (status = 429, description = "RATE_LIMITED (too many sign-ins started from this network)", body = ErrorBody),
        (status = 502, description = "OIDC_DISCOVERY_FAILED (the provider is unreachable)", body = ErrorBody),
    ))]
pub(crate) async fn sign_in_start<S: SsoDomain>(
    State(api): State<Api<S>>,
    Meta(meta): Meta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SsoSignInBody>,
) -> Result<Response, ApiError> {
    check_sign_in_origin(&headers, &api.state, TokenMode::Cookie)?;
    let config = api.state.config().ok_or_else(ApiError::not_configured)?;
    let redirect = redirect_uri(config);
    let sso = api.auth.sso();
    let started = match start_of(body)? {
        Start::Target(target) => sso.begin_sign_in(&target, &redirect, &meta).await?,
        #[cfg(feature = "oidc")]
        Start::Social(id) => sso.begin_social_sign_in(&id, &redirect, &meta).await?,
        // No social providers without OIDC: the id names nothing.
        #[cfg(not(feature = "oidc"))]
        Start::Social(id) => {
            tracing::debug!(provider = %id, "social sign-in needs the oidc feature");
            return Err(AuthError::NotFound(auth_core::Entity::SsoConnection).into());
        }
    };
    let SsoStart::Redirect {
        url,
        state,
        expires_at,
    } = started
    else {
        return Err(AuthError::SsoProtocolNotSupported("this").into());
    };
    let mut response = Json(SsoSignInResponse { url }).into_response();
    let lifetime = expires_at - api.auth.now();
    cookies::set_sso_flow(&mut response, config, state.expose(), lifetime);
    Ok(response)
}

/// The see-other redirect to the post-sign-in path, with `sso_error` on a refusal.
fn back(config: &HttpConfig, error: Option<ErrorCode>) -> Response {
    let path = config.sso_return_path();
    let location = match error {
        None => path.to_owned(),
        Some(code) => {
            let joiner = if path.contains('?') { '&' } else { '?' };
            format!("{path}{joiner}sso_error={}", code.as_str())
        }
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where an identity provider's answer leaves the browser: the post-sign-in path with the
/// session cookie, or with `?sso_error=<CODE>`; the flow cookie spent either way.
pub(super) fn landing(config: &HttpConfig, result: Result<SignedIn, AuthError>) -> Response {
    let mut response = match result {
        Ok(signed_in) => {
            let mut response = back(config, None);
            set_session_cookie(
                &mut response,
                config,
                &signed_in.session,
                &signed_in.session_token,
            );
            response
        }
        Err(error) => {
            if matches!(
                error.code(),
                ErrorCode::Internal | ErrorCode::StoreUnavailable
            ) {
                tracing::warn!(code = %error.code(), "SSO sign-in failed");
            }
            back(config, Some(error.code()))
        }
    };
    cookies::clear_sso_flow(&mut response, config);
    response
}
