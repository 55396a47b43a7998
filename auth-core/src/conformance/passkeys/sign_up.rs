//! Passwordless sign-up with a passkey: the account's first credential is the passkey,
//! under the rules of password sign-up (limits, verification, duplicate addresses).

use crate::conformance::passkeys::authenticator::{SoftAuthenticator, Tweak};
use crate::conformance::passkeys::{env, env_with, sign_in};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::rate_limit::RateLimit;
use crate::verification::{Notice, Purpose};
use crate::{Aal, Caller, ErrorCode, PasskeyDomain, Provider, SignUpOutcome, SignedIn};

/// Signs up `email` with a new passkey of `soft`; expects a session.
pub(crate) async fn passkey_user<S: PasskeyDomain + Clone>(
    env: &Env<S>,
    soft: &SoftAuthenticator,
    email: &str,
) -> SignedIn {
    match sign_up(env, soft, email).await.unwrap() {
        SignUpOutcome::SignedIn(signed) => *signed,
        SignUpOutcome::VerificationRequired(_) => panic!("verification not expected"),
    }
}

async fn sign_up<S: PasskeyDomain + Clone>(
    env: &Env<S>,
    soft: &SoftAuthenticator,
    email: &str,
) -> Result<SignUpOutcome, crate::AuthError> {
    let started = env
        .auth
        .passkeys()
        .sign_up_start(email, Some("Ada"), &meta())
        .await?;
    let response = soft.register(&started.options);
    env.auth
        .passkeys()
        .sign_up_finish(started.handle.expose(), &response, &meta())
        .await
}

pub async fn sign_up_creates_a_user_whose_only_credential_is_the_passkey<
    S: PasskeyDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let soft = SoftAuthenticator::new();
    let signed = passkey_user(&env, &soft, "New@Example.com").await;
    assert_eq!(signed.user.email.as_str(), "new@example.com");
    assert_eq!(signed.user.name.as_deref(), Some("Ada"));
    assert!(!signed.user.email_verified);
    assert_eq!(signed.session.aal, Aal::Aal2);
    let accounts = env.store().list_accounts(signed.user.id).await.unwrap();
    assert!(
        accounts.iter().all(|a| a.provider != Provider::password()),
        "no password"
    );
    let passkeys = env
        .auth
        .passkeys()
        .list(&Caller::System, signed.user.id)
        .await
        .unwrap();
    assert_eq!(passkeys.len(), 1);
    assert_eq!(passkeys[0].credential_id, soft.credentials()[0].id);
    assert_eq!(
        soft.credentials()[0].user_handle,
        signed.user.id.as_uuid().as_bytes().to_vec(),
        "the user handle is the user id"
    );
    // No password sign-in for this user; the passkey signs in.
    assert_code(
        env.auth
            .password()
            .sign_in(
                "new@example.com",
                &crate::Secret::new(crate::conformance::PASSWORD),
                &meta(),
            )
            .await,
        ErrorCode::InvalidCredentials,
    );
    let again = sign_in(&env, &soft, None, Tweak::default()).await.unwrap();
    assert_eq!(again.user.id, signed.user.id);
    assert_eq!(env.audit_trail("user.sign_up").await, vec![(true, None)]);
}

pub async fn sign_up_refuses_a_taken_address_as_password_sign_up_does<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env(h.store);
    env.user("taken@example.com").await;
    let soft = SoftAuthenticator::new();
    assert_code(
        env.auth
            .passkeys()
            .sign_up_start("taken@example.com", None, &meta())
            .await,
        ErrorCode::EmailInUse,
    );
    assert_code(
        env.auth
            .passkeys()
            .sign_up_start("not an address", None, &meta())
            .await,
        ErrorCode::InvalidEmail,
    );
    // Taken between start and finish: refused at finish, nothing written.
    let started = env
        .auth
        .passkeys()
        .sign_up_start("race@example.com", None, &meta())
        .await
        .unwrap();
    env.user("race@example.com").await;
    let response = soft.register(&started.options);
    assert_code(
        env.auth
            .passkeys()
            .sign_up_finish(started.handle.expose(), &response, &meta())
            .await,
        ErrorCode::EmailInUse,
    );
    assert!(
        env.store()
            .find_passkey_by_credential(&soft.credentials()[0].id)
            .await
            .unwrap()
            .is_none()
    );
    let trail = env.audit_trail("user.sign_up").await;
    assert!(trail.contains(&(false, Some("EMAIL_IN_USE".into()))));
}

pub async fn enumeration_safe_sign_up_answers_a_taken_address_like_a_new_one<
    S: PasskeyDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = env_with(h.store, |c| {
        c.require_email_verification = true;
        c.enumeration_safe_sign_up = true;
    });
    env.auth
        .password()
        .sign_up(
            crate::SignUp {
                email: "owner@example.com".into(),
                password: crate::Secret::new(crate::conformance::PASSWORD),
                name: None,
                extend: None,
            },
            &meta(),
        )
        .await
        .unwrap();
    let soft = SoftAuthenticator::new();
    let taken = sign_up(&env, &soft, "owner@example.com").await.unwrap();
    let fresh = sign_up(&env, &soft, "fresh@example.com").await.unwrap();
    assert!(matches!(taken, SignUpOutcome::VerificationRequired(_)));
    assert!(matches!(fresh, SignUpOutcome::VerificationRequired(_)));
    assert!(
        env.mailer
            .last("fresh@example.com", Purpose::VerifyEmail)
            .is_some()
    );
    assert!(
        env.mailer.notices().iter().any(|n| matches!(
            n,
            Notice::SignUpAttempted { to } if to.as_str() == "owner@example.com"
        )),
        "the owner is told someone tried to sign up with their address"
    );
    // The fresh account waits for its address: no passkey sign-in until verified.
    assert_code(
        sign_in(&env, &soft, None, Tweak::default()).await,
        ErrorCode::EmailNotVerified,
    );
}

pub async fn sign_up_is_limited_per_client_network<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env_with(h.store, |c| {
        c.sign_up_limit = Some(RateLimit {
            max: 2,
            window: time::Duration::HOUR,
        })
    });
    for i in 0..2 {
        env.auth
            .passkeys()
            .sign_up_start(&format!("n{i}@example.com"), None, &meta())
            .await
            .unwrap();
    }
    assert_code(
        env.auth
            .passkeys()
            .sign_up_start("n3@example.com", None, &meta())
            .await,
        ErrorCode::RateLimited,
    );
    assert_eq!(
        env.audit_trail("user.sign_up").await.last(),
        Some(&(false, Some("RATE_LIMITED".into())))
    );
}
