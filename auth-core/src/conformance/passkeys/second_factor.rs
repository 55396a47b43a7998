//! A passkey as the second factor of a user identified already (the MFA challenge's and
//! step-up's building block): no session is started; the answer is whether it verified
//! and whether the user was verified. Then the sign-in challenge completed with a passkey:
//! a password user who holds one gets `MFA_REQUIRED`, and the passkey turns the challenge
//! into an `aal2` session, once, for its own user only.

use crate::conformance::passkeys::authenticator::{SoftAuthenticator, Tweak};
use crate::conformance::passkeys::{env, env_with, with_passkey};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::{Aal, AuthError, ErrorCode, PasskeyDomain, SignedIn};

pub async fn a_passkey_verifies_a_known_user<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let peer = env.node(h.peer);
    let (signed_in, soft, passkey) = with_passkey(&env, "mfa@example.com").await;
    let user = signed_in.user.id;
    let started = env.auth.passkeys().start_for_user(user).await.unwrap();
    let allowed = started.options["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(allowed.len(), 1);
    let response = soft.assert(&started.options);
    // Finished on another node.
    let verified = peer
        .auth
        .passkeys()
        .finish_for_user(user, started.handle.expose(), &response, &meta())
        .await
        .unwrap();
    assert!(verified, "user verification was performed");
    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 1);
    assert_code(
        env.auth
            .passkeys()
            .finish_for_user(user, started.handle.expose(), &response, &meta())
            .await,
        ErrorCode::CeremonyInvalid,
    );
    assert_eq!(
        env.audit_trail("passkey.verify").await,
        vec![(true, None), (false, Some("CEREMONY_INVALID".into()))]
    );
}

pub async fn a_second_factor_is_bound_to_its_user<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (alice, _, _) = with_passkey(&env, "alice@example.com").await;
    let (bob, bob_soft, _) = with_passkey(&env, "bob@example.com").await;
    let nobody = env.user("nopasskey@example.com").await;
    assert_code(
        env.auth.passkeys().start_for_user(nobody.user.id).await,
        ErrorCode::PasskeyNotFound,
    );
    // Alice's ceremony finished as Bob: refused.
    let started = env
        .auth
        .passkeys()
        .start_for_user(alice.user.id)
        .await
        .unwrap();
    let response = bob_soft.assert_with(
        &started.options,
        Tweak {
            credential: Some(bob_soft.credentials()[0].id.clone()),
            ..Tweak::default()
        },
    );
    assert_code(
        env.auth
            .passkeys()
            .finish_for_user(bob.user.id, started.handle.expose(), &response, &meta())
            .await,
        ErrorCode::CeremonyInvalid,
    );
    // Alice's ceremony answered with Bob's passkey: refused as another user's.
    let started = env
        .auth
        .passkeys()
        .start_for_user(alice.user.id)
        .await
        .unwrap();
    let response = bob_soft.assert_with(
        &started.options,
        Tweak {
            credential: Some(bob_soft.credentials()[0].id.clone()),
            ..Tweak::default()
        },
    );
    assert_code(
        env.auth
            .passkeys()
            .finish_for_user(alice.user.id, started.handle.expose(), &response, &meta())
            .await,
        ErrorCode::PasskeyUserMismatch,
    );
}

/// Completes `token` with `soft`'s answer (made by `tweak`) to the challenge's options,
/// started on `env` and finished on `finisher`.
async fn complete<S: PasskeyDomain + Clone>(
    env: &Env<S>,
    finisher: &Env<S>,
    token: &str,
    soft: &SoftAuthenticator,
    tweak: Tweak,
) -> Result<SignedIn, AuthError> {
    let started = env.auth.passkeys().start_challenge(token, &meta()).await?;
    let response = soft.assert_with(&started.options, tweak);
    finisher
        .auth
        .passkeys()
        .finish_challenge(token, started.handle.expose(), &response, &meta())
        .await
}

