//! What the flows that anyone may call tell about which addresses have accounts: forgot
//! password and sign-in codes do the same work on the request path for every address and
//! mail off it (through the outbox); sign-up can answer a taken address as a new one.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore};

use crate::conformance::{Env, Harness, HeldOutbox, PASSWORD, assert_code, meta};
use crate::error::BoxError;
use crate::verification::{Mailer, Notice, OutgoingEmail, Purpose};
use crate::{
    Answer, Auth, AuthConfig, Caller, CoreStore, ErrorCode, RecordingMailer, Secret, SecretKey,
    SignUp, SignUpOutcome, User,
};

const KNOWN: &str = "known@example.com";
const UNKNOWN: &str = "unknown@example.com";

fn sign_up(email: &str, password: &str) -> SignUp {
    SignUp {
        email: email.into(),
        password: Secret::new(password),
        name: None,
        extend: None,
    }
}

pub async fn forgot_password_does_the_same_work_for_every_address<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let outbox = HeldOutbox::default();
    let env = Env::with_outbox(h.store, Arc::new(outbox.clone()), |_| {});
    env.user(KNOWN).await;
    for (n, email) in [KNOWN, UNKNOWN].into_iter().enumerate() {
        env.auth.password().forgot(email, &meta()).await.unwrap();
        assert_eq!(outbox.len(), n + 1, "one delivery handed over for {email}");
    }
    assert!(
        env.mailer.messages().is_empty(),
        "nothing is mailed on the request path"
    );
    assert_eq!(
        env.audit_trail("user.password_reset_requested").await.len(),
        2,
        "one audit event for either address"
    );
    outbox.release().await;
    let mails = env.mailer.messages();
    assert_eq!(mails.len(), 1, "only the known address gets mail");
    assert_eq!(mails[0].to.as_str(), KNOWN);
    env.auth
        .password()
        .reset(
            Answer::Link(mails[0].link_token.expose()),
            &Secret::new("a brand new password"),
            &meta(),
        )
        .await
        .unwrap();
}

pub async fn sign_in_codes_do_the_same_work_for_every_address<S: CoreStore + Clone>(h: Harness<S>) {
    let outbox = HeldOutbox::default();
    let env = Env::with_outbox(h.store, Arc::new(outbox.clone()), |_| {});
    env.user(KNOWN).await;
    for (n, email) in [KNOWN, UNKNOWN].into_iter().enumerate() {
        env.auth
            .email()
            .send_sign_in_code(email, &meta())
            .await
            .unwrap();
        assert_eq!(outbox.len(), n + 1, "one delivery handed over for {email}");
    }
    assert!(env.mailer.messages().is_empty());
    assert_eq!(
        env.audit_trail("email.sign_in_code_requested").await.len(),
        2
    );
    outbox.release().await;
    let mail = env.mailer.last(KNOWN, Purpose::SignIn).unwrap();
    assert_eq!(env.mailer.messages().len(), 1);
    env.auth
        .email()
        .sign_in(Answer::Link(mail.link_token.expose()), &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
}

/// A mailer that holds every email until the test opens its gate.
#[derive(Debug, Clone)]
struct GatedMailer {
    gate: Arc<Semaphore>,
    delivered: Arc<Notify>,
    sent: RecordingMailer,
}

#[async_trait]
impl Mailer for GatedMailer {
    async fn send(&self, email: OutgoingEmail) -> Result<(), BoxError> {
        let _open = self.gate.acquire().await?;
        self.sent.send(email).await?;
        self.delivered.notify_one();
        Ok(())
    }
}

pub async fn forgot_password_does_not_wait_for_the_mailer<S: CoreStore + Clone>(h: Harness<S>) {
    let mailer = GatedMailer {
        gate: Arc::new(Semaphore::new(0)),
        delivered: Arc::new(Notify::new()),
        sent: RecordingMailer::new(),
    };
    // The default outbox.
    let auth = Auth::builder(h.store)
        .mailer(mailer.clone())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .build()
        .unwrap();
    auth.password()
        .sign_up(sign_up(KNOWN, PASSWORD), &meta())
        .await
        .unwrap();
    // The mailer does not finish until the gate opens: a forgot that waited for it would
    // never return (the timeout only turns that hang into a failure).
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        auth.password().forgot(KNOWN, &meta()),
    )
    .await
    .expect("forgot returned while the mailer was still sending")
    .unwrap();
    assert!(mailer.sent.messages().is_empty());
    mailer.gate.add_permits(1);
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        mailer.delivered.notified(),
    )
    .await
    .expect("the mail goes out once the mailer can send");
    assert_eq!(
        mailer
            .sent
            .last(KNOWN, Purpose::ResetPassword)
            .unwrap()
            .to
            .as_str(),
        KNOWN
    );
}

fn pending(outcome: SignUpOutcome) -> User {
    match outcome {
        SignUpOutcome::VerificationRequired(user) => user,
        SignUpOutcome::SignedIn(_) => panic!("a pending verification was expected"),
    }
}

pub async fn enumeration_safe_sign_up_answers_a_taken_address_as_a_new_one<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let outbox = HeldOutbox::default();
    let env = Env::with_outbox(h.store, Arc::new(outbox.clone()), |c| {
        c.require_email_verification = true;
        c.enumeration_safe_sign_up = true;
    });
    let owner = pending(
        env.auth
            .password()
            .sign_up(sign_up(KNOWN, PASSWORD), &meta())
            .await
            .unwrap(),
    );
    let answered = pending(
        env.auth
            .password()
            .sign_up(sign_up(KNOWN, "someone else's password"), &meta())
            .await
            .unwrap(),
    );
    assert_eq!(outbox.len(), 2, "one delivery each");
    assert_eq!(answered.email, owner.email);
    assert!(!answered.email_verified);
    assert_ne!(answered.id, owner.id, "the answer names no real user");
    assert_code(
        env.auth.users().get(&Caller::System, answered.id).await,
        ErrorCode::UserNotFound,
    );
    outbox.release().await;
    assert_eq!(
        env.mailer.notices(),
        [Notice::SignUpAttempted {
            to: owner.email.clone()
        }],
        "the owner hears of it"
    );
    assert_eq!(
        env.mailer.messages().len(),
        1,
        "the owner's own verification"
    );
    assert_eq!(
        env.audit_trail("user.sign_up").await,
        [(true, None), (false, Some("EMAIL_IN_USE".into()))]
    );
    // The account is untouched: the other password does not sign in.
    assert_code(
        env.auth
            .password()
            .sign_in(KNOWN, &Secret::new("someone else's password"), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
}

pub async fn sign_up_of_a_taken_address_is_email_in_use_by_default<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| c.require_email_verification = true);
    env.auth
        .password()
        .sign_up(sign_up(KNOWN, PASSWORD), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .password()
            .sign_up(sign_up(KNOWN, PASSWORD), &meta())
            .await,
        ErrorCode::EmailInUse,
    );
    assert!(env.mailer.notices().is_empty());
}
