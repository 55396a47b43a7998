//! Recovery takes an account from whoever held it before the owner proved the address:
//! a password reset, and the first emailed sign-in to an unverified account, end every
//! credential minted before it.

use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::verification::Purpose;
use crate::{Answer, Caller, CoreStore, ErrorCode, Provider, Secret, SignedIn, User};

/// Resets `email`'s password to `new` with the emailed code.
pub(crate) async fn reset<S: CoreStore + Clone>(env: &Env<S>, email: &str, new: &str) -> User {
    env.auth.password().forgot(email, &meta()).await.unwrap();
    let mail = env.mailer.last(email, Purpose::ResetPassword).unwrap();
    env.auth
        .password()
        .reset(
            Answer::Code {
                email,
                code: mail.code.expose(),
            },
            &Secret::new(new),
            &meta(),
        )
        .await
        .unwrap()
}

/// Asserts that neither the session nor the refresh token of `held` works any more.
pub(crate) async fn assert_ended<S: CoreStore + Clone>(env: &Env<S>, held: &SignedIn) {
    assert_code(
        env.auth
            .sessions()
            .validate(held.session_token.expose())
            .await,
        ErrorCode::SessionRevoked,
    );
    assert_code(
        env.auth
            .sessions()
            .refresh(held.refresh_token.expose(), &meta())
            .await,
        ErrorCode::SessionRevoked,
    );
}

/// The `detail` of the newest `user.credentials_ended` event.
pub(crate) async fn credentials_ended<S: CoreStore + Clone>(env: &Env<S>) -> serde_json::Value {
    let events = env
        .auth
        .audit()
        .list(
            &Caller::System,
            crate::ListQuery::new(
                crate::audit::AuditFilter {
                    action: Some("user.credentials_ended".into()),
                    ..crate::audit::AuditFilter::default()
                },
                crate::audit::AuditOrder::At,
            ),
        )
        .await
        .unwrap()
        .items;
    let event = events.last().expect("user.credentials_ended was audited");
    assert!(event.ok);
    event.detail.clone()
}

pub async fn reset_ends_every_session_and_refresh_token<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let first = env.user("owner@example.com").await;
    let second = env.sign_in("owner@example.com").await;
    let user = reset(&env, "owner@example.com", "the owner's own password").await;
    assert!(user.email_verified);
    assert_ended(&env, &first).await;
    assert_ended(&env, &second).await;
    let detail = credentials_ended(&env).await;
    assert_eq!(detail["cause"], "password_reset");
    env.auth
        .password()
        .sign_in(
            "owner@example.com",
            &Secret::new("the owner's own password"),
            &meta(),
        )
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
}

pub async fn first_email_sign_in_takes_an_unverified_account_from_its_creator<
    S: CoreStore + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    // Someone signs up with an address that is not theirs (verification is off).
    let squatter = env.user("victim@example.com").await;
    assert!(!squatter.user.email_verified);
    // The owner of the address signs in with an emailed link: the first proof of it.
    let owner = env.sign_in_by_link("victim@example.com").await;
    assert_eq!(owner.user.id, squatter.user.id);
    assert!(owner.user.email_verified);
    assert_ended(&env, &squatter).await;
    assert_code(
        env.auth
            .password()
            .sign_in("victim@example.com", &Secret::new(PASSWORD), &meta())
            .await
            .and_then(crate::SignInOutcome::signed_in),
        ErrorCode::InvalidCredentials,
    );
    let accounts = env
        .auth
        .accounts()
        .list(&Caller::System, owner.user.id)
        .await
        .unwrap();
    let providers: Vec<&str> = accounts.iter().map(|a| a.provider.as_str()).collect();
    assert_eq!(providers, [Provider::EMAIL], "only emailed codes remain");
    let detail = credentials_ended(&env).await;
    assert_eq!(detail["cause"], "email_sign_in");
    assert_eq!(detail["sign_in_methods"], 1);
    assert_eq!(detail["sessions"], 1);
    // The owner's own session works, and sets a password of their own from it.
    let me = env
        .auth
        .sessions()
        .validate(owner.session_token.expose())
        .await
        .unwrap();
    let new_password = Secret::new("the owner's own password");
    env.auth
        .password()
        .change(&me, None, &new_password, &meta())
        .await
        .unwrap();
    env.auth
        .password()
        .sign_in("victim@example.com", &new_password, &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
}

pub async fn email_sign_in_to_a_verified_account_keeps_its_credentials<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let first = env.user("kept@example.com").await;
    reset(&env, "kept@example.com", "a verified password").await;
    let signed_in = env
        .auth
        .password()
        .sign_in(
            "kept@example.com",
            &Secret::new("a verified password"),
            &meta(),
        )
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    let ended_before = env.audit_trail("user.credentials_ended").await.len();
    env.sign_in_by_link("kept@example.com").await;
    // Only the reset ended anything; the emailed sign-in to a verified account did not.
    assert_ended(&env, &first).await;
    env.auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
    env.auth
        .password()
        .sign_in(
            "kept@example.com",
            &Secret::new("a verified password"),
            &meta(),
        )
        .await
        .and_then(crate::SignInOutcome::signed_in)
        .unwrap();
    assert_eq!(
        env.audit_trail("user.credentials_ended").await.len(),
        ended_before
    );
}
