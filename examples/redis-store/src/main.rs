//! Serves the core-only app over Redis on 127.0.0.1:3000.
//!
//! `REDIS_URL` names the server (default `redis://127.0.0.1:6379`), `AUTH_SECRET_KEY` the
//! app key (base64, 32 bytes or more; a fresh one per start when unset, which signs
//! everyone out on restart). Then:
//!   curl -c jar -H 'content-type: application/json' -H 'origin: http://127.0.0.1:3000' \
//!     -d '{"email":"me@example.com","password":"correct horse battery"}' \
//!     http://127.0.0.1:3000/auth/sign-up
//!   curl -b jar http://127.0.0.1:3000/me/greeting

use auth_core::{AuthConfig, SecretKey};
use example_redis_store::RedisStore;
use example_redis_store::app::{ORIGIN, app};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let store = RedisStore::connect(&url, "auth:").await?;
    let key = match std::env::var("AUTH_SECRET_KEY") {
        Ok(text) => SecretKey::from_base64(&text)?,
        Err(_) => SecretKey::generate(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on {ORIGIN}: POST /auth/sign-up, then GET /me/greeting");
    axum::serve(listener, app(store, key, AuthConfig::default())?).await?;
    Ok(())
}
