//! No secret, token, password or code reaches a log line or an error message.
//!
//! Captures every tracing event at TRACE level (including the default audit sink's events)
//! while a user goes through every flow, then searches the output for each secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use auth_core::verification::Purpose;
use auth_core::{
    Answer, Auth, AuthConfig, RecordingMailer, RequestMeta, Secret, SecretKey, SignUp,
    SignUpOutcome,
};
use auth_memory::MemoryStore;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_or_errors() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let password = "Tr0ub4dor&3-very-secret";
    let new_password = "another-Secret-passphrase-9";
    let mailer = RecordingMailer::new();
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .mailer(mailer.clone())
        .outbox(auth_core::verification::InlineOutbox)
        .build()
        .unwrap();
    let meta = RequestMeta::none().with_request_id("req-1");
    let mut secrets: Vec<String> = vec![password.into(), new_password.into()];
    let mut errors: Vec<String> = Vec::new();

    let SignUpOutcome::SignedIn(signed_up) = auth
        .password()
        .sign_up(
            SignUp {
                email: "leak@example.com".into(),
                password: Secret::new(password),
                name: None,
                extend: None,
            },
            &meta,
        )
        .await
        .unwrap()
    else {
        panic!("signed in");
    };
    secrets.push(signed_up.session_token.expose().into());
    secrets.push(signed_up.refresh_token.expose().into());
    errors.push(format!("{signed_up:?}"));

    // TOTP: the seed, the codes and the recovery codes.
    let who = auth
        .sessions()
        .validate(signed_up.session_token.expose())
        .await
        .unwrap();
    let enrolment = auth.totp().enrol(&who, &meta).await.unwrap();
    secrets.push(enrolment.secret_base32.expose().into());
    errors.push(format!("{enrolment:?}"));
    let app = totp_rs::Totp::from_url(enrolment.otpauth_uri.expose()).unwrap();
    let code = app
        .generate(u64::try_from(auth.now().unix_timestamp()).unwrap())
        .to_string();
    let recovery = auth.totp().confirm(&who, &code, &meta).await.unwrap();
    secrets.push(code.clone());
    errors.push(format!("{recovery:?}"));
    for c in recovery.codes() {
        secrets.push(c.expose().into());
    }
    let replayed = auth
        .totp()
        .verify(&signed_up.user, &code, &meta)
        .await
        .unwrap_err();
    errors.push(format!("{replayed} {replayed:?}"));
    let first = recovery.codes()[0].expose();
    auth.totp()
        .use_recovery_code(&signed_up.user, first, &meta)
        .await
        .unwrap();
    let reused = auth
        .totp()
        .use_recovery_code(&signed_up.user, first, &meta)
        .await
        .unwrap_err();
    errors.push(format!("{reused} {reused:?}"));

    // Wrong password, unknown user, oversized password.
    for (email, pw) in [
        ("leak@example.com", format!("{password}x")),
        ("nobody@example.com", password.to_owned()),
        ("leak@example.com", password.repeat(50_000)),
    ] {
        let err = auth
            .password()
            .sign_in(email, &Secret::new(pw.clone()), &meta)
            .await
            .and_then(auth_core::SignInOutcome::signed_in)
            .unwrap_err();
        errors.push(format!("{err} {err:?}"));
        secrets.push(pw);
    }
    // The user holds TOTP: the password gives a challenge, a recovery code completes it.
    let outcome = auth
        .password()
        .sign_in("leak@example.com", &Secret::new(password), &meta)
        .await
        .unwrap();
    errors.push(format!("{outcome:?}"));
    let Some(challenge) = outcome.challenge() else {
        panic!("a user with TOTP got a session from a password");
    };
    secrets.push(challenge.token.expose().into());
    let wrong = auth
        .totp()
        .complete_challenge(challenge.token.expose(), "000000", &meta)
        .await
        .unwrap_err();
    errors.push(format!("{wrong} {wrong:?}"));
    let signed_in = auth
        .totp()
        .complete_challenge_with_recovery_code(
            challenge.token.expose(),
            recovery.codes()[1].expose(),
            &meta,
        )
        .await
        .unwrap();
    secrets.push(signed_in.session_token.expose().into());
    secrets.push(signed_in.refresh_token.expose().into());

    let refreshed = auth
        .sessions()
        .refresh(signed_in.refresh_token.expose(), &meta)
        .await
        .unwrap();
    secrets.push(refreshed.session_token.expose().into());
    secrets.push(refreshed.refresh_token.expose().into());
    let reused = auth
        .sessions()
        .refresh(signed_in.refresh_token.expose(), &meta)
        .await
        .unwrap_err();
    errors.push(format!("{reused} {reused:?}"));

    auth.password()
        .forgot("leak@example.com", &meta)
        .await
        .unwrap();
    let mail = mailer
        .last("leak@example.com", Purpose::ResetPassword)
        .unwrap();
    secrets.push(mail.code.expose().into());
    secrets.push(mail.link_token.expose().into());
    errors.push(format!("{mail:?}"));
    let bad_code = auth
        .password()
        .reset(
            Answer::Code {
                email: "leak@example.com",
                code: "000000",
            },
            &Secret::new(new_password),
            &meta,
        )
        .await;
    if let Err(err) = bad_code {
        errors.push(format!("{err} {err:?}"));
    }
    auth.password()
        .reset(
            Answer::Link(mail.link_token.expose()),
            &Secret::new(new_password),
            &meta,
        )
        .await
        .unwrap();
    auth.sessions()
        .sign_out(signed_up.session_token.expose(), &meta)
        .await
        .unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture really saw the flows (so this test can fail).
    for expected in [
        "password.sign_in",
        "user.sign_in",
        "session.refresh",
        "totp.confirm",
        "recovery_code.use",
        "req-1",
    ] {
        assert!(logs.contains(expected), "log lacks {expected}:\n{logs}");
    }
    for secret in &secrets {
        let probe = &secret[..secret.len().min(64)];
        assert!(!logs.contains(probe), "a secret reached the logs");
        for message in &errors {
            assert!(
                !message.contains(probe),
                "a secret reached an error: {message}"
            );
        }
    }
}
