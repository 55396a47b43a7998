//! `/auth/passkeys`: register, sign in (discoverable, cookie and token mode), sign up,
//! list, rename, remove, and the refusals as HTTP answers, driven by the conformance
//! suite's software authenticator.

mod common;

use auth_core::conformance::passkeys::authenticator::{SoftAuthenticator, Tweak};
use auth_core::{AuthConfig, PasskeyConfig};
use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

/// Registers a passkey of `soft` for `client` over HTTP; returns the passkey's view.
async fn register(app: &TestApp, client: &Client, soft: &SoftAuthenticator, name: &str) -> Value {
    let started = app
        .send(post("/auth/passkeys/register/start").bearer(&client.token))
        .await
        .expect(StatusCode::OK);
    let response = soft.register(&started["options"]);
    app.send(
        post("/auth/passkeys/register/finish")
            .bearer(&client.token)
            .json(json!({ "handle": started["handle"], "name": name, "response": response })),
    )
    .await
    .expect(StatusCode::CREATED)
}

/// Starts a discoverable sign-in and answers it with `soft` made faulty by `tweak`.
async fn sign_in(app: &TestApp, soft: &SoftAuthenticator, tweak: Tweak, mode: &str) -> Res {
    let started = app
        .send(post("/auth/passkeys/sign-in/start").json(json!({})))
        .await
        .expect(StatusCode::OK);
    assert_eq!(started["options"]["mediation"], "conditional");
    let response = soft.assert_with(&started["options"], tweak);
    app.send(
        post("/auth/passkeys/sign-in/finish")
            .origin(ORIGIN)
            .json(json!({ "handle": started["handle"], "response": response, "mode": mode })),
    )
    .await
}

