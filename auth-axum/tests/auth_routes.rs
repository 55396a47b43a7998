//! `/auth/sign-up`, `/sign-in`, `/sign-out`, `/refresh`, `/me`, email verification and
//! password reset; cookies, CSRF and how credentials are found.

mod common;

use auth_axum::HttpConfig;
use auth_core::api_keys::RateLimit;
use auth_core::{AuthConfig, Purpose};
use axum::http::StatusCode;
use common::*;
use serde_json::json;
use time::Duration;

fn sign_up_body(email: &str, mode: &str) -> serde_json::Value {
    json!({ "email": email, "password": PASSWORD, "mode": mode, "name": "Ada" })
}

/// The value of the session cookie set by `res` (asserting there is exactly one).
fn cookie_value(res: &Res, name: &str) -> String {
    let cookies = res.set_cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let first = cookies[0].split(';').next().unwrap();
    first
        .strip_prefix(&format!("{name}="))
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned()
}

// --- sign-up ---------------------------------------------------------------------------

#[tokio::test]
async fn sign_up_in_token_mode_returns_tokens_and_sets_no_cookie() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-up").json(sign_up_body("Ada@Example.com", "token")))
        .await;
    let body = res.expect(StatusCode::CREATED);
    assert!(res.set_cookies().is_empty());
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["name"], "Ada");
    assert_eq!(body["user"]["email_verified"], false);
    assert_eq!(body["session"]["current"], true);
    let token = str_of(&body["session_token"]);
    assert_eq!(token.len(), 43);
    assert_eq!(str_of(&body["refresh_token"]).len(), 43);
    assert_ne!(body["session_token"], body["refresh_token"]);
    assert!(!res.text().contains(PASSWORD));
    let me = app.send(get("/auth/me").bearer(&token)).await;
    assert_eq!(me.expect(StatusCode::OK)["user"]["id"], body["user"]["id"]);
}

#[tokio::test]
async fn sign_up_in_cookie_mode_sets_a_localhost_cookie_and_no_tokens() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-up").json(json!({ "email": "a@example.com", "password": PASSWORD })))
        .await;
    let body = res.expect(StatusCode::CREATED);
    assert!(body.get("session_token").is_none() && body.get("refresh_token").is_none());
    let set = &res.set_cookies()[0];
    for part in [
        "session=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=2592000",
    ] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(!set.contains("Secure") && !set.contains("__Host-") && !set.contains("Domain"));
    let token = cookie_value(&res, "session");
    let me = app.send(get("/auth/me").cookie(&token)).await;
    assert_eq!(me.expect(StatusCode::OK)["user"]["email"], "a@example.com");
}

