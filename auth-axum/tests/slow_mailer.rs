//! Fault injection, the mailer: one that takes seconds and one that fails. The flows that
//! must not reveal whether an address has an account (sign-up, the emailed sign-in code,
//! the password reset) answer at once, the same for an address with or without an account,
//! through the default outbox (`SpawnOutbox`); slow mail is delivered later, and a failing
//! mailer is logged without the code or link token and never turns into a 500.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auth_axum::{AuthState, HttpConfig};
use auth_core::error::BoxError;
use auth_core::verification::{Notice, OutgoingEmail};
use auth_core::{Auth, AuthConfig, Mailer, Purpose, RecordingMailer, SecretKey};
use auth_memory::MemoryStore;
use axum::Router;
use axum::http::StatusCode;
use common::ledger::Capture;
use common::*;
use serde_json::{Value, json};

/// How long the slow mailer takes per email.
const MAIL_DELAY: Duration = Duration::from_secs(5);
/// The most a request may take while the mailer is slow: well under [`MAIL_DELAY`].
const PROMPT: Duration = Duration::from_secs(1);

/// A mailer that takes [`MAIL_DELAY`] to send anything, then records it.
#[derive(Debug, Clone, Default)]
struct SlowMailer(RecordingMailer);

#[async_trait]
impl Mailer for SlowMailer {
    async fn send(&self, email: OutgoingEmail) -> Result<(), BoxError> {
        tokio::time::sleep(MAIL_DELAY).await;
        self.0.send(email).await
    }

    async fn notify(&self, notice: Notice) -> Result<(), BoxError> {
        tokio::time::sleep(MAIL_DELAY).await;
        self.0.notify(notice).await
    }
}