#[tokio::test]
async fn register_list_then_sign_in_with_no_username_sets_the_cookie() {
    let app = TestApp::new();
    let ada = app.sign_up("ada@example.com").await;
    let soft = SoftAuthenticator::new();
    let view = register(&app, &ada, &soft, "laptop").await;
    assert_eq!(view["name"], "laptop");
    assert!(view.get("credential").is_none() && view.get("credential_id").is_none());

    let listed = app
        .send(get("/auth/passkeys").bearer(&ada.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], view["id"]);

    let res = sign_in(&app, &soft, Tweak::default(), "cookie").await;
    let body = res.expect(StatusCode::OK);
    assert_eq!(body["user"]["id"], ada.id.as_str());
    assert_eq!(body["session"]["aal"], "aal2");
    assert!(
        body.get("session_token").is_none(),
        "cookie mode: no token in the body"
    );
    let cookies = res.set_cookies();
    assert!(
        cookies.iter().any(|c| c.contains("HttpOnly")),
        "{cookies:?}"
    );

    let res = sign_in(&app, &soft, Tweak::default(), "token").await;
    let body = res.expect(StatusCode::OK);
    let token = body["session_token"].as_str().unwrap();
    let me = app
        .send(get("/auth/me").bearer(token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(me["user"]["id"], ada.id.as_str());
}

#[tokio::test]
async fn refusals_are_400_with_their_code_and_a_handle_works_once() {
    let app = TestApp::new();
    let bob = app.sign_up("bob@example.com").await;
    let soft = SoftAuthenticator::new();
    register(&app, &bob, &soft, "key").await;

    let wrong_origin = Tweak {
        origin: Some("https://evil.example".into()),
        ..Tweak::default()
    };
    let res = sign_in(&app, &soft, wrong_origin, "token").await;
    assert_error(&res, StatusCode::BAD_REQUEST, "PASSKEY_ORIGIN_MISMATCH");
    let tampered = Tweak {
        tamper_client_data: true,
        ..Tweak::default()
    };
    let res = sign_in(&app, &soft, tampered, "token").await;
    assert_error(&res, StatusCode::BAD_REQUEST, "PASSKEY_REJECTED");

    // One handle, two finishes: the second is refused.
    let started = app
        .send(post("/auth/passkeys/sign-in/start").json(json!({ "email": "bob@example.com" })))
        .await
        .expect(StatusCode::OK);
    let response = soft.assert(&started["options"]);
    let finish = || {
        post("/auth/passkeys/sign-in/finish")
            .json(json!({ "handle": started["handle"], "response": response, "mode": "token" }))
    };
    app.send(finish()).await.expect(StatusCode::OK);
    let res = app.send(finish()).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "CEREMONY_INVALID");

    // A cookie-mode sign-in from another origin is login CSRF.
    let started = app
        .send(post("/auth/passkeys/sign-in/start").json(json!({})))
        .await
        .expect(StatusCode::OK);
    let response = soft.assert(&started["options"]);
    let res = app
        .send(
            post("/auth/passkeys/sign-in/finish")
                .origin("https://evil.example")
                .json(json!({ "handle": started["handle"], "response": response })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "CSRF_REJECTED");

    // Registering the same credential again.
    let started = app
        .send(post("/auth/passkeys/register/start").bearer(&bob.token))
        .await
        .expect(StatusCode::OK);
    let again = soft.register_with(
        &started["options"],
        Tweak {
            credential: Some(soft.credentials()[0].id.clone()),
            ..Tweak::default()
        },
    );
    let res = app
        .send(
            post("/auth/passkeys/register/finish")
                .bearer(&bob.token)
                .json(json!({ "handle": started["handle"], "response": again })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "PASSKEY_ALREADY_REGISTERED");
}

#[tokio::test]
async fn passkey_sign_up_then_rename_and_the_last_one_stays() {
    let app = TestApp::new();
    let soft = SoftAuthenticator::new();
    let started = app
        .send(
            post("/auth/passkeys/sign-up/start")
                .json(json!({ "email": "cy@example.com", "name": "Cy" })),
        )
        .await
        .expect(StatusCode::OK);
    let response = soft.register(&started["options"]);
    let body = app
        .send(
            post("/auth/passkeys/sign-up/finish").json(
                json!({ "handle": started["handle"], "response": response, "mode": "token" }),
            ),
        )
        .await
        .expect(StatusCode::CREATED);
    let token = body["session_token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["email"], "cy@example.com");
    let res = app
        .send(post("/auth/passkeys/sign-up/start").json(json!({ "email": "cy@example.com" })))
        .await;
    assert_error(&res, StatusCode::CONFLICT, "EMAIL_IN_USE");

    let listed = app
        .send(get("/auth/passkeys").bearer(&token))
        .await
        .expect(StatusCode::OK);
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let renamed = app
        .send(
            patch(&format!("/auth/passkeys/{id}"))
                .bearer(&token)
                .json(json!({ "name": "phone" })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(renamed["name"], "phone");
    let res = app
        .send(delete(&format!("/auth/passkeys/{id}")).bearer(&token))
        .await;
    assert_error(&res, StatusCode::CONFLICT, "LAST_SIGN_IN_METHOD");
    let other = app.sign_up("other@example.com").await;
    let res = app
        .send(delete(&format!("/auth/passkeys/{id}")).bearer(&other.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "PASSKEY_NOT_FOUND");
    let res = app
        .send(delete(&format!("/auth/passkeys/{}", unknown_id())).bearer(&token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "PASSKEY_NOT_FOUND");
}

#[tokio::test]
async fn without_a_relying_party_no_passkey_route_is_mounted() {
    let mut config = AuthConfig::insecure_for_tests();
    config.passkeys = None;
    let auth = auth_core::Auth::builder(auth_memory::MemoryStore::new())
        .secret_key(auth_core::SecretKey::generate())
        .config(config)
        .build()
        .unwrap();
    let state = auth_axum::AuthState::new(auth, auth_axum::HttpConfig::localhost(ORIGIN).unwrap());
    let doc = serde_json::to_value(state.openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| !p.starts_with("/auth/passkeys")));
    let res = send(
        &state.router(),
        post("/auth/passkeys/sign-in/start").json(json!({})),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // A relying party the builder refuses: an IP-address origin.
    let mut config = AuthConfig::insecure_for_tests();
    config.passkeys = Some(PasskeyConfig::new(
        "127.0.0.1",
        "x",
        ["http://127.0.0.1:3000"],
    ));
    assert!(
        auth_core::Auth::builder(auth_memory::MemoryStore::new())
            .secret_key(auth_core::SecretKey::generate())
            .config(config)
            .build()
            .is_err()
    );
}
