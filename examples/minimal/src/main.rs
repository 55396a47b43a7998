//! The smallest app: the JSON API under /auth and one route that needs a signed-in user.
//!
//! Run `cargo run -p example-minimal`, then:
//!   curl -c jar -H 'content-type: application/json' -H 'origin: http://127.0.0.1:3001' \
//!     -d '{"email":"me@example.com","password":"correct horse battery"}' \
//!     http://127.0.0.1:3001/auth/sign-up
//!   curl -b jar http://127.0.0.1:3001/hello

use auth_axum::{AuthState, CurrentUser, HttpConfig};
use auth_core::{Auth, SecretKey};
use auth_memory::MemoryStore;
use axum::{Router, routing::get};

const ORIGIN: &str = "http://127.0.0.1:3001";

/// The app: `/hello` answers signed-in users only (401 otherwise).
fn app() -> Result<Router, Box<dyn std::error::Error>> {
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .build()?;
    let state = AuthState::new(auth, HttpConfig::localhost(ORIGIN)?);
    Ok(Router::new()
        .route("/hello", get(hello))
        .merge(state.router())
        .layer(state.layer()))
}

async fn hello(me: CurrentUser) -> String {
    format!("hello, {}\n", me.user.email)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("listening on {ORIGIN}: POST /auth/sign-up, then GET /hello");
    axum::serve(listener, app()?).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