pub async fn a_passkey_completes_a_password_sign_ins_challenge<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let peer = env.node(h.peer);
    let (signed_in, soft, passkey) = with_passkey(&env, "second@example.com").await;
    let token = env.mfa_challenge("second@example.com", &["passkey"]).await;
    // Started on one node, finished on another.
    let done = complete(&env, &peer, &token, &soft, Tweak::default())
        .await
        .unwrap();
    assert_eq!(done.user.id, signed_in.user.id);
    assert_eq!(done.session.aal, Aal::Aal2);
    let me = env
        .auth
        .sessions()
        .validate(done.session_token.expose())
        .await
        .unwrap();
    assert_eq!(me.session.aal, Aal::Aal2);
    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 1, "the sign-in counted on the passkey");
    // Used: the same challenge gives nothing more, not even the options (which name the
    // user's credentials); nor does a forged token naming the user.
    assert_code(
        env.auth.passkeys().start_challenge(&token, &meta()).await,
        ErrorCode::MfaChallengeInvalid,
    );
    let forged = format!(
        "{}.{}",
        signed_in.user.id.as_uuid().simple(),
        "A".repeat(43)
    );
    let fresh = env.mfa_challenge("second@example.com", &["passkey"]).await;
    assert_ne!(fresh, forged);
    assert_code(
        env.auth.passkeys().start_challenge(&forged, &meta()).await,
        ErrorCode::MfaChallengeInvalid,
    );
    assert_eq!(
        env.audit_trail("mfa.challenge").await,
        [
            (true, None),
            (false, Some("MFA_CHALLENGE_INVALID".into())),
            (false, Some("MFA_CHALLENGE_INVALID".into())),
        ]
    );
}

pub async fn a_challenge_refuses_another_users_passkey_and_counts_the_attempt<
    S: PasskeyDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let (alice, alice_soft, _) = with_passkey(&env, "alice@example.com").await;
    let (_, bob_soft, _) = with_passkey(&env, "bob@example.com").await;
    let token = env.mfa_challenge("alice@example.com", &["passkey"]).await;
    // Bob's passkey answering Alice's challenge: another user's credential.
    let bobs = Tweak {
        credential: Some(bob_soft.credentials()[0].id.clone()),
        ..Tweak::default()
    };
    assert_code(
        complete(&env, &env, &token, &bob_soft, bobs).await,
        ErrorCode::PasskeyUserMismatch,
    );
    // Alice's response for another origin: refused too.
    let elsewhere = Tweak {
        origin: Some("https://evil.example".into()),
        ..Tweak::default()
    };
    assert_code(
        complete(&env, &env, &token, &alice_soft, elsewhere).await,
        ErrorCode::PasskeyOriginMismatch,
    );
    // The challenge survives refusals within its attempts: her own passkey completes it.
    let done = complete(&env, &env, &token, &alice_soft, Tweak::default())
        .await
        .unwrap();
    assert_eq!(done.user.id, alice.user.id);
    assert_eq!(
        env.audit_trail("mfa.challenge").await,
        [
            (false, Some("PASSKEY_USER_MISMATCH".into())),
            (false, Some("PASSKEY_ORIGIN_MISMATCH".into())),
            (true, None),
        ]
    );
}

pub async fn a_passkey_challenge_runs_out_of_attempts<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env_with(h.store, |c| c.mfa.challenge_attempts = 2);
    let (_, soft, _) = with_passkey(&env, "tries@example.com").await;
    let token = env.mfa_challenge("tries@example.com", &["passkey"]).await;
    // Two refused answers spend the two attempts (the options count none).
    for _ in 0..2 {
        assert_code(
            complete(
                &env,
                &env,
                &token,
                &soft,
                Tweak {
                    tamper_client_data: true,
                    ..Tweak::default()
                },
            )
            .await,
            ErrorCode::PasskeyRejected,
        );
    }
    // Spent: even the right passkey gets no options from it; sign in again.
    assert_code(
        complete(&env, &env, &token, &soft, Tweak::default()).await,
        ErrorCode::TooManyAttempts,
    );
    let token = env.mfa_challenge("tries@example.com", &["passkey"]).await;
    complete(&env, &env, &token, &soft, Tweak::default())
        .await
        .unwrap();
}