#[tokio::test]
async fn sign_in_on_https_sets_a_secure_host_cookie() {
    let app = TestApp::with_http(HttpConfig::new("https://app.example.com").unwrap());
    app.sign_up("a@example.com").await;
    let res = app
        .send(
            post("/auth/sign-in")
                .origin("https://app.example.com")
                .json(json!({ "email": "a@example.com", "password": PASSWORD })),
        )
        .await;
    res.expect(StatusCode::OK);
    let set = &res.set_cookies()[0];
    for part in [
        "__Host-session=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Secure",
    ] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(!set.contains("Domain"));
    let token = cookie_value(&res, "__Host-session");
    // The plain `session` name is not read on a secure app.
    let plain = app.send(get("/auth/me").cookie(&token)).await;
    assert_error(&plain, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    let me = app
        .send(get("/auth/me").header("cookie", format!("__Host-session={token}")))
        .await;
    me.expect(StatusCode::OK);
}

#[tokio::test]
async fn sign_up_with_a_taken_email_is_409() {
    let app = TestApp::new();
    app.sign_up("a@example.com").await;
    let res = app
        .send(post("/auth/sign-up").json(sign_up_body("A@EXAMPLE.com", "token")))
        .await;
    assert_error(&res, StatusCode::CONFLICT, "EMAIL_IN_USE");
}

/// Issue 12, item 12: with `enumeration_safe_sign_up`, a taken address gets the answer a
/// new one gets (`202`, the same body shape), and its owner a notice instead.
#[tokio::test]
async fn enumeration_safe_sign_up_answers_a_taken_email_as_a_new_one() {
    let mut config = AuthConfig::insecure_for_tests();
    config.require_email_verification = true;
    config.enumeration_safe_sign_up = true;
    let app = TestApp::with_config(config);
    let first = app
        .send(post("/auth/sign-up").json(sign_up_body("a@example.com", "token")))
        .await
        .expect(StatusCode::ACCEPTED);
    let again = app
        .send(post("/auth/sign-up").json(sign_up_body("A@EXAMPLE.com", "token")))
        .await
        .expect(StatusCode::ACCEPTED);
    let keys = |v: &serde_json::Value| {
        let mut keys: Vec<String> = v["user"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&first), keys(&again));
    assert_eq!(first["user"]["email"], again["user"]["email"]);
    assert_eq!(again["verification_required"], true);
    assert_ne!(first["user"]["id"], again["user"]["id"]);
    assert_eq!(
        app.mailer.notices(),
        [auth_core::verification::Notice::SignUpAttempted {
            to: auth_core::Email::parse("a@example.com").unwrap()
        }]
    );
}

#[tokio::test]
async fn sign_up_validates_email_password_and_name() {
    let app = TestApp::new();
    let cases = [
        (
            json!({ "email": "not-an-email", "password": PASSWORD }),
            "INVALID_EMAIL",
        ),
        (
            json!({ "email": "", "password": PASSWORD }),
            "INVALID_EMAIL",
        ),
        (
            json!({ "email": "a@example.com", "password": "short" }),
            "WEAK_PASSWORD",
        ),
        (
            json!({ "email": "a@example.com", "password": "        " }),
            "WEAK_PASSWORD",
        ),
        (
            json!({ "email": "a@example.com", "password": "a@example.com" }),
            "WEAK_PASSWORD",
        ),
        (
            json!({ "email": "a@example.com", "password": "zxcvbnm123456" }),
            "PASSWORD_TOO_COMMON",
        ),
        (
            json!({ "email": "a@example.com", "password": "Zxcvbnm12345" }),
            "PASSWORD_TOO_COMMON",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "  " }),
            "INVALID_INPUT",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "a\u{0}b" }),
            "INVALID_INPUT",
        ),
    ];
    for (body, code) in cases {
        let res = app.send(post("/auth/sign-up").json(body.clone())).await;
        let error = assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
        if let Some(password) = body["password"].as_str() {
            assert!(
                !error["message"].as_str().unwrap().contains(password),
                "{error}"
            );
        }
    }
}

#[tokio::test]
async fn sign_up_needing_verification_is_202_and_sign_in_waits_for_it() {
    let mut config = AuthConfig::insecure_for_tests();
    config.require_email_verification = true;
    let app = TestApp::with_config(config);
    let res = app
        .send(post("/auth/sign-up").json(sign_up_body("a@example.com", "token")))
        .await;
    let body = res.expect(StatusCode::ACCEPTED);
    assert_eq!(body["verification_required"], true);
    assert!(body.get("session_token").is_none());
    assert!(res.set_cookies().is_empty());
    let sign_in = json!({ "email": "a@example.com", "password": PASSWORD, "mode": "token" });
    let res = app.send(post("/auth/sign-in").json(sign_in.clone())).await;
    assert_error(&res, StatusCode::FORBIDDEN, "EMAIL_NOT_VERIFIED");
    let code = app.code("a@example.com", Purpose::VerifyEmail);
    app.send(post("/auth/verify-email").json(json!({ "email": "a@example.com", "code": code })))
        .await
        .expect(StatusCode::OK);
    app.send(post("/auth/sign-in").json(sign_in))
        .await
        .expect(StatusCode::OK);
}

// --- sign-in ---------------------------------------------------------------------------

