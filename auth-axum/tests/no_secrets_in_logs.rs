//! No password, token, key or code reaches a log line, through the HTTP layer: every
//! tracing event at TRACE level (the request spans, the auth services, error logging) is
//! captured while a user goes through the API's flows, then searched for each secret.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use auth_core::Purpose;
use axum::http::StatusCode;
use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_through_http() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let app = TestApp::new();
    let mut secrets = vec![PASSWORD.to_owned()];

    let a = app.sign_up("leak@example.com").await;
    secrets.extend([a.token.clone(), a.refresh.clone()]);
    let wrong = format!("{PASSWORD}-wrong");
    let res = app
        .send(post("/auth/sign-in").json(json!({ "email": "leak@example.com", "password": wrong })))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    secrets.push(wrong);

    let refreshed = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": a.refresh })))
        .await
        .expect(StatusCode::OK);
    let token = refreshed["session_token"].as_str().unwrap().to_owned();
    secrets.extend([
        token.clone(),
        refreshed["refresh_token"].as_str().unwrap().into(),
    ]);
    // The old refresh token again: reuse, the session is revoked (and logged as such).
    let res = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": a.refresh })))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_REUSED");

    let b = app.sign_in("leak@example.com").await;
    secrets.extend([b.token.clone(), b.refresh.clone()]);
    let (_, key) = app
        .key(&b, json!({ "name": "k", "scopes": ["data:read"] }))
        .await;
    app.send(get("/scoped").api_key(&key))
        .await
        .expect(StatusCode::OK);
    // The last character changed (to one it is not: a key ending in `x` stays a typo).
    let typo = if key.ends_with('x') { 'y' } else { 'x' };
    let mistyped = format!("{}{typo}", &key[..key.len() - 1]);
    let res = app.send(get("/scoped").api_key(&mistyped)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
    secrets.extend([key, mistyped]);

    let group = app.group(&b, json!({ "name": "Org" })).await;
    let invite = app
        .send(
            post(&format!("/auth/groups/{group}/invites"))
                .bearer(&b.token)
                .json(json!({ "role": "member" })),
        )
        .await
        .expect(StatusCode::CREATED);
    let invite_token = invite["token"].as_str().unwrap().to_owned();
    let c = app.sign_up("invited@example.com").await;
    secrets.extend([c.token.clone(), c.refresh.clone(), invite_token.clone()]);
    app.send(
        post("/auth/invites/accept")
            .bearer(&c.token)
            .json(json!({ "token": invite_token })),
    )
    .await
    .expect(StatusCode::OK);
    let res = app
        .send(
            post("/auth/invites/accept")
                .bearer(&c.token)
                .json(json!({ "token": invite_token })),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);

    app.send(post("/auth/password/forgot").json(json!({ "email": "leak@example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("leak@example.com", Purpose::ResetPassword);
    let new_password = "a-new-Secret-passphrase-7";
    app.send(post("/auth/password/reset").json(json!({
        "email": "leak@example.com", "code": code, "password": new_password
    })))
    .await
    .expect(StatusCode::OK);
    secrets.extend([code, new_password.to_owned()]);

    let signed_in = app
        .send(post("/auth/sign-in").json(json!({
            "email": "leak@example.com", "password": new_password, "mode": "token"
        })))
        .await
        .expect(StatusCode::OK);
    secrets.push(signed_in["session_token"].as_str().unwrap().into());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "the request spans were captured");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
}
