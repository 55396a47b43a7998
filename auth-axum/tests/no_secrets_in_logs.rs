//! No password, token, key or code reaches a log line, through the HTTP layer. Every HTTP
//! test runs under the secret ledger of `common` (TRACE logs and response bodies searched
//! for every secret an app saw); this one walks the API's secret-bearing flows in one app
//! and names the secrets it expects covered, and two more show the ledger can fail.

mod common;

use auth_core::Purpose;
use axum::http::StatusCode;
use common::*;
use serde_json::json;

#[tokio::test]
async fn no_secret_reaches_the_logs_through_http() {
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

    // Every secret above was noted by the app's ledger as it was issued or presented;
    // its drop searches the TRACE log. Say here, too, which ones this flow must cover.
    let logs = app.log();
    assert!(logs.contains("request"), "the request spans were captured");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
}

/// The ledger can fail: a secret written to the log is found when the app is dropped.
#[tokio::test]
#[should_panic(expected = "a log line holds a secret")]
async fn a_secret_in_a_log_line_is_found() {
    let app = TestApp::new();
    let a = app.sign_up("logged@example.com").await;
    tracing::trace!(token = %a.token, "a careless line");
}

/// The ledger can fail: a response that repeats a password it was sent is refused.
#[tokio::test]
#[should_panic(expected = "a response body repeats a secret")]
async fn a_response_repeating_a_secret_is_found() {
    let mut app = TestApp::new();
    app.app = app.app.clone().route(
        "/echo",
        axum::routing::post(|body: String| async move { body }),
    );
    app.send(post("/echo").json(json!({ "password": "a long enough password" })))
        .await;
}
