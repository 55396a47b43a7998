//! `/auth/mfa/totp` and `/auth/mfa/recovery-codes`: enrol, confirm, status, regenerate,
//! disable, over HTTP with the test clock; codes computed from the returned `otpauth://`
//! URI by totp-rs, as an authenticator app would.

mod common;

use auth_core::AuthConfig;
use auth_core::api_keys::RateLimit;
use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

/// The code an app that imported `uri` shows at the app's clock.
fn code(app: &TestApp, uri: &str) -> String {
    let totp = totp_rs::Totp::from_url(uri).unwrap();
    let now = app.auth.now().unix_timestamp();
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// A code that is not `right`.
fn wrong(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn enrol(app: &TestApp, client: &Client) -> Value {
    app.send(post("/auth/mfa/totp").bearer(&client.token))
        .await
        .expect(StatusCode::CREATED)
}

async fn status(app: &TestApp, client: &Client) -> Value {
    app.send(get("/auth/mfa/totp").bearer(&client.token))
        .await
        .expect(StatusCode::OK)
}

#[tokio::test]
async fn enrol_confirm_regenerate_and_disable() {
    let app = TestApp::new();
    let ada = app.sign_up("ada@example.com").await;
    assert_eq!(
        status(&app, &ada).await,
        json!({ "enrolled": false, "confirmed": false, "confirmed_at": null, "recovery_codes_left": 0 })
    );

    let enrolment = enrol(&app, &ada).await;
    let uri = str_of(&enrolment["otpauth_uri"]);
    let secret = str_of(&enrolment["secret_base32"]);
    assert!(
        uri.starts_with("otpauth://totp/auth-rs:ada%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")));
    assert!(str_of(&enrolment["qr_svg"]).starts_with("<svg"));
    let s = status(&app, &ada).await;
    assert_eq!(
        (s["enrolled"].clone(), s["confirmed"].clone()),
        (json!(true), json!(false))
    );

    let right = code(&app, &uri);
    let res = app
        .send(
            post("/auth/mfa/totp/confirm")
                .bearer(&ada.token)
                .json(json!({ "code": wrong(&right) })),
        )
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "CODE_INVALID");
    let codes = app
        .send(
            post("/auth/mfa/totp/confirm")
                .bearer(&ada.token)
                .json(json!({ "code": right })),
        )
        .await
        .expect(StatusCode::OK);
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    assert_eq!(codes.len(), 10);
    let s = status(&app, &ada).await;
    assert_eq!(s["confirmed"], true);
    assert_eq!(s["recovery_codes_left"], 10);
    assert!(s["confirmed_at"].is_string());

    // Confirmed: enrolling or confirming again is a conflict.
    let res = app.send(post("/auth/mfa/totp").bearer(&ada.token)).await;
    assert_error(&res, StatusCode::CONFLICT, "TOTP_ALREADY_ENROLLED");

    // A recovery code works once (the service the MFA challenge calls).
    let user = app
        .auth
        .users()
        .get(&auth_core::Caller::System, ada.id.parse().unwrap())
        .await
        .unwrap();
    let meta = auth_core::RequestMeta::none();
    assert_eq!(
        app.auth
            .totp()
            .use_recovery_code(&user, &codes[0], &meta)
            .await
            .unwrap(),
        9
    );
    // Regenerating is sensitive: the session from before the factor must step up first.
    let res = app
        .send(post("/auth/mfa/recovery-codes").bearer(&ada.token))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "MFA_REQUIRED");
    app.clock.advance(time::Duration::seconds(30));
    let stepped = app
        .send(
            post("/auth/mfa/step-up")
                .bearer(&ada.token)
                .json(json!({ "code": code(&app, &uri) })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(stepped["session"]["aal"], "aal2");
    let res = app.send(get("/auth/me").bearer(&ada.token)).await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "the old session ended"
    );
    let ada = Client {
        token: str_of(&stepped["session_token"]),
        ..ada
    };
    let fresh = app
        .send(post("/auth/mfa/recovery-codes").bearer(&ada.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(fresh["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(status(&app, &ada).await["recovery_codes_left"], 10);
    assert!(
        app.auth
            .totp()
            .use_recovery_code(&user, &codes[1], &meta)
            .await
            .is_err(),
        "the old codes are gone"
    );

    app.send(delete("/auth/mfa/totp").bearer(&ada.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(status(&app, &ada).await["enrolled"], false);
    let res = app.send(delete("/auth/mfa/totp").bearer(&ada.token)).await;
    assert_error(&res, StatusCode::CONFLICT, "TOTP_NOT_ENROLLED");
    let res = app
        .send(post("/auth/mfa/recovery-codes").bearer(&ada.token))
        .await;
    assert_error(&res, StatusCode::CONFLICT, "TOTP_NOT_ENROLLED");
    let res = app
        .send(
            post("/auth/mfa/totp/confirm")
                .bearer(&ada.token)
                .json(json!({ "code": "123456" })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "TOTP_NOT_ENROLLED");
}

#[tokio::test]
async fn the_routes_need_a_signed_in_session() {
    let app = TestApp::new();
    let ada = app.sign_up("ada@example.com").await;
    let (_, key) = app
        .key(&ada, json!({ "name": "ci", "scopes": ["*:*"] }))
        .await;
    let requests = || {
        [
            post("/auth/mfa/totp"),
            get("/auth/mfa/totp"),
            delete("/auth/mfa/totp"),
            post("/auth/mfa/recovery-codes"),
            post("/auth/mfa/totp/confirm").json(json!({ "code": "123456" })),
        ]
    };
    for r in requests() {
        let res = app.send(r).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    }
    for r in requests() {
        let res = app.send(r.api_key(&key)).await;
        assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
}

#[tokio::test]
async fn confirm_takes_a_code_body_only() {
    let app = TestApp::new();
    let ada = app.sign_up("ada@example.com").await;
    enrol(&app, &ada).await;
    for body in [
        json!({}),
        json!({ "code": 123456 }),
        json!({ "code": "1", "x": 1 }),
    ] {
        let res = app
            .send(post("/auth/mfa/totp/confirm").bearer(&ada.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    }
    for code in ["", "12345", "1234567", "abcdef", &"9".repeat(5000)] {
        let res = app
            .send(
                post("/auth/mfa/totp/confirm")
                    .bearer(&ada.token)
                    .json(json!({ "code": code })),
            )
            .await;
        assert_error(&res, StatusCode::BAD_REQUEST, "CODE_INVALID");
    }
}

#[tokio::test]
async fn wrong_codes_are_rate_limited_per_account() {
    let mut config = AuthConfig::insecure_for_tests();
    config.totp.failure_limit = Some(RateLimit {
        max: 3,
        window: time::Duration::HOUR,
    });
    let app = TestApp::with_config(config);
    let ada = app.sign_up("ada@example.com").await;
    let bob = app.sign_up("bob@example.com").await;
    let uri = str_of(&enrol(&app, &ada).await["otpauth_uri"]);
    let right = code(&app, &uri);
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let res = app
            .send(
                post("/auth/mfa/totp/confirm")
                    .bearer(&ada.token)
                    .peer(&format!("{ip}:4000"))
                    .json(json!({ "code": wrong(&right) })),
            )
            .await;
        assert_error(&res, StatusCode::BAD_REQUEST, "CODE_INVALID");
    }
    let res = app
        .send(
            post("/auth/mfa/totp/confirm")
                .bearer(&ada.token)
                .json(json!({ "code": right })),
        )
        .await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(res.header("retry-after").is_some());
    // Another account is not affected.
    let uri = str_of(&enrol(&app, &bob).await["otpauth_uri"]);
    app.send(
        post("/auth/mfa/totp/confirm")
            .bearer(&bob.token)
            .json(json!({ "code": code(&app, &uri) })),
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn the_audit_log_records_each_step() {
    let app = TestApp::new();
    let ada = app.sign_up("ada@example.com").await;
    let uri = str_of(&enrol(&app, &ada).await["otpauth_uri"]);
    app.send(
        post("/auth/mfa/totp/confirm")
            .bearer(&ada.token)
            .json(json!({ "code": code(&app, &uri) })),
    )
    .await
    .expect(StatusCode::OK);
    // A password sign-in now asks for the factor; the challenge completes it at aal2.
    let res = app
        .send(post("/auth/sign-in").json(json!({
            "email": "ada@example.com", "password": PASSWORD, "mode": "token"
        })))
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(res["code"], "MFA_REQUIRED");
    assert_eq!(res["methods"], json!(["totp", "recovery_code"]));
    let res_wrong = app
        .send(post("/auth/mfa/challenge").json(json!({
            "challenge": res["challenge"], "code": "12", "mode": "token"
        })))
        .await;
    assert_error(&res_wrong, StatusCode::BAD_REQUEST, "CODE_INVALID");
    app.clock.advance(time::Duration::seconds(30));
    let done = app
        .send(post("/auth/mfa/challenge").json(json!({
            "challenge": res["challenge"], "code": code(&app, &uri), "mode": "token"
        })))
        .await
        .expect(StatusCode::OK);
    assert_eq!(done["session"]["aal"], "aal2");
    app.send(delete("/auth/mfa/totp").bearer(&str_of(&done["session_token"])))
        .await
        .expect(StatusCode::NO_CONTENT);
    let log = app.log();
    for action in [
        "totp.enrol",
        "totp.confirm",
        "mfa.challenge",
        "totp.disable",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(action) && l.contains(&ada.id)),
            "{action} audited"
        );
    }
}
