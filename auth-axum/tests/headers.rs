//! Every answer that carries a token, key or code says `Cache-Control: no-store`, so no
//! browser or shared cache keeps it.

mod common;

use auth_core::Purpose;
use axum::http::StatusCode;
use common::*;
use serde_json::json;

fn assert_no_store(res: &Res, what: &str) {
    assert_eq!(res.header("cache-control"), Some("no-store"), "{what}");
}

#[tokio::test]
async fn responses_carrying_credentials_are_never_cached() {
    let app = TestApp::new();
    let sign_up = app
        .send(post("/auth/sign-up").json(json!({
            "email": "a@example.com", "password": PASSWORD, "mode": "token"
        })))
        .await;
    let body = sign_up.expect(StatusCode::CREATED);
    assert!(body["session_token"].is_string());
    assert_no_store(&sign_up, "sign-up (tokens)");

    let sign_in = app
        .send(
            post("/auth/sign-in")
                .origin(ORIGIN)
                .json(json!({ "email": "a@example.com", "password": PASSWORD })),
        )
        .await;
    sign_in.expect(StatusCode::OK);
    assert!(!sign_in.set_cookies().is_empty());
    assert_no_store(&sign_in, "sign-in (cookie)");

    let refresh = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": body["refresh_token"] })))
        .await;
    let refreshed = refresh.expect(StatusCode::OK);
    assert_no_store(&refresh, "refresh");
    let token = str_of(&refreshed["session_token"]);

    let key = app
        .send(
            post("/auth/api-keys")
                .bearer(&token)
                .json(json!({ "name": "k", "scopes": ["data:read"] })),
        )
        .await;
    assert!(key.expect(StatusCode::CREATED)["secret"].is_string());
    assert_no_store(&key, "API key");

    let group = app
        .group(&client_of(&token), json!({ "name": "Acme" }))
        .await;
    let invite = app
        .send(
            post(&format!("/auth/groups/{group}/invites"))
                .bearer(&token)
                .json(json!({})),
        )
        .await;
    assert!(invite.expect(StatusCode::CREATED)["token"].is_string());
    assert_no_store(&invite, "invite");

    app.send(post("/auth/sign-in/email/send").json(json!({ "email": "a@example.com" })))
        .await;
    let code = app.code("a@example.com", Purpose::SignIn);
    let by_code = app
        .send(post("/auth/sign-in/email").json(json!({
            "email": "a@example.com", "code": code, "mode": "token"
        })))
        .await;
    assert!(by_code.expect(StatusCode::OK)["session_token"].is_string());
    assert_no_store(&by_code, "sign-in by emailed code");
}

/// A client with only a token (what `TestApp::group` needs).
fn client_of(token: &str) -> Client {
    Client {
        id: String::new(),
        email: String::new(),
        token: token.to_owned(),
        refresh: String::new(),
        session_id: String::new(),
    }
}
