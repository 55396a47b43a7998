//! The signed-in user's own account: password change, profile, email change, deletion,
//! linked accounts, sign-in by emailed code or link.

mod common;

use auth_core::Purpose;
use axum::http::StatusCode;
use common::*;
use serde_json::json;

/// The value of the one session cookie `res` sets.
fn cookie_of(res: &Res) -> String {
    let cookies = res.set_cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let first = cookies[0].split(';').next().unwrap();
    first.strip_prefix("session=").unwrap().to_owned()
}

// --- password change -------------------------------------------------------------------

#[tokio::test]
async fn password_change_ends_other_sessions_and_replaces_the_current_one() {
    let app = TestApp::new();
    let me = app.sign_up("pw@example.com").await;
    let other = app.sign_in("pw@example.com").await;
    let res = app
        .send(post("/auth/password/change").bearer(&me.token).json(json!({
            "current_password": PASSWORD, "new_password": "a brand new passphrase"
        })))
        .await;
    let body = res.expect(StatusCode::OK);
    assert!(res.set_cookies().is_empty());
    let fresh = str_of(&body["session_token"]);
    assert!(!res.text().contains("a brand new passphrase"));
    for old in [&me.token, &other.token] {
        let r = app.send(get("/auth/me").bearer(old)).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    }
    app.send(get("/auth/me").bearer(&fresh))
        .await
        .expect(StatusCode::OK);
    // The new password signs in, the old one does not.
    let old = app
        .send(post("/auth/sign-in").json(json!({
            "email": "pw@example.com", "password": PASSWORD, "mode": "token"
        })))
        .await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    app.send(post("/auth/sign-in").json(json!({
        "email": "pw@example.com", "password": "a brand new passphrase", "mode": "token"
    })))
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn password_change_from_a_browser_sets_a_new_cookie() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-up").json(json!({ "email": "c@example.com", "password": PASSWORD })))
        .await;
    res.expect(StatusCode::CREATED);
    let cookie = cookie_of(&res);
    // Without the app's origin the cookie does not count.
    let csrf = app
        .send(post("/auth/password/change").cookie(&cookie).json(json!({
            "current_password": PASSWORD, "new_password": "a brand new passphrase"
        })))
        .await;
    assert_error(&csrf, StatusCode::FORBIDDEN, "CSRF_REJECTED");
    let res = app
        .send(
            post("/auth/password/change")
                .cookie(&cookie)
                .origin(ORIGIN)
                .json(json!({
                    "current_password": PASSWORD, "new_password": "a brand new passphrase"
                })),
        )
        .await;
    let body = res.expect(StatusCode::OK);
    assert!(body.get("session_token").is_none());
    let fresh = cookie_of(&res);
    assert_ne!(fresh, cookie);
    let old = app.send(get("/auth/me").cookie(&cookie)).await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    app.send(get("/auth/me").cookie(&fresh))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn password_change_refusals_are_typed() {
    let app = TestApp::new();
    let me = app.sign_up("r@example.com").await;
    let wrong = app
        .send(post("/auth/password/change").bearer(&me.token).json(json!({
            "current_password": "not my password", "new_password": "a brand new passphrase"
        })))
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    let missing = app
        .send(
            post("/auth/password/change")
                .bearer(&me.token)
                .json(json!({ "new_password": "a brand new passphrase" })),
        )
        .await;
    assert_error(&missing, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    let weak = app
        .send(post("/auth/password/change").bearer(&me.token).json(json!({
            "current_password": PASSWORD, "new_password": "short"
        })))
        .await;
    assert_error(&weak, StatusCode::UNPROCESSABLE_ENTITY, "WEAK_PASSWORD");
    let bad = app
        .send(
            post("/auth/password/change")
                .bearer(&me.token)
                .json(json!({ "new_password": 5 })),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    let anonymous = app
        .send(post("/auth/password/change").json(json!({
            "current_password": PASSWORD, "new_password": "a brand new passphrase"
        })))
        .await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    // Nothing changed.
    app.send(get("/auth/me").bearer(&me.token))
        .await
        .expect(StatusCode::OK);
}

// --- sign-in by emailed code or link ----------------------------------------------------

#[tokio::test]
async fn sign_in_with_an_emailed_code_sets_the_cookie() {
    let app = TestApp::new();
    app.sign_up("code@example.com").await;
    app.send(post("/auth/sign-in/email/send").json(json!({ "email": "Code@Example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("code@example.com", Purpose::SignIn);
    // Cookie mode from another origin is login CSRF.
    let csrf = app
        .send(
            post("/auth/sign-in/email")
                .origin("https://evil.example")
                .json(json!({ "email": "code@example.com", "code": code })),
        )
        .await;
    assert_error(&csrf, StatusCode::FORBIDDEN, "CSRF_REJECTED");
    let res = app
        .send(
            post("/auth/sign-in/email")
                .origin(ORIGIN)
                .json(json!({ "email": "code@example.com", "code": code })),
        )
        .await;
    let body = res.expect(StatusCode::OK);
    assert!(body.get("session_token").is_none());
    assert_eq!(body["user"]["email_verified"], true);
    let cookie = cookie_of(&res);
    let me = app.send(get("/auth/me").cookie(&cookie)).await;
    assert_eq!(
        me.expect(StatusCode::OK)["user"]["email"],
        "code@example.com"
    );
    // The code is spent.
    let again = app
        .send(
            post("/auth/sign-in/email").json(json!({ "email": "code@example.com", "code": code })),
        )
        .await;
    assert_error(&again, StatusCode::BAD_REQUEST, "CODE_INVALID");
}

#[tokio::test]
async fn sign_in_with_a_magic_link_in_token_mode() {
    let app = TestApp::new();
    let user = app.sign_up("link@example.com").await;
    app.send(post("/auth/sign-in/email/send").json(json!({ "email": "link@example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let mail = app
        .mailer
        .last("link@example.com", Purpose::SignIn)
        .unwrap();
    let res = app
        .send(post("/auth/sign-in/email").json(json!({
            "token": mail.link_token.expose(), "mode": "token"
        })))
        .await;
    let body = res.expect(StatusCode::OK);
    assert!(res.set_cookies().is_empty());
    assert_eq!(body["user"]["id"], user.id.as_str());
    let token = str_of(&body["session_token"]);
    app.send(get("/auth/me").bearer(&token))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn sending_a_sign_in_code_does_not_tell_which_addresses_exist() {
    let app = TestApp::new();
    app.sign_up("known@example.com").await;
    for email in ["known@example.com", "unknown@example.com"] {
        let res = app
            .send(post("/auth/sign-in/email/send").json(json!({ "email": email })))
            .await;
        assert_eq!(res.expect(StatusCode::ACCEPTED), serde_json::Value::Null);
    }
    assert!(
        app.mailer
            .last("unknown@example.com", Purpose::SignIn)
            .is_none()
    );
    let bad = app
        .send(post("/auth/sign-in/email/send").json(json!({ "email": "not an address" })))
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_EMAIL");
}

#[tokio::test]
async fn email_sign_in_needs_exactly_one_answer() {
    let app = TestApp::new();
    for body in [
        json!({}),
        json!({ "email": "a@example.com" }),
        json!({ "email": "a@example.com", "code": "123456", "token": "x" }),
    ] {
        let res = app.send(post("/auth/sign-in/email").json(body)).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    let wrong = app
        .send(
            post("/auth/sign-in/email").json(json!({ "email": "a@example.com", "code": "123456" })),
        )
        .await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "CODE_INVALID");
    let junk = app
        .send(post("/auth/sign-in/email").json(json!({ "token": "not-a-token" })))
        .await;
    assert_error(&junk, StatusCode::BAD_REQUEST, "CODE_INVALID");
}

// --- profile ---------------------------------------------------------------------------

#[tokio::test]
async fn profile_edit_sets_and_clears_fields() {
    let app = TestApp::new();
    let me = app.sign_up("p@example.com").await;
    let res = app
        .send(patch("/auth/me").bearer(&me.token).json(json!({
            "name": "Ada Lovelace",
            "image": "https://img.example.com/ada.png",
            "extend": { "theme": "dark" }
        })))
        .await;
    let user = res.expect(StatusCode::OK);
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["image"], "https://img.example.com/ada.png");
    assert_eq!(user["extend"]["theme"], "dark");
    // The session sees the change at once.
    let seen = app.send(get("/auth/me").bearer(&me.token)).await;
    assert_eq!(seen.expect(StatusCode::OK)["user"]["name"], "Ada Lovelace");
    // Absent fields stay; null clears.
    let res = app
        .send(
            patch("/auth/me")
                .bearer(&me.token)
                .json(json!({ "image": null })),
        )
        .await;
    let user = res.expect(StatusCode::OK);
    assert_eq!(user["name"], "Ada Lovelace");
    assert!(user["image"].is_null());
    assert_eq!(user["email"], "p@example.com");
}

#[tokio::test]
async fn profile_edit_refuses_bad_input_and_the_email() {
    let app = TestApp::new();
    let me = app.sign_up("p@example.com").await;
    let email = app
        .send(
            patch("/auth/me")
                .bearer(&me.token)
                .json(json!({ "email": "other@example.com" })),
        )
        .await;
    assert_error(&email, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    for body in [
        json!({ "name": "x".repeat(1000) }),
        json!({ "image": "javascript:alert(1)" }),
        json!({ "extend": [1, 2] }),
    ] {
        let res = app
            .send(patch("/auth/me").bearer(&me.token).json(body.clone()))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    let anonymous = app
        .send(patch("/auth/me").json(json!({ "name": "x" })))
        .await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    let seen = app.send(get("/auth/me").bearer(&me.token)).await;
    let seen = seen.expect(StatusCode::OK);
    assert!(seen["user"]["name"].is_null());
    assert_eq!(seen["user"]["email"], "p@example.com");
}

// --- change of address -----------------------------------------------------------------

#[tokio::test]
async fn email_change_takes_effect_once_the_new_address_confirms() {
    let app = TestApp::new();
    let me = app.sign_up("old@example.com").await;
    app.sign_up("taken@example.com").await;
    let taken = app
        .send(
            post("/auth/email/change")
                .bearer(&me.token)
                .json(json!({ "email": "taken@example.com" })),
        )
        .await;
    assert_error(&taken, StatusCode::CONFLICT, "EMAIL_IN_USE");
    let own = app
        .send(
            post("/auth/email/change")
                .bearer(&me.token)
                .json(json!({ "email": "old@example.com" })),
        )
        .await;
    assert_error(&own, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    app.send(
        post("/auth/email/change")
            .bearer(&me.token)
            .json(json!({ "email": "new@example.com" })),
    )
    .await
    .expect(StatusCode::ACCEPTED);
    // Nothing changed yet.
    let seen = app.send(get("/auth/me").bearer(&me.token)).await;
    assert_eq!(
        seen.expect(StatusCode::OK)["user"]["email"],
        "old@example.com"
    );
    let code = app.code("new@example.com", Purpose::ChangeEmail);
    let wrong = app
        .send(post("/auth/email/change/confirm").json(json!({
            "email": "old@example.com", "code": code
        })))
        .await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "CODE_INVALID");
    let res = app
        .send(post("/auth/email/change/confirm").json(json!({
            "email": "new@example.com", "code": code
        })))
        .await;
    let user = res.expect(StatusCode::OK);
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["email_verified"], true);
    let seen = app.send(get("/auth/me").bearer(&me.token)).await;
    assert_eq!(
        seen.expect(StatusCode::OK)["user"]["email"],
        "new@example.com"
    );
    assert_eq!(app.mailer.notices().len(), 1);
}

#[tokio::test]
async fn email_change_needs_a_session() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/email/change").json(json!({ "email": "x@example.com" })))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    let me = app.sign_up("k@example.com").await;
    let (_, key) = app
        .key(&me, json!({ "name": "k", "scopes": ["data:read"] }))
        .await;
    let res = app
        .send(
            post("/auth/email/change")
                .api_key(&key)
                .json(json!({ "email": "x@example.com" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let bad = app
        .send(
            post("/auth/email/change")
                .bearer(&me.token)
                .json(json!({ "email": "not an address" })),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_EMAIL");
}

// --- delete own account ----------------------------------------------------------------

#[tokio::test]
async fn delete_me_asks_for_the_password_and_clears_the_cookie() {
    let app = TestApp::new();
    let res = app
        .send(
            post("/auth/sign-up").json(json!({ "email": "bye@example.com", "password": PASSWORD })),
        )
        .await;
    res.expect(StatusCode::CREATED);
    let cookie = cookie_of(&res);
    let none = app
        .send(
            delete("/auth/me")
                .cookie(&cookie)
                .origin(ORIGIN)
                .json(json!({})),
        )
        .await;
    assert_error(&none, StatusCode::FORBIDDEN, "REAUTHENTICATION_REQUIRED");
    let wrong = app
        .send(
            delete("/auth/me")
                .cookie(&cookie)
                .origin(ORIGIN)
                .json(json!({ "password": "not it" })),
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    let csrf = app
        .send(
            delete("/auth/me")
                .cookie(&cookie)
                .json(json!({ "password": PASSWORD })),
        )
        .await;
    assert_error(&csrf, StatusCode::FORBIDDEN, "CSRF_REJECTED");
    let res = app
        .send(
            delete("/auth/me")
                .cookie(&cookie)
                .origin(ORIGIN)
                .json(json!({ "password": PASSWORD })),
        )
        .await;
    res.expect(StatusCode::NO_CONTENT);
    let cleared = &res.set_cookies()[0];
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let gone = app.send(get("/auth/me").cookie(&cookie)).await;
    assert_error(&gone, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    let sign_in = app
        .send(
            post("/auth/sign-in").json(json!({ "email": "bye@example.com", "password": PASSWORD })),
        )
        .await;
    assert_error(&sign_in, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn delete_me_without_a_password_needs_a_recent_sign_in() {
    let mut config = auth_core::AuthConfig::insecure_for_tests();
    config.passwordless_sign_up = true;
    let app = TestApp::with_config(config);
    let sign_in = || async {
        app.send(post("/auth/sign-in/email/send").json(json!({ "email": "np@example.com" })))
            .await
            .expect(StatusCode::ACCEPTED);
        let code = app.code("np@example.com", Purpose::SignIn);
        let res = app
            .send(post("/auth/sign-in/email").json(json!({
                "email": "np@example.com", "code": code, "mode": "token"
            })))
            .await;
        str_of(&res.expect(StatusCode::OK)["session_token"])
    };
    let token = sign_in().await;
    app.clock.advance(time::Duration::minutes(6));
    let stale = app
        .send(delete("/auth/me").bearer(&token).json(json!({})))
        .await;
    assert_error(&stale, StatusCode::FORBIDDEN, "REAUTHENTICATION_REQUIRED");
    let token = sign_in().await;
    let res = app
        .send(delete("/auth/me").bearer(&token).json(json!({})))
        .await;
    res.expect(StatusCode::NO_CONTENT);
    assert!(res.set_cookies().is_empty());
}

#[tokio::test]
async fn delete_me_keeps_the_last_owner_guard() {
    let app = TestApp::new();
    let owner = app.sign_up("owner@example.com").await;
    app.group(&owner, json!({ "name": "Acme", "slug": "acme" }))
        .await;
    let res = app
        .send(
            delete("/auth/me")
                .bearer(&owner.token)
                .json(json!({ "password": PASSWORD })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "LAST_OWNER");
    app.send(get("/auth/me").bearer(&owner.token))
        .await
        .expect(StatusCode::OK);
}

// --- linked accounts -------------------------------------------------------------------

#[tokio::test]
async fn linked_accounts_are_listed_without_secrets_and_the_last_is_kept() {
    let app = TestApp::new();
    let me = app.sign_up("acc@example.com").await;
    let other = app.sign_up("other@example.com").await;
    let user_id: auth_core::UserId = me.id.parse().unwrap();
    app.auth
        .accounts()
        .link(
            &auth_core::Caller::System,
            user_id,
            auth_core::Provider::oidc("https://idp.example").unwrap(),
            "sub-42",
            &auth_core::RequestMeta::none(),
        )
        .await
        .unwrap();
    let res = app.send(get("/auth/accounts").bearer(&me.token)).await;
    let list = res.expect(StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["provider"], "password");
    assert!(list[0].get("provider_account_id").is_none());
    assert_eq!(list[1]["provider"], "oidc:https://idp.example");
    assert_eq!(list[1]["provider_account_id"], "sub-42");
    let text = res.text();
    assert!(!text.contains("argon2") && !text.contains("hash"), "{text}");
    let password_id = str_of(&list[0]["id"]);
    let oidc_id = str_of(&list[1]["id"]);
    // Someone else's account is not found; a malformed id is 422.
    let res = app
        .send(delete(&format!("/auth/accounts/{oidc_id}")).bearer(&other.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "ACCOUNT_NOT_FOUND");
    let res = app
        .send(delete("/auth/accounts/nope").bearer(&me.token))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    app.send(delete(&format!("/auth/accounts/{oidc_id}")).bearer(&me.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    let res = app
        .send(delete(&format!("/auth/accounts/{password_id}")).bearer(&me.token))
        .await;
    assert_error(&res, StatusCode::CONFLICT, "LAST_SIGN_IN_METHOD");
    let list = app
        .send(get("/auth/accounts").bearer(&me.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
}
