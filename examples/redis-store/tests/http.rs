//! The axum app over the core-only Redis store, driven with `tower::ServiceExt::oneshot`:
//! sign-up, the guarded route, sign-out, sign-in. Skipped (saying so) without
//! `AUTH_TEST_REDIS_URL`.

mod common;

use auth_core::{AuthConfig, SecretKey};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use example_redis_store::app::{ORIGIN, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

/// Sends one request; returns the status and the body as JSON (`Null` when empty).
async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

fn post_json(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn with_bearer(method: &str, path: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_guarded_route_sign_out_and_sign_in_over_redis() {
    if std::env::var_os(common::VAR).is_none() {
        eprintln!(
            "SKIPPED http::sign_up_guarded_route_sign_out_and_sign_in_over_redis: set {} to run it",
            common::VAR
        );
        return;
    }
    let store = common::fresh_store().await;
    let app = app(
        store.clone(),
        SecretKey::generate(),
        AuthConfig::insecure_for_tests(),
    )
    .unwrap();
    let credentials = json!({"email": "ada@example.com", "password": PASSWORD, "mode": "token"});

    // Signed out: the guarded route refuses.
    let (status, _) = send(
        &app,
        Request::get("/me/greeting").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Sign up: a session at once.
    let (status, body) = send(&app, post_json("/auth/sign-up", &credentials)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    let (status, body) = send(&app, with_bearer("GET", "/me/greeting", &token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Value::String("hello, ada@example.com\n".into()));

    // The same email again is refused.
    let (status, body) = send(&app, post_json("/auth/sign-up", &credentials)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "EMAIL_IN_USE");

    // The session lives in Redis, expiring with the session.
    let mut conn = redis::Client::open(std::env::var(common::VAR).unwrap())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}session:*", store.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let session_key = keys.iter().find(|k| !k.ends_with(":refresh")).unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(session_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl > 0,
        "a session key expires with the session, PTTL {ttl}"
    );

    // Sign out: the token stops working.
    let (status, _) = send(&app, {
        let mut request = with_bearer("POST", "/auth/sign-out", &token);
        request
            .headers_mut()
            .insert(header::ORIGIN, ORIGIN.parse().unwrap());
        request
    })
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&app, with_bearer("GET", "/me/greeting", &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Sign in: a new session that works; a wrong password does not.
    let (status, body) = send(&app, post_json("/auth/sign-in", &credentials)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = body["session_token"].as_str().unwrap().to_owned();
    assert_ne!(again, token);
    let (status, _) = send(&app, with_bearer("GET", "/me/greeting", &again)).await;
    assert_eq!(status, StatusCode::OK);
    let wrong =
        json!({"email": "ada@example.com", "password": "not the password", "mode": "token"});
    let (status, body) = send(&app, post_json("/auth/sign-in", &wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "INVALID_CREDENTIALS");

    // A core-only store serves no group or API-key routes.
    let (status, _) = send(&app, with_bearer("GET", "/auth/api-keys", &again)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    store.clear().await.unwrap();
}
