//! The ready JSON API under `/auth`, one router per domain, and `/openapi.json` generated
//! from the handlers of the domains served.
//!
//! Handlers are thin: they parse the request, call one service with the caller, and map
//! the result; every decision (who may do what) is the service's.

mod account;
pub(crate) mod api_keys;
mod auth;
pub(crate) mod core;
mod document;
mod dto;
pub(crate) mod groups;
pub(crate) mod passkeys;
pub(crate) mod scim_admin;
mod sessions;
pub(crate) mod sso;
#[cfg(feature = "oidc")]
mod sso_oidc;
#[cfg(feature = "saml")]
mod sso_saml;
#[cfg(any(feature = "oidc", feature = "saml"))]
pub(crate) mod sso_sign_in;
pub(crate) mod totp;

use std::time::Duration;

use auth_core::{Auth, CoreStore, RequestMeta};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

pub use dto::*;

use crate::error::ApiError;
use crate::meta::{REQUEST_ID, request_meta};
use crate::principal::auth_state;
use crate::state::AuthState;

/// One domain of the JSON API: its routes (with their state) and its OpenAPI paths.
pub(crate) struct Domain {
    /// The domain's name (`core`, `organizations`, `api_keys`, `totp`, `passkeys`, `sso`).
    pub(crate) name: &'static str,
    /// The routes over the state's `Auth`; `None` if the state is over another store.
    pub(crate) routes: fn(&AuthState) -> Option<Router>,
    /// The OpenAPI paths of those routes.
    pub(crate) doc: fn() -> utoipa::openapi::OpenApi,
}

/// The state of the API's handlers: the typed `Auth` and the erased state.
pub(crate) struct Api<S> {
    pub(crate) auth: Auth<S>,
    pub(crate) state: AuthState,
}

impl<S: CoreStore> Api<S> {
    /// The handlers' state over `state`, if it was built over store `S`.
    pub(crate) fn of(state: &AuthState) -> Option<Self> {
        Some(Self {
            auth: state.auth::<S>()?.clone(),
            state: state.clone(),
        })
    }
}

impl<S> Clone for Api<S> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S> FromRef<Api<S>> for AuthState {
    fn from_ref(api: &Api<S>) -> Self {
        api.state.clone()
    }
}

/// The request's metadata (client address, user agent, request id). Who acts is the
/// caller's business: handlers pass it to the services, which record it.
pub(crate) struct Meta(pub(crate) RequestMeta);

impl<St> FromRequestParts<St> for Meta
where
    St: Send + Sync,
    AuthState: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let auth = auth_state(parts, state)?;
        let config = auth.config().ok_or_else(ApiError::not_configured)?;
        Ok(Meta(request_meta(parts, config)))
    }
}

/// The OpenAPI document of the whole JSON API (every domain), as served for a complete
/// store; [`AuthState::openapi`] gives the document of what a state serves.
pub struct ApiDoc;

impl OpenApi for ApiDoc {
    fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = core::Doc::openapi();
        doc.merge(groups::Doc::openapi());
        doc.merge(api_keys::Doc::openapi());
        doc.merge(totp::Doc::openapi());
        doc.merge(passkeys::Doc::openapi());
        doc.merge(sso::Doc::openapi());
        doc.merge(scim_admin::Doc::openapi());
        #[cfg(any(feature = "oidc", feature = "saml"))]
        doc.merge(sso_sign_in::doc());
        finish(&mut doc, "__Host-session");
        doc
    }
}

/// The OpenAPI document of the domains `state` serves.
pub(crate) fn openapi(state: &AuthState) -> utoipa::openapi::OpenApi {
    let Some(inner) = state.inner() else {
        return core::Doc::openapi();
    };
    let mut domains = inner.domains.iter();
    let mut doc = domains
        .next()
        .map_or_else(core::Doc::openapi, |first| (first.doc)());
    for domain in domains {
        doc.merge((domain.doc)());
    }
    finish(&mut doc, inner.config.cookie_name());
    doc
}

/// The document's title, security schemes, shared answers and links.
fn finish(doc: &mut utoipa::openapi::OpenApi, cookie_name: &str) {
    secure(doc, cookie_name);
    document::complete(doc);
}

/// Declares the three ways to authenticate (the cookie under the name this state uses).
fn secure(doc: &mut utoipa::openapi::OpenApi, cookie_name: &str) {
    use utoipa::openapi::security::{
        ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
    };
    doc.info.title = "auth-rs JSON API".into();
    doc.info.description = Some(
        "Sign-up, sign-in, sessions, your account, and (where served) API keys, \
         organizations and invites, passkeys, TOTP and recovery codes, the MFA challenge, \
         organizations' SSO connections and domains. \
         Errors are `{\"error\": {\"code\", \"message\"}}` with a \
         stable code."
            .into(),
    );
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(
            crate::principal::API_KEY_HEADER.as_str(),
        ))),
    );
    components.add_security_scheme(
        "cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(cookie_name))),
    );
    components.schemas.insert(
        "ErrorBody".into(),
        <crate::error::ErrorBody as utoipa::PartialSchema>::schema(),
    );
}

/// The JSON API of the domains `state` serves, with `/openapi.json`, the request-id,
/// body-limit, no-store and CORS layers, and the state's [`AuthLayer`](crate::AuthLayer).
pub(crate) fn router(state: &AuthState) -> Router {
    let Some(inner) = state.inner() else {
        return Router::new();
    };
    let config = &inner.config;
    let mut routes = Router::new();
    for domain in &inner.domains {
        if let Some(domain_routes) = (domain.routes)(state) {
            routes = routes.merge(domain_routes);
        }
    }
    let document = Bytes::from(serde_json::to_vec(&openapi(state)).unwrap_or_default());
    let routes = routes
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .method_not_allowed_fallback(crate::error::method_not_allowed);
    let router = routes
        .layer(DefaultBodyLimit::max(config.body_limit))
        // Responses are per user (and some carry tokens): never cached.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(state.layer());
    let mut router = crate::meta::with_request_ids(router);
    if !config.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    crate::principal::API_KEY_HEADER,
                    REQUEST_ID,
                ])
                .expose_headers([REQUEST_ID, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
                .max_age(Duration::from_secs(600)),
        );
    }
    router
}
