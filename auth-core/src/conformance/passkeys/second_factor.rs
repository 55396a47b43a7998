//! A passkey as the second factor of a user identified already (the MFA challenge's and
//! step-up's building block): no session is started; the answer is whether it verified
//! and whether the user was verified.

use crate::conformance::passkeys::authenticator::Tweak;
use crate::conformance::passkeys::{env, with_passkey};
use crate::conformance::{Harness, assert_code, meta};
use crate::{ErrorCode, PasskeyDomain};

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