#[tokio::test]
async fn sign_in_starts_a_new_session() {
    let app = TestApp::new();
    let first = app.sign_up("a@example.com").await;
    let second = app.sign_in("A@example.com").await;
    assert_eq!(first.id, second.id);
    assert_ne!(first.session_id, second.session_id);
    assert_ne!(first.token, second.token);
    for token in [&first.token, &second.token] {
        app.send(get("/auth/me").bearer(token))
            .await
            .expect(StatusCode::OK);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_the_same_401() {
    let app = TestApp::new();
    app.sign_up("a@example.com").await;
    for (email, password) in [
        ("a@example.com", "wrong password 123"),
        ("nobody@example.com", "wrong password 123"),
        ("a@example.com", &"p".repeat(1_000_000) as &str),
    ] {
        let res = app
            .send(post("/auth/sign-in").json(json!({ "email": email, "password": password })))
            .await;
        let error = assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        assert_eq!(error["message"], "invalid email or password");
        assert_eq!(res.header("www-authenticate"), Some(CHALLENGE));
        assert!(res.set_cookies().is_empty());
    }
}

#[tokio::test]
async fn sign_in_with_a_malformed_email_is_422() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-in").json(json!({ "email": "nope", "password": PASSWORD })))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_EMAIL");
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_with_retry_after() {
    let mut config = AuthConfig::insecure_for_tests();
    config.sign_in_limit = Some(RateLimit {
        max: 2,
        window: Duration::minutes(1),
    });
    let app = TestApp::with_config(config);
    app.sign_up("a@example.com").await;
    let wrong = json!({ "email": "a@example.com", "password": "wrong password 123" });
    for _ in 0..2 {
        let res = app.send(post("/auth/sign-in").json(wrong.clone())).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    }
    let right = json!({ "email": "a@example.com", "password": PASSWORD });
    let res = app.send(post("/auth/sign-in").json(right.clone())).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: i64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another address is not affected; the window ends and the right password works.
    let other = app
        .send(post("/auth/sign-in").json(json!({ "email": "b@example.com", "password": PASSWORD })))
        .await;
    assert_error(&other, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    app.clock.advance(Duration::seconds(retry));
    app.send(post("/auth/sign-in").json(right))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn cookie_sign_in_from_a_foreign_origin_is_refused() {
    let app = TestApp::new();
    app.sign_up("a@example.com").await;
    let body = json!({ "email": "a@example.com", "password": PASSWORD });
    for path in ["/auth/sign-in", "/auth/sign-up"] {
        let res = app
            .send(post(path).origin("https://evil.example").json(body.clone()))
            .await;
        assert_error(&res, StatusCode::FORBIDDEN, "CSRF_REJECTED");
        assert!(res.set_cookies().is_empty());
    }
    // From the app's origin, and without any Origin (not a browser), it works.
    let res = app
        .send(post("/auth/sign-in").origin(ORIGIN).json(body.clone()))
        .await;
    res.expect(StatusCode::OK);
    assert_eq!(res.set_cookies().len(), 1);
    app.send(post("/auth/sign-in").json(body.clone()))
        .await
        .expect(StatusCode::OK);
    // A browser that sends only a Referer is judged by it.
    let res = app
        .send(
            post("/auth/sign-in")
                .header("referer", "https://evil.example/login?next=/")
                .json(body.clone()),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "CSRF_REJECTED");
    app.send(
        post("/auth/sign-in")
            .header("referer", format!("{ORIGIN}/sign-in"))
            .json(body),
    )
    .await
    .expect(StatusCode::OK);
    // Token mode is not a cookie: a cross-origin token client may sign in.
    let token = json!({ "email": "a@example.com", "password": PASSWORD, "mode": "token" });
    app.send(
        post("/auth/sign-in")
            .origin("https://evil.example")
            .json(token),
    )
    .await
    .expect(StatusCode::OK);
}

// --- sign-out --------------------------------------------------------------------------

#[tokio::test]
async fn cookie_sign_out_clears_the_cookie_and_ends_the_session() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-up").json(json!({ "email": "a@example.com", "password": PASSWORD })))
        .await;
    let token = cookie_value(&res, "session");
    let out = app
        .send(post("/auth/sign-out").cookie(&token).origin(ORIGIN))
        .await;
    assert_eq!(out.expect(StatusCode::NO_CONTENT), serde_json::Value::Null);
    let cleared = &out.set_cookies()[0];
    assert!(
        cleared.starts_with("session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(cleared.contains("Path=/") && cleared.contains("HttpOnly"));
    let me = app.send(get("/auth/me").cookie(&token)).await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
}

#[tokio::test]
async fn bearer_sign_out_revokes_only_that_session() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let other = app.sign_in("a@example.com").await;
    let out = app.send(post("/auth/sign-out").bearer(&a.token)).await;
    out.expect(StatusCode::NO_CONTENT);
    assert!(out.set_cookies().is_empty());
    let me = app.send(get("/auth/me").bearer(&a.token)).await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    assert_eq!(me.header("www-authenticate"), Some(INVALID_TOKEN));
    app.send(get("/auth/me").bearer(&other.token))
        .await
        .expect(StatusCode::OK);
    let again = app.send(post("/auth/sign-out").bearer(&a.token)).await;
    assert_error(&again, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
}

#[tokio::test]
async fn sign_out_with_a_stale_cookie_still_clears_it() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-up").json(json!({ "email": "a@example.com", "password": PASSWORD })))
        .await;
    let token = cookie_value(&res, "session");
    app.clock.advance(time::Duration::days(400));
    let out = app
        .send(post("/auth/sign-out").cookie(&token).origin(ORIGIN))
        .await;
    out.expect(StatusCode::NO_CONTENT);
    let cleared = &out.set_cookies()[0];
    assert!(cleared.starts_with("session=;") && cleared.contains("Max-Age=0"));
    // A key is not a session to end.
    let res = app
        .send(post("/auth/sign-out").api_key("sk_not_a_real_key"))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
}

#[tokio::test]
async fn sign_out_needs_a_session() {
    let app = TestApp::new();
    let res = app.send(post("/auth/sign-out")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    assert_eq!(res.header("www-authenticate"), Some(CHALLENGE));
}

// --- refresh ---------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_both_tokens() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let res = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": a.refresh })))
        .await;
    let body = res.expect(StatusCode::OK);
    assert!(res.set_cookies().is_empty());
    let token = str_of(&body["session_token"]);
    let refresh = str_of(&body["refresh_token"]);
    assert_ne!(token, a.token);
    assert_ne!(refresh, a.refresh);
    assert_eq!(body["session"]["id"], a.session_id.as_str());
    app.send(get("/auth/me").bearer(&token))
        .await
        .expect(StatusCode::OK);
    let old = app.send(get("/auth/me").bearer(&a.token)).await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    app.send(post("/auth/refresh").json(json!({ "refresh_token": refresh })))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_session() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let body = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": a.refresh })))
        .await
        .expect(StatusCode::OK);
    let res = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": a.refresh })))
        .await;
    let error = assert_error(&res, StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_REUSED");
    assert!(!error["message"].as_str().unwrap().contains(&a.refresh));
    assert_eq!(res.header("www-authenticate"), Some(INVALID_TOKEN));
    let me = app
        .send(get("/auth/me").bearer(body["session_token"].as_str().unwrap()))
        .await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
}

#[tokio::test]
async fn unknown_or_malformed_refresh_tokens_are_401() {
    let app = TestApp::new();
    for token in ["x".repeat(43), "short".to_owned(), String::new()] {
        let res = app
            .send(post("/auth/refresh").json(json!({ "refresh_token": token })))
            .await;
        let error = assert_error(&res, StatusCode::UNAUTHORIZED, "REFRESH_TOKEN_INVALID");
        if !token.is_empty() {
            assert!(!error["message"].as_str().unwrap().contains(&token));
        }
    }
    let res = app.send(post("/auth/refresh").json(json!({}))).await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
}

#[tokio::test]
async fn refresh_of_a_signed_out_session_is_401() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    app.send(post("/auth/sign-out").bearer(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    let res = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": a.refresh })))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
}

// --- me and credentials ----------------------------------------------------------------

#[tokio::test]
async fn me_without_credentials_is_401_with_a_bare_challenge() {
    let app = TestApp::new();
    let res = app.send(get("/auth/me")).await;
    let error = assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    assert_eq!(error["message"], "not signed in");
    assert_eq!(res.header("www-authenticate"), Some(CHALLENGE));
}

#[tokio::test]
async fn bad_tokens_are_401_invalid_token() {
    let app = TestApp::new();
    let cases = [
        ("Bearer not-a-token", "INVALID_TOKEN"),
        ("Bearer ", "INVALID_TOKEN"),
        ("Bearer", "INVALID_TOKEN"),
        ("Basic YTpi", "INVALID_TOKEN"),
        ("Token abc", "INVALID_TOKEN"),
        ("Bearer sk_live_0000", "API_KEY_INVALID"),
    ];
    for (authorization, code) in cases {
        let res = app
            .send(get("/auth/me").header("authorization", authorization))
            .await;
        let error = assert_error(&res, StatusCode::UNAUTHORIZED, code);
        assert_eq!(
            res.header("www-authenticate"),
            Some(INVALID_TOKEN),
            "{authorization}"
        );
        assert!(!error["message"].as_str().unwrap().contains("YTpi"));
    }
    let res = app
        .send(get("/auth/me").header("authorization", b"Bearer \xff\xfe".as_slice()))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
}

#[tokio::test]
async fn an_unknown_well_formed_token_is_401_invalid_token() {
    let app = TestApp::new();
    let token = "A".repeat(43);
    let res = app.send(get("/auth/me").bearer(&token)).await;
    let error = assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    assert!(!error["message"].as_str().unwrap().contains(&token));
    assert_eq!(res.header("www-authenticate"), Some(INVALID_TOKEN));
}

#[tokio::test]
async fn an_expired_session_is_401_session_expired() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    app.clock.advance(Duration::days(8));
    let res = app.send(get("/auth/me").bearer(&a.token)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "SESSION_EXPIRED");
    assert_eq!(res.header("www-authenticate"), Some(INVALID_TOKEN));
}

#[tokio::test]
async fn me_marks_the_current_session_and_refuses_api_keys() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let body = app
        .send(get("/auth/me").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["user"]["email"], "a@example.com");
    assert_eq!(body["session"]["id"], a.session_id.as_str());
    assert_eq!(body["session"]["current"], true);
    let (_, key) = app.key(&a, json!({ "name": "k", "scopes": [] })).await;
    for res in [
        app.send(get("/auth/me").api_key(&key)).await,
        app.send(get("/auth/me").bearer(&key)).await,
    ] {
        assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
}

#[tokio::test]
async fn an_invalid_x_api_key_never_falls_through_to_other_credentials() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-up").json(json!({ "email": "a@example.com", "password": PASSWORD })))
        .await;
    let cookie = cookie_value(&res, "session");
    let a = app.sign_in("a@example.com").await;
    for key in ["sk_live_garbage", "", "x".repeat(43).as_str()] {
        let res = app
            .send(
                get("/auth/me")
                    .api_key(key)
                    .cookie(&cookie)
                    .bearer(&a.token),
            )
            .await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
        assert_eq!(res.header("www-authenticate"), Some(INVALID_TOKEN));
        let probe = app.send(get("/probe").api_key(key).cookie(&cookie)).await;
        assert_error(&probe, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
    }
    // A header value that is not text is still a key that was presented.
    let res = app
        .send(
            get("/auth/me")
                .header("x-api-key", b"sk_\xff\xfe".as_slice())
                .cookie(&cookie),
        )
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_json_body_and_allow() {
    let app = TestApp::new();
    let res = app.send(get("/auth/sign-in")).await;
    assert_error(&res, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert_eq!(res.header("allow"), Some("POST"));
    let res = app
        .send(req(axum::http::Method::PUT, "/auth/api-keys/x"))
        .await;
    assert_error(&res, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn a_bearer_token_wins_over_the_cookie() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let b = app.sign_up("b@example.com").await;
    let body = app
        .send(get("/auth/me").bearer(&b.token).cookie(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["user"]["id"], b.id.as_str());
    // A bad bearer token does not fall back to a good cookie.
    let res = app
        .send(get("/auth/me").bearer("nope").cookie(&a.token))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
}

// --- CSRF ------------------------------------------------------------------------------

#[tokio::test]
async fn cookie_authenticated_unsafe_requests_must_come_from_the_app() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let path = "/auth/sessions/revoke-others";
    let refused = [
        post(path).cookie(&a.token),
        post(path).cookie(&a.token).origin("https://evil.example"),
        post(path).cookie(&a.token).origin("http://localhost:3001"),
        post(path).cookie(&a.token).origin("null"),
        post(path)
            .cookie(&a.token)
            .header("referer", "https://evil.example/page"),
        post(path)
            .cookie(&a.token)
            .header("referer", "http://localhost:3000.evil.example/"),
    ];
    for r in refused {
        let res = app.send(r).await;
        let error = assert_error(&res, StatusCode::FORBIDDEN, "CSRF_REJECTED");
        assert!(error.get("required_scope").is_none());
    }
    for r in [
        post(path).cookie(&a.token).origin(ORIGIN),
        post(path).cookie(&a.token).origin("HTTP://LOCALHOST:3000"),
        post(path)
            .cookie(&a.token)
            .header("referer", "http://localhost:3000/settings?x=1"),
    ] {
        app.send(r).await.expect(StatusCode::OK);
    }
}

#[tokio::test]
async fn safe_methods_and_bearer_requests_need_no_origin() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    app.send(
        get("/auth/sessions")
            .cookie(&a.token)
            .origin("https://evil.example"),
    )
    .await
    .expect(StatusCode::OK);
    app.send(get("/auth/me").cookie(&a.token))
        .await
        .expect(StatusCode::OK);
    app.send(post("/auth/sessions/revoke-others").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    app.send(
        post("/auth/sessions/revoke-others")
            .bearer(&a.token)
            .origin("https://evil.example"),
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn extra_allowed_origins_may_send_cookie_requests() {
    let http = HttpConfig::localhost(ORIGIN)
        .unwrap()
        .allow_origin("http://localhost:5173")
        .unwrap();
    let app = TestApp::with_http(http);
    let a = app.sign_up("a@example.com").await;
    app.send(
        post("/auth/sessions/revoke-others")
            .cookie(&a.token)
            .origin("http://localhost:5173"),
    )
    .await
    .expect(StatusCode::OK);
}

// --- email verification ----------------------------------------------------------------

#[tokio::test]
async fn verify_email_with_the_emailed_code() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let res = app
        .send(post("/auth/verify-email/send").bearer(&a.token))
        .await;
    assert_eq!(res.expect(StatusCode::ACCEPTED), serde_json::Value::Null);
    let code = app.code("a@example.com", Purpose::VerifyEmail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = app
        .send(post("/auth/verify-email").json(json!({ "email": "a@example.com", "code": wrong })))
        .await;
    let error = assert_error(&res, StatusCode::BAD_REQUEST, "CODE_INVALID");
    assert!(!error["message"].as_str().unwrap().contains(wrong));
    let user = app
        .send(post("/auth/verify-email").json(json!({ "email": "A@example.com", "code": code })))
        .await
        .expect(StatusCode::OK);
    assert_eq!(user["id"], a.id.as_str());
    assert_eq!(user["email_verified"], true);
    // Spent, and the session sees the change.
    let again = app
        .send(post("/auth/verify-email").json(json!({ "email": "a@example.com", "code": code })))
        .await;
    assert_error(&again, StatusCode::BAD_REQUEST, "CODE_INVALID");
    let me = app.send(get("/auth/me").bearer(&a.token)).await;
    assert_eq!(me.expect(StatusCode::OK)["user"]["email_verified"], true);
    // Verified: asking again sends nothing.
    let sent = app.mailer.messages().len();
    app.send(post("/auth/verify-email/send").bearer(&a.token))
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(app.mailer.messages().len(), sent);
}

#[tokio::test]
async fn verify_email_with_the_link_token() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    app.send(post("/auth/verify-email/send").bearer(&a.token))
        .await
        .expect(StatusCode::ACCEPTED);
    let mail = app
        .mailer
        .last("a@example.com", Purpose::VerifyEmail)
        .unwrap();
    let token = mail.link_token.expose();
    let user = app
        .send(post("/auth/verify-email").json(json!({ "token": token })))
        .await
        .expect(StatusCode::OK);
    assert_eq!(user["email_verified"], true);
    let again = app
        .send(post("/auth/verify-email").json(json!({ "token": token })))
        .await;
    assert_error(&again, StatusCode::BAD_REQUEST, "CODE_INVALID");
}

#[tokio::test]
async fn verify_email_needs_exactly_one_kind_of_answer() {
    let app = TestApp::new();
    for body in [
        json!({}),
        json!({ "email": "a@example.com" }),
        json!({ "code": "123456" }),
        json!({ "email": "a@example.com", "code": "123456", "token": "x".repeat(43) }),
    ] {
        let res = app.send(post("/auth/verify-email").json(body)).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
}

#[tokio::test]
async fn verify_email_codes_expire_and_run_out_of_attempts() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    app.send(post("/auth/verify-email/send").bearer(&a.token))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("a@example.com", Purpose::VerifyEmail);
    app.clock.advance(Duration::minutes(16));
    let res = app
        .send(post("/auth/verify-email").json(json!({ "email": "a@example.com", "code": code })))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "CODE_EXPIRED");

    app.send(post("/auth/verify-email/send").bearer(&a.token))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("a@example.com", Purpose::VerifyEmail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = json!({ "email": "a@example.com", "code": wrong });
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            app.send(post("/auth/verify-email").json(body.clone()))
                .await,
        );
    }
    assert_error(
        &last.unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_ATTEMPTS",
    );
    // Even the right code is refused now.
    let res = app
        .send(post("/auth/verify-email").json(json!({ "email": "a@example.com", "code": code })))
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
}

#[tokio::test]
async fn verification_emails_are_rate_limited_with_retry_after() {
    let mut config = AuthConfig::insecure_for_tests();
    config.mail_limit = Some(RateLimit {
        max: 1,
        window: Duration::hours(1),
    });
    let app = TestApp::with_config(config);
    let a = app.sign_up("a@example.com").await;
    app.send(post("/auth/verify-email/send").bearer(&a.token))
        .await
        .expect(StatusCode::ACCEPTED);
    let res = app
        .send(post("/auth/verify-email/send").bearer(&a.token))
        .await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: i64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(app.mailer.messages().len(), 1);
}

#[tokio::test]
async fn sending_a_verification_needs_a_session() {
    let app = TestApp::new();
    let res = app.send(post("/auth/verify-email/send")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    let a = app.sign_up("a@example.com").await;
    let (_, key) = app.key(&a, json!({ "name": "k", "scopes": [] })).await;
    let res = app
        .send(post("/auth/verify-email/send").api_key(&key))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert!(app.mailer.messages().is_empty());
}

// --- password reset --------------------------------------------------------------------

#[tokio::test]
async fn forgot_password_is_always_202() {
    let app = TestApp::new();
    app.sign_up("a@example.com").await;
    for email in ["a@example.com", "nobody@example.com"] {
        let res = app
            .send(post("/auth/password/forgot").json(json!({ "email": email })))
            .await;
        assert_eq!(res.expect(StatusCode::ACCEPTED), serde_json::Value::Null);
    }
    assert!(
        app.mailer
            .last("a@example.com", Purpose::ResetPassword)
            .is_some()
    );
    assert!(
        app.mailer
            .last("nobody@example.com", Purpose::ResetPassword)
            .is_none()
    );
    assert_eq!(app.mailer.messages().len(), 1);
    let res = app
        .send(post("/auth/password/forgot").json(json!({ "email": "nope" })))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_EMAIL");
}

#[tokio::test]
async fn forgot_password_stays_202_when_mail_is_rate_limited() {
    let mut config = AuthConfig::insecure_for_tests();
    config.mail_limit = Some(RateLimit {
        max: 1,
        window: Duration::hours(1),
    });
    let app = TestApp::with_config(config);
    app.sign_up("a@example.com").await;
    for _ in 0..3 {
        app.send(post("/auth/password/forgot").json(json!({ "email": "a@example.com" })))
            .await
            .expect(StatusCode::ACCEPTED);
    }
    assert_eq!(app.mailer.messages().len(), 1);
}

#[tokio::test]
async fn reset_password_with_the_code_ends_every_session() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let b = app.sign_in("a@example.com").await;
    app.send(post("/auth/password/forgot").json(json!({ "email": "a@example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("a@example.com", Purpose::ResetPassword);
    let new_password = "a brand new passphrase";
    // A weak password is refused before the code is spent.
    let weak = app
        .send(post("/auth/password/reset").json(json!({
            "email": "a@example.com", "code": code, "password": "short"
        })))
        .await;
    let error = assert_error(&weak, StatusCode::UNPROCESSABLE_ENTITY, "WEAK_PASSWORD");
    assert!(!error["message"].as_str().unwrap().contains("short"));
    let user = app
        .send(post("/auth/password/reset").json(json!({
            "email": "a@example.com", "code": code, "password": new_password
        })))
        .await
        .expect(StatusCode::OK);
    assert_eq!(user["id"], a.id.as_str());
    assert_eq!(user["email_verified"], true);
    for token in [&a.token, &b.token] {
        let res = app.send(get("/auth/me").bearer(token)).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    }
    let old = app
        .send(post("/auth/sign-in").json(json!({ "email": "a@example.com", "password": PASSWORD })))
        .await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    app.send(
        post("/auth/sign-in").json(json!({ "email": "a@example.com", "password": new_password })),
    )
    .await
    .expect(StatusCode::OK);
    let reused = app
        .send(post("/auth/password/reset").json(json!({
            "email": "a@example.com", "code": code, "password": "yet another passphrase"
        })))
        .await;
    assert_error(&reused, StatusCode::BAD_REQUEST, "CODE_INVALID");
}

#[tokio::test]
async fn reset_password_with_the_link_token() {
    let app = TestApp::new();
    app.sign_up("a@example.com").await;
    app.send(post("/auth/password/forgot").json(json!({ "email": "a@example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let mail = app
        .mailer
        .last("a@example.com", Purpose::ResetPassword)
        .unwrap();
    app.send(post("/auth/password/reset").json(json!({
        "token": mail.link_token.expose(), "password": "a brand new passphrase"
    })))
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn reset_password_refuses_wrong_codes_and_bodies() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let new_password = "a brand new passphrase";
    let res = app
        .send(post("/auth/password/reset").json(json!({
            "email": "a@example.com", "code": "123456", "password": new_password
        })))
        .await;
    let error = assert_error(&res, StatusCode::BAD_REQUEST, "CODE_INVALID");
    assert!(!error["message"].as_str().unwrap().contains(new_password));
    // A verify-email code is not a reset code.
    app.send(post("/auth/verify-email/send").bearer(&a.token))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("a@example.com", Purpose::VerifyEmail);
    let res = app
        .send(post("/auth/password/reset").json(json!({
            "email": "a@example.com", "code": code, "password": new_password
        })))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "CODE_INVALID");
    let res = app
        .send(post("/auth/password/reset").json(json!({ "password": new_password })))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    let res = app
        .send(post("/auth/password/reset").json(json!({ "email": "a@example.com", "code": "1" })))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
}

// --- a sign-in replaces the session it presents (issue 12, item 10) ---------------------

#[tokio::test]
async fn a_sign_in_ends_the_session_the_request_presents() {
    let app = TestApp::new();
    let res = app
        .send(post("/auth/sign-up").json(json!({ "email": "a@example.com", "password": PASSWORD })))
        .await;
    let a_cookie = cookie_value(&res, "session");
    let b = app.sign_up("b@example.com").await;
    // B signs in on the browser A left signed in: A's session ends, B's other one stays.
    let res = app
        .send(
            post("/auth/sign-in")
                .cookie(&a_cookie)
                .origin(ORIGIN)
                .json(json!({ "email": "b@example.com", "password": PASSWORD })),
        )
        .await;
    let b_cookie = cookie_value(&res, "session");
    let me = app.send(get("/auth/me").cookie(&a_cookie)).await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    app.send(get("/auth/me").cookie(&b_cookie))
        .await
        .expect(StatusCode::OK);
    app.send(get("/auth/me").bearer(&b.token))
        .await
        .expect(StatusCode::OK);
    // A token client presenting a bearer session, through the emailed sign-in.
    let a = app.sign_in("a@example.com").await;
    app.send(post("/auth/sign-in/email/send").json(json!({ "email": "b@example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("b@example.com", Purpose::SignIn);
    app.send(
        post("/auth/sign-in/email")
            .bearer(&a.token)
            .json(json!({ "email": "b@example.com", "code": code, "mode": "token" })),
    )
    .await
    .expect(StatusCode::OK);
    let me = app.send(get("/auth/me").bearer(&a.token)).await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
}

/// Issue 12, item 9: the first emailed sign-in to an unverified account takes it from
/// whoever signed up with the address: their session and their password stop working.
#[tokio::test]
async fn the_first_emailed_sign_in_takes_an_unverified_account_from_its_creator() {
    let app = TestApp::new();
    let squatter = app.sign_up("owner@example.com").await;
    app.send(post("/auth/sign-in/email/send").json(json!({ "email": "owner@example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("owner@example.com", Purpose::SignIn);
    let owner = app
        .send(post("/auth/sign-in/email").json(json!({
            "email": "owner@example.com", "code": code, "mode": "token"
        })))
        .await
        .expect(StatusCode::OK);
    assert_eq!(owner["user"]["email_verified"], true);
    let me = app.send(get("/auth/me").bearer(&squatter.token)).await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    let res = app
        .send(post("/auth/sign-in").json(json!({
            "email": "owner@example.com", "password": PASSWORD, "mode": "token"
        })))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    let token = str_of(&owner["session_token"]);
    app.send(get("/auth/me").bearer(&token))
        .await
        .expect(StatusCode::OK);
}

/// ASVS 2.1.3: a long password is kept whole: one that differs only in its last of 128
/// characters does not sign in; nor does one cut short by a character.
#[tokio::test]
async fn long_passwords_are_not_truncated() {
    let app = TestApp::new();
    let password: String = "long passphrase ".repeat(8);
    assert_eq!(password.chars().count(), 128);
    app.send(post("/auth/sign-up").json(json!({
        "email": "long@example.com", "password": password, "mode": "token"
    })))
    .await
    .expect(StatusCode::CREATED);
    let last_changed = format!("{}X", &password[..127]);
    let cut_short = &password[..127];
    for wrong in [last_changed.as_str(), cut_short] {
        let res = app
            .send(post("/auth/sign-in").json(json!({
                "email": "long@example.com", "password": wrong, "mode": "token"
            })))
            .await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    }
    app.send(post("/auth/sign-in").json(json!({
        "email": "long@example.com", "password": password, "mode": "token"
    })))
    .await
    .expect(StatusCode::OK);
}

/// ASVS 2.1.4: any printable Unicode, emoji included, makes a password, and signs in as
/// typed; spaces count and are kept.
#[tokio::test]
async fn unicode_and_emoji_passwords_sign_in() {
    let app = TestApp::new();
    for (email, password) in [
        ("emoji@example.com", "🔐 ключ 鍵 κλειδί 🗝️"),
        ("spaces@example.com", "  leading and trailing  "),
    ] {
        app.send(post("/auth/sign-up").json(json!({
            "email": email, "password": password, "mode": "token"
        })))
        .await
        .expect(StatusCode::CREATED);
        app.send(post("/auth/sign-in").json(json!({
            "email": email, "password": password, "mode": "token"
        })))
        .await
        .expect(StatusCode::OK);
        let trimmed = password.trim();
        let res = app
            .send(post("/auth/sign-in").json(json!({
                "email": email, "password": trimmed, "mode": "token"
            })))
            .await;
        if trimmed != password {
            assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        }
    }
}

/// ASVS 3.1.1: a session token in the URL is never read: the same request authenticates
/// with the token in a header, and is anonymous with it in the query string.
#[tokio::test]
async fn session_tokens_in_the_query_string_are_ignored() {
    let app = TestApp::new();
    let a = app.sign_up("query@example.com").await;
    app.send(get("/auth/me").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    for query in [
        "token",
        "access_token",
        "session",
        "session_token",
        "api_key",
    ] {
        let res = app
            .send(get(&format!("/auth/me?{query}={}", a.token)))
            .await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    }
}
