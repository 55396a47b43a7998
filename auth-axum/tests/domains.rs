//! A state serves exactly the domains it was built with: routes, OpenAPI paths, guards,
//! and API keys as credentials.

mod common;

use auth_axum::{AuthState, HttpConfig, Principal, require_member};
use auth_core::{Auth, AuthConfig, SecretKey};
use auth_memory::MemoryStore;
use axum::Router;
use axum::http::StatusCode;
use axum::routing;
use common::*;
use serde_json::json;

/// An app whose state serves the core only (over a store that has every domain, so the
/// domains really come from the builder).
fn core_only() -> (Router, AuthState) {
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .build()
        .unwrap();
    let state = AuthState::builder(auth, HttpConfig::localhost(ORIGIN).unwrap()).build();
    let guarded = Router::new()
        .route(
            "/groups/{gid}/member",
            routing::get(|_: Principal| async { "ok" }),
        )
        .route_layer(require_member("gid", &[]))
        .layer(state.layer());
    (state.router().merge(guarded), state)
}

#[tokio::test]
async fn a_core_only_state_serves_the_core_and_nothing_else() {
    let (app, state) = core_only();
    // The core works: sign up, the signed-in user, sign out.
    let res = send(
        &app,
        post("/auth/sign-up").json(json!({
            "email": "ada@example.com", "password": PASSWORD, "mode": "token"
        })),
    )
    .await;
    let body = res.expect(StatusCode::CREATED);
    let token = str_of(&body["session_token"]);
    send(&app, get("/auth/me").bearer(&token))
        .await
        .expect(StatusCode::OK);
    // The other domains' routes are not there.
    for (path, method) in [
        ("/auth/groups", "POST"),
        ("/auth/api-keys", "GET"),
        ("/auth/mfa/totp", "POST"),
        ("/auth/mfa/recovery-codes", "POST"),
    ] {
        let res = send(
            &app,
            req(method.parse().unwrap(), path)
                .bearer(&token)
                .json(json!({"name": "x"})),
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    // Nor in the OpenAPI document.
    let doc = serde_json::to_value(state.openapi()).unwrap();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert!(
        paths.iter().any(|p| p.as_str() == "/auth/sign-in"),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.starts_with("/auth/groups")
            || p.starts_with("/auth/api-keys")
            || p.starts_with("/auth/mfa")),
        "{paths:?}"
    );
    // A group guard cannot decide without organizations: refused, never let through.
    let res = send(
        &app,
        get(&format!("/groups/{}/member", unknown_id())).bearer(&token),
    )
    .await;
    assert_error(&res, StatusCode::INTERNAL_SERVER_ERROR, "NOT_CONFIGURED");
    // Without the API-key domain a key is not a credential.
    let res = send(&app, get("/auth/me").api_key("sk_not_served_here")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
}

#[tokio::test]
async fn a_full_state_serves_every_domain() {
    let app = TestApp::new();
    let doc = serde_json::to_value(app.state.openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/auth/sign-in",
        "/auth/groups",
        "/auth/api-keys",
        "/auth/mfa/totp",
        "/auth/mfa/totp/confirm",
        "/auth/mfa/recovery-codes",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
    // The document names the cookie as the state does (plain http localhost: `session`).
    assert_eq!(
        doc["components"]["securitySchemes"]["cookie"]["name"],
        "session"
    );
}
