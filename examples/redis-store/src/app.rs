//! An axum app over the core-only Redis store: the core's JSON API under `/auth` and one
//! route for signed-in users.

use auth_axum::{AuthState, CurrentUser, HttpConfig};
use auth_core::{Auth, AuthConfig, SecretKey};
use axum::Router;
use axum::routing::get;

use crate::RedisStore;

/// The origin the example serves (`main.rs` binds it).
pub const ORIGIN: &str = "http://127.0.0.1:3000";

/// The app: the core's routes (sign-up, sign-in, sign-out, sessions, the account) from
/// [`AuthState::builder`] (a core-only store gets no group or API-key routes), and
/// `GET /me/greeting`, which answers signed-in users only (401 otherwise).
pub fn app(
    store: RedisStore,
    key: SecretKey,
    config: AuthConfig,
) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    let auth = Auth::builder(store)
        .secret_key(key)
        .config(config)
        .build()?;
    let state = AuthState::builder(auth, HttpConfig::localhost(ORIGIN)?).build();
    Ok(Router::new()
        .route("/me/greeting", get(greeting))
        .merge(state.router())
        .layer(state.layer()))
}

/// `GET /me/greeting`: the signed-in user's email.
async fn greeting(me: CurrentUser) -> String {
    format!("hello, {}\n", me.user.email)
}