/// A mailer that always fails, the worst way: its error quotes the message, secrets and
/// all. It keeps every code and link token it was handed, so the test can look for them.
#[derive(Debug, Clone, Default)]
struct FailingMailer {
    secrets: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Mailer for FailingMailer {
    async fn send(&self, email: OutgoingEmail) -> Result<(), BoxError> {
        let code = email.code.expose().to_owned();
        let link = email.link_token.expose().to_owned();
        self.secrets
            .lock()
            .unwrap()
            .extend([code.clone(), link.clone()]);
        Err(format!("550 rejected: message with code {code} and link {link}").into())
    }

    async fn notify(&self, _notice: Notice) -> Result<(), BoxError> {
        Err("550 rejected: notice".into())
    }
}

/// An app on the real clock with the default outbox (`SpawnOutbox`: deliveries run off
/// the request path) and `mailer`.
fn app_with(mailer: impl Mailer + 'static, config: AuthConfig) -> Router {
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(config)
        .mailer(mailer)
        .build()
        .unwrap();
    AuthState::new(auth, HttpConfig::localhost(ORIGIN).unwrap()).router()
}

/// Sends `r` and returns the response with how long it took.
async fn timed(app: &Router, r: Req) -> (Res, Duration) {
    let started = Instant::now();
    let res = send(app, r).await;
    (res, started.elapsed())
}

/// Posts `body` to `path` for an address with an account and for one without; asserts both
/// answer `status` promptly, with the same body once the address is taken out.
async fn same_answer(app: &Router, path: &str, known: Value, unknown: Value, status: StatusCode) {
    let (known_res, known_took) = timed(app, post(path).json(known)).await;
    let (unknown_res, unknown_took) = timed(app, post(path).json(unknown)).await;
    for (res, took) in [(&known_res, known_took), (&unknown_res, unknown_took)] {
        assert_eq!(res.status, status, "{path}: {}", res.text());
        assert!(took < PROMPT, "{path} took {took:?} with a slow mailer");
    }
    assert_eq!(
        shape(&known_res.expect(status)),
        shape(&unknown_res.expect(status)),
        "{path}: the bodies differ by more than the address and a new id"
    );
}

/// The password reset and the emailed sign-in code for `known@example.com` (an account)
/// and `nobody@example.com` (none): [`same_answer`], `202` both.
async fn mailing_flows_answer_alike(app: &Router) {
    for path in ["/auth/password/forgot", "/auth/sign-in/email/send"] {
        same_answer(
            app,
            path,
            json!({ "email": "known@example.com" }),
            json!({ "email": "nobody@example.com" }),
            StatusCode::ACCEPTED,
        )
        .await;
    }
}

/// A body with the values that differ by nature (the address, a new user's id and times)
/// blanked, so two answers can be compared.
fn shape(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let blank = matches!(
                        k.as_str(),
                        "id" | "email" | "created_at" | "updated_at" | "name"
                    );
                    (k.clone(), if blank { Value::Null } else { shape(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

/// Waits (up to 3 mail delays) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + 3 * MAIL_DELAY;
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_slow_mailer_delays_no_answer_and_tells_no_account_apart() {
    let mut config = AuthConfig::insecure_for_tests();
    config.require_email_verification = true;
    config.enumeration_safe_sign_up = true;
    let mailer = SlowMailer::default();
    let app = app_with(mailer.clone(), config);
    let started = Instant::now();

    let sign_up = |email: &str| json!({ "email": email, "password": PASSWORD, "mode": "token" });
    let (first, took) = timed(
        &app,
        post("/auth/sign-up").json(sign_up("known@example.com")),
    )
    .await;
    first.expect(StatusCode::ACCEPTED);
    assert!(took < PROMPT, "sign-up took {took:?} with a slow mailer");
    // The taken address is answered as a new one, as promptly.
    same_answer(
        &app,
        "/auth/sign-up",
        sign_up("known@example.com"),
        sign_up("new@example.com"),
        StatusCode::ACCEPTED,
    )
    .await;
    mailing_flows_answer_alike(&app).await;
    assert!(
        started.elapsed() < MAIL_DELAY,
        "every answer came before the first mail could be sent"
    );

    // Then the mail arrives: to the address with an account, each kind once, and nothing
    // to the one without.
    let inbox = mailer.0.clone();
    eventually("the slow mail is delivered", || {
        [
            Purpose::VerifyEmail,
            Purpose::ResetPassword,
            Purpose::SignIn,
        ]
        .iter()
        .all(|p| inbox.last("known@example.com", *p).is_some())
            && inbox
                .last("new@example.com", Purpose::VerifyEmail)
                .is_some()
            && !inbox.notices().is_empty()
    })
    .await;
    assert!(
        started.elapsed() >= MAIL_DELAY,
        "the mailer really was slow"
    );
    for purpose in [
        Purpose::VerifyEmail,
        Purpose::ResetPassword,
        Purpose::SignIn,
    ] {
        assert!(inbox.last("nobody@example.com", purpose).is_none());
    }
    assert_eq!(
        inbox.notices(),
        [Notice::SignUpAttempted {
            to: auth_core::Email::parse("known@example.com").unwrap()
        }]
    );
    // The delivered code works.
    let code = inbox
        .last("known@example.com", Purpose::ResetPassword)
        .unwrap();
    send(
        &app,
        post("/auth/password/reset").json(json!({
            "email": "known@example.com",
            "code": code.code.expose(),
            "password": "a brand new passphrase",
        })),
    )
    .await
    .expect(StatusCode::OK);
}

// The default current-thread runtime: the outbox's tasks run on this thread, under the
// subscriber set here.
#[tokio::test]
async fn a_failing_mailer_is_logged_without_secrets_and_never_a_500() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.subscriber());
    let mailer = FailingMailer::default();
    let app = app_with(mailer.clone(), AuthConfig::insecure_for_tests());

    let signed_up = send(
        &app,
        post("/auth/sign-up").json(json!({
            "email": "known@example.com", "password": PASSWORD, "mode": "token"
        })),
    )
    .await
    .expect(StatusCode::CREATED);
    let token = signed_up["session_token"].as_str().unwrap().to_owned();
    // The flows that hide accounts answer as usual; the failure is theirs to log.
    mailing_flows_answer_alike(&app).await;
    // Asking for one's own verification mail reveals nothing: the failure is reported,
    // as a bad gateway with a stable code, not a 500.
    let res = send(&app, post("/auth/verify-email/send").bearer(&token)).await;
    let error = assert_error(&res, StatusCode::BAD_GATEWAY, "DELIVERY_FAILED");

    let handed = Arc::clone(&mailer.secrets);
    eventually("the three deliveries were tried", || {
        handed.lock().unwrap().len() == 6
    })
    .await;
    eventually("the two deferred failures were logged", || {
        capture.text().matches("email not delivered").count() == 2
    })
    .await;
    let log = capture.text();
    let body = error.to_string();
    for secret in handed.lock().unwrap().iter() {
        assert!(!log.contains(secret.as_str()), "a code or token was logged");
        assert!(
            !body.contains(secret.as_str()),
            "a code or token was answered"
        );
    }
    // The mailer's reason is logged, scrubbed.
    assert!(
        log.contains("550 rejected: message with code [redacted] and link [redacted]"),
        "{log}"
    );
}
