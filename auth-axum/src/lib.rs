//! # auth-axum
//!
//! axum integration for `auth-core`:
//!
//! - [`AuthState`]: the `Auth`, the domains its store implements, and the [`HttpConfig`];
//! - extractors: [`MaybeUser`], [`CurrentUser`], [`CurrentSession`], [`ApiKeyPrincipal`],
//!   [`Principal`] (session cookie, `Authorization: Bearer` session token or API key, or
//!   `x-api-key`);
//! - route guards: [`require_scope`], [`require_member`], [`require_permission`],
//!   [`require_aal2`], [`require_recent_sign_in`], [`require_signed_in`]; and
//!   [`AuthState::guard`], one layer that carries the state and guards;
//! - [`AuthState::router`]: the JSON API of those domains under `/auth`, and
//!   `/openapi.json`.
//!
//! ```no_run
//! use auth_axum::{AuthState, CurrentUser, HttpConfig, require_scope};
//! use axum::{Router, routing::get};
//! # async fn demo(auth: auth_core::Auth<auth_memory::MemoryStore>) {
//! let state = AuthState::new(auth, HttpConfig::new("https://app.example.com").unwrap());
//! let app: Router = Router::new()
//!     .route("/api/data", get(|user: CurrentUser| async move { user.user.email.to_string() }))
//!     .route_layer(require_scope("data", "read").unwrap())
//!     .merge(state.router())
//!     .layer(state.layer());
//! # }
//! ```
//!
//! Errors are `{"error": {"code": "...", "message": "..."}}` with the stable codes of
//! `auth-core`, `WWW-Authenticate` on `401` and `403 insufficient_scope` (RFC 6750),
//! `Retry-After` on `429` and `503`.

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod body;
mod config;
mod cookies;
mod error;
mod guard;
mod layer;
mod meta;
mod principal;
mod proxy;
mod routes;
pub mod scim;
mod state;

pub use body::{ApiJson, ApiQuery};
pub use config::HttpConfig;
pub use error::{ApiError, ErrorBody, ErrorDetail, method_not_allowed, not_found, status_of};
pub use guard::{
    Checked, Require, RequireService, require_aal2, require_member, require_permission,
    require_recent_sign_in, require_scope, require_signed_in,
};
pub use layer::{AuthLayer, AuthService};
pub use meta::{REQUEST_ID, with_request_ids};
pub use principal::{ApiKeyPrincipal, CurrentSession, CurrentUser, MaybeUser, Principal, Via};
pub use proxy::TrustedProxies;
pub use routes::ApiDoc;
pub use state::{AuthState, AuthStateBuilder};
