//! The ready JSON API under `/auth`, and `/openapi.json` generated from the handlers.

mod api_keys;
mod auth;
mod dto;
mod groups;
mod sessions;

use std::time::Duration;

use auth_core::{Auth, RequestMeta, Store};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{delete, get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

pub use dto::*;

use crate::error::ApiError;
use crate::meta::{REQUEST_ID, request_meta};
use crate::principal::{auth_state, resolved};
use crate::state::AuthState;

/// The state of the API's handlers: the typed `Auth` and the erased state.
pub(crate) struct Api<S> {
    pub(crate) auth: Auth<S>,
    pub(crate) state: AuthState,
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

/// The request's metadata, with the principal (if one was resolved) as actor.
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
        // Anonymous routes: only a principal some earlier extractor resolved counts (no
        // credential is verified here: that would spend an API key's rate limit, touch a
        // session, or audit a failure on routes that take no credential).
        let meta = request_meta(parts, config);
        Ok(Meta(match resolved(parts) {
            Some(p) => meta.with_actor(p.actor()),
            None => meta,
        }))
    }
}

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "auth-rs JSON API",
        description = "Sign-up, sign-in, sessions, API keys, organizations and invites. \
            Errors are `{\"error\": {\"code\", \"message\"}}` with a stable code."
    ),
    paths(
        auth::sign_up,
        auth::sign_in,
        auth::sign_out,
        auth::refresh,
        auth::send_verification,
        auth::verify_email,
        auth::forgot_password,
        auth::reset_password,
        auth::me,
        sessions::list_sessions,
        sessions::revoke_session,
        sessions::revoke_others,
        api_keys::create_key,
        api_keys::list_keys,
        api_keys::get_key,
        api_keys::update_key,
        api_keys::delete_key,
        api_keys::revoke_key,
        api_keys::rotate_key,
        groups::create_group,
        groups::list_my_groups,
        groups::get_group,
        groups::update_group,
        groups::delete_group,
        groups::list_members,
        groups::add_member,
        groups::update_member,
        groups::remove_member,
        groups::list_invites,
        groups::create_invite,
        groups::revoke_invite,
        groups::accept_invite,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Sign-up, sign-in, email codes, passwords"),
        (name = "sessions", description = "Your sessions"),
        (name = "api-keys", description = "API keys"),
        (name = "groups", description = "Organizations, members, invites"),
    )
)]
pub struct ApiDoc;

/// Declares the two ways to authenticate.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(
                crate::principal::API_KEY_HEADER,
            ))),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("__Host-session"))),
        );
    }
}

/// Builds the JSON API over `Auth<S>` (called through [`AuthState::router`]).
pub(crate) fn router<S: Store>(state: &AuthState) -> Router {
    let Some(auth) = state.auth::<S>().cloned() else {
        return Router::new();
    };
    let Some(config) = state.config() else {
        return Router::new();
    };
    let api = Api {
        auth,
        state: state.clone(),
    };
    let routes = Router::new()
        .route("/auth/sign-up", post(auth::sign_up::<S>))
        .route("/auth/sign-in", post(auth::sign_in::<S>))
        .route("/auth/sign-out", post(auth::sign_out::<S>))
        .route("/auth/refresh", post(auth::refresh::<S>))
        .route("/auth/verify-email", post(auth::verify_email::<S>))
        .route(
            "/auth/verify-email/send",
            post(auth::send_verification::<S>),
        )
        .route("/auth/password/forgot", post(auth::forgot_password::<S>))
        .route("/auth/password/reset", post(auth::reset_password::<S>))
        .route("/auth/me", get(auth::me))
        .route("/auth/sessions", get(sessions::list_sessions::<S>))
        .route(
            "/auth/sessions/revoke-others",
            post(sessions::revoke_others::<S>),
        )
        .route("/auth/sessions/{id}", delete(sessions::revoke_session::<S>))
        .route(
            "/auth/api-keys",
            post(api_keys::create_key::<S>).get(api_keys::list_keys::<S>),
        )
        .route(
            "/auth/api-keys/{id}",
            get(api_keys::get_key::<S>)
                .patch(api_keys::update_key::<S>)
                .delete(api_keys::delete_key::<S>),
        )
        .route(
            "/auth/api-keys/{id}/revoke",
            post(api_keys::revoke_key::<S>),
        )
        .route(
            "/auth/api-keys/{id}/rotate",
            post(api_keys::rotate_key::<S>),
        )
        .route(
            "/auth/groups",
            post(groups::create_group::<S>).get(groups::list_my_groups::<S>),
        )
        .route(
            "/auth/groups/{id}",
            get(groups::get_group::<S>)
                .patch(groups::update_group::<S>)
                .delete(groups::delete_group::<S>),
        )
        .route(
            "/auth/groups/{id}/members",
            get(groups::list_members::<S>).post(groups::add_member::<S>),
        )
        .route(
            "/auth/groups/{id}/members/{member_id}",
            axum::routing::patch(groups::update_member::<S>).delete(groups::remove_member::<S>),
        )
        .route(
            "/auth/groups/{id}/invites",
            get(groups::list_invites::<S>).post(groups::create_invite::<S>),
        )
        .route(
            "/auth/invites/{id}/revoke",
            post(groups::revoke_invite::<S>),
        )
        .route("/auth/invites/accept", post(groups::accept_invite::<S>))
        .route("/openapi.json", get(openapi))
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        .with_state(api);
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
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    axum::http::HeaderName::from_static(crate::principal::API_KEY_HEADER),
                    REQUEST_ID,
                ])
                .expose_headers([REQUEST_ID, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
                .max_age(Duration::from_secs(600)),
        );
    }
    router
}

/// `GET /openapi.json`.
async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
