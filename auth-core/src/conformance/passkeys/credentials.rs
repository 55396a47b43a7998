//! Passkeys as credentials: register, sign in (discoverable and with a username), list,
//! rename, remove (never the last way to sign in), one credential id per site, the
//! counter, and the domain's part of user deletion and recovery.

use time::Duration;

use crate::conformance::core::recovery::reset;
use crate::conformance::passkeys::authenticator::{SoftAuthenticator, Tweak};
use crate::conformance::passkeys::{env, register, session, sign_in, with_passkey};
use crate::conformance::{Harness, assert_code, meta};
use crate::credentials::EndCredentials;
use crate::passkeys::{DeletePasskeyOutcome, PasskeyUse};
use crate::verification::Notice;
use crate::{Aal, Caller, Conflict, ErrorCode, PasskeyDomain, PasskeyId, StoreError};

pub async fn register_then_sign_in_without_a_username<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (signed_in, soft, passkey) = with_passkey(&env, "pk@example.com").await;
    let user = signed_in.user.id;
    assert_eq!(passkey.user_id, user);
    assert_eq!(passkey.name, "laptop");
    assert_eq!(passkey.credential_id, soft.credentials()[0].id);
    assert_eq!(passkey.counter, 0);
    assert_eq!(passkey.transports, vec!["internal".to_owned()]);
    assert!(passkey.last_used_at.is_none());
    assert!(!format!("{passkey:?}").contains(&passkey.credential));

    // Discoverable: no username; the options allow any credential, for autofill.
    let started = env
        .auth
        .passkeys()
        .sign_in_start(None, &meta())
        .await
        .unwrap();
    assert!(
        started.options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    assert_eq!(started.options["mediation"], "conditional");
    let response = soft.assert(&started.options);
    env.advance(Duration::minutes(1));
    let signed = env
        .auth
        .passkeys()
        .sign_in_finish(started.handle.expose(), &response, &meta())
        .await
        .unwrap();
    assert_eq!(signed.user.id, user);
    assert_eq!(
        signed.session.aal,
        Aal::Aal2,
        "user verification was performed"
    );
    assert_ne!(signed.session.id, signed_in.session.id);
    let me = env
        .auth
        .sessions()
        .validate(signed.session_token.expose())
        .await
        .unwrap();
    assert_eq!(me.user.id, user);

    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 1, "the new counter is stored");
    assert_eq!(stored.last_used_at, Some(env.auth.now()));
    let listed = env
        .auth
        .passkeys()
        .list(&signed.caller(), user)
        .await
        .unwrap();
    assert_eq!(listed, vec![stored.clone()]);
    assert_eq!(listed[0].view().name, "laptop");
    assert_eq!(
        env.audit_trail("passkey.register").await,
        vec![(true, None)]
    );
    assert_eq!(
        env.audit_trail("user.sign_in").await.last(),
        Some(&(true, None))
    );
}

pub async fn sign_in_with_a_username_allows_that_users_credentials<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let (signed_in, soft, first) = with_passkey(&env, "two@example.com").await;
    let second = register(&env, &soft, &signed_in, "phone").await;
    let (_, other_soft, _) = with_passkey(&env, "other@example.com").await;
    let started = env
        .auth
        .passkeys()
        .sign_in_start(Some("Two@Example.com"), &meta())
        .await
        .unwrap();
    let allowed: Vec<_> = started.options["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(allowed.len(), 2);
    assert!(started.options.get("mediation").is_none_or(|m| m.is_null()));
    let signed = env
        .auth
        .passkeys()
        .sign_in_finish(
            started.handle.expose(),
            &soft.assert(&started.options),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(signed.user.id, signed_in.user.id);
    let used = env.store().get_passkey(second.id).await.unwrap().unwrap();
    assert_eq!(used.counter, 1, "the newest allowed credential signed");
    let unused = env.store().get_passkey(first.id).await.unwrap().unwrap();
    assert_eq!(unused.counter, 0);
    // Another user's passkey is not among those allowed for this username.
    let tweak = Tweak {
        credential: Some(other_soft.credentials()[0].id.clone()),
        ..Tweak::default()
    };
    let refused = sign_in(&env, &other_soft, Some("two@example.com"), tweak).await;
    assert_code(refused, ErrorCode::PasskeyUserMismatch);
    // An address without passkeys gets discoverable options (no list to leak).
    let unknown = env
        .auth
        .passkeys()
        .sign_in_start(Some("nobody@example.com"), &meta())
        .await
        .unwrap();
    assert!(
        unknown.options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
}

pub async fn registration_excludes_the_users_credentials_and_prefers_resident_keys<
    S: PasskeyDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let (signed_in, _, passkey) = with_passkey(&env, "ex@example.com").await;
    let session = session(&env, &signed_in).await;
    let started = env.auth.passkeys().register_start(&session).await.unwrap();
    let options = &started.options["publicKey"];
    let excluded = options["excludeCredentials"].as_array().unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(
        excluded[0]["id"].as_str().unwrap().trim_end_matches('='),
        base64_url(&passkey.credential_id)
    );
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["user"]["name"], "ex@example.com");
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn rename_and_remove_are_the_owners<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (owner, _, passkey) = with_passkey(&env, "own@example.com").await;
    let stranger = env.user("stranger@example.com").await;
    let passkeys = env.auth.passkeys();
    assert_code(
        passkeys
            .rename(&stranger.caller(), passkey.id, "mine now", &meta())
            .await,
        ErrorCode::PasskeyNotFound,
    );
    assert_code(
        passkeys
            .remove(&stranger.caller(), passkey.id, &meta())
            .await,
        ErrorCode::PasskeyNotFound,
    );
    assert_code(
        passkeys.list(&stranger.caller(), owner.user.id).await,
        ErrorCode::UserNotFound,
    );
    assert_code(
        passkeys
            .rename(&owner.caller(), passkey.id, "", &meta())
            .await,
        ErrorCode::InvalidInput,
    );
    assert_code(
        passkeys
            .rename(&owner.caller(), passkey.id, &"n".repeat(65), &meta())
            .await,
        ErrorCode::InvalidInput,
    );
    let renamed = passkeys
        .rename(&owner.caller(), passkey.id, "work laptop", &meta())
        .await
        .unwrap();
    assert_eq!(renamed.name, "work laptop");
    assert_code(
        passkeys
            .rename(&owner.caller(), PasskeyId::new(), "x", &meta())
            .await,
        ErrorCode::PasskeyNotFound,
    );
    // Removing a factor is sensitive: the owner's session from before the passkey is
    // aal1 and holds a factor now, so it must pass one first (step-up).
    assert_code(
        passkeys.remove(&owner.caller(), passkey.id, &meta()).await,
        ErrorCode::MfaRequired,
    );
    assert!(
        env.store()
            .second_factors(owner.user.id)
            .await
            .unwrap()
            .passkey
    );
    let aal2 = env
        .auth
        .sessions()
        .start(owner.user.clone(), crate::Aal::Aal2, &meta())
        .await
        .unwrap()
        .caller();
    // The owner has a password, so the passkey is not their last way in.
    passkeys.remove(&aal2, passkey.id, &meta()).await.unwrap();
    assert!(
        !env.store()
            .second_factors(owner.user.id)
            .await
            .unwrap()
            .any()
    );
    assert!(env.store().get_passkey(passkey.id).await.unwrap().is_none());
    assert!(
        env.store()
            .find_passkey_by_credential(&passkey.credential_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_code(
        passkeys.remove(&owner.caller(), passkey.id, &meta()).await,
        ErrorCode::PasskeyNotFound,
    );
    assert_eq!(
        env.audit_trail("passkey.rename").await,
        vec![
            (false, Some("PASSKEY_NOT_FOUND".into())),
            (true, None),
            (false, Some("PASSKEY_NOT_FOUND".into()))
        ]
    );
    // The owner is told of each change of their passkeys.
    let notices = env.mailer.notices();
    assert!(notices.contains(&Notice::PasskeyAdded {
        to: owner.user.email.clone(),
        name: "laptop".into(),
    }));
    assert!(notices.contains(&Notice::PasskeyRemoved {
        to: owner.user.email.clone(),
        name: "work laptop".into(),
    }));
    let deletes = env.audit_trail("passkey.delete").await;
    assert_eq!(deletes.iter().filter(|(ok, _)| *ok).count(), 1);
    assert_eq!(
        deletes.last(),
        Some(&(false, Some("PASSKEY_NOT_FOUND".into())))
    );
}

pub async fn the_last_way_to_sign_in_is_not_removed<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let soft = SoftAuthenticator::new();
    let signed =
        crate::conformance::passkeys::sign_up::passkey_user(&env, &soft, "only@example.com").await;
    let first = env
        .auth
        .passkeys()
        .list(&Caller::System, signed.user.id)
        .await
        .unwrap()
        .remove(0);
    let passkeys = env.auth.passkeys();
    assert_code(
        passkeys.remove(&signed.caller(), first.id, &meta()).await,
        ErrorCode::LastSignInMethod,
    );
    assert_eq!(
        env.audit_trail("passkey.delete").await,
        vec![(false, Some("LAST_SIGN_IN_METHOD".into()))]
    );
    let second = register(&env, &soft, &signed, "backup key").await;
    passkeys
        .remove(&signed.caller(), first.id, &meta())
        .await
        .unwrap();
    assert_code(
        passkeys.remove(&signed.caller(), second.id, &meta()).await,
        ErrorCode::LastSignInMethod,
    );
    // The store holds the condition itself.
    assert_eq!(
        env.store()
            .delete_passkey(signed.user.id, second.id, true)
            .await
            .unwrap(),
        DeletePasskeyOutcome::LastSignInMethod
    );
    assert_eq!(
        env.store()
            .delete_passkey(crate::UserId::new(), second.id, false)
            .await
            .unwrap(),
        DeletePasskeyOutcome::NotFound
    );
    assert_eq!(
        env.store()
            .delete_passkey(signed.user.id, second.id, false)
            .await
            .unwrap(),
        DeletePasskeyOutcome::Deleted
    );
}

pub async fn a_credential_id_is_registered_once<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (first, soft, passkey) = with_passkey(&env, "first@example.com").await;
    let second = env.user("second@example.com").await;
    for signed_in in [&first, &second] {
        let session = session(&env, signed_in).await;
        let started = env.auth.passkeys().register_start(&session).await.unwrap();
        let response = soft.register_with(
            &started.options,
            Tweak {
                credential: Some(passkey.credential_id.clone()),
                ..Tweak::default()
            },
        );
        assert_code(
            env.auth
                .passkeys()
                .register_finish(&session, started.handle.expose(), None, &response, &meta())
                .await,
            ErrorCode::PasskeyAlreadyRegistered,
        );
    }
    assert_eq!(
        env.audit_trail("passkey.register").await[1..],
        [
            (false, Some("PASSKEY_ALREADY_REGISTERED".into())),
            (false, Some("PASSKEY_ALREADY_REGISTERED".into()))
        ]
    );
    // The store refuses it too, and a passkey of a missing user.
    let copy = crate::Passkey {
        id: PasskeyId::new(),
        user_id: second.user.id,
        ..passkey.clone()
    };
    assert!(matches!(
        env.store().create_passkey(&copy).await,
        Err(StoreError::Conflict(Conflict::PasskeyCredential))
    ));
    let orphan = crate::Passkey {
        id: PasskeyId::new(),
        user_id: crate::UserId::new(),
        credential_id: vec![9; 16],
        ..passkey
    };
    assert!(matches!(
        env.store().create_passkey(&orphan).await,
        Err(StoreError::MissingReference(crate::Entity::User))
    ));
    assert!(
        env.store()
            .list_passkeys(second.user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn the_counter_is_stored_and_compared_and_set<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (_, soft, passkey) = with_passkey(&env, "count@example.com").await;
    for expected in 1..=3 {
        sign_in(&env, &soft, None, Tweak::default()).await.unwrap();
        let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
        assert_eq!(stored.counter, expected);
    }
    // A store write carries the counter it read: a stale one writes nothing.
    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    let update = PasskeyUse {
        credential: stored.credential.clone(),
        counter: 9,
        backup_eligible: true,
        backup_state: true,
        at: env.auth.now(),
    };
    assert!(
        !env.store()
            .record_passkey_use(passkey.id, 2, &update)
            .await
            .unwrap()
    );
    assert!(
        !env.store()
            .record_passkey_use(PasskeyId::new(), 3, &update)
            .await
            .unwrap()
    );
    assert!(
        env.store()
            .record_passkey_use(passkey.id, 3, &update)
            .await
            .unwrap()
    );
    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 9);
    assert!(stored.backup_eligible && stored.backup_state);
    assert_eq!(stored.last_used_at, Some(update.at));
}

pub async fn deleting_the_user_deletes_their_passkeys<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (signed_in, soft, passkey) = with_passkey(&env, "gone@example.com").await;
    let (_, _, kept) = with_passkey(&env, "stays@example.com").await;
    env.auth
        .users()
        .delete(&Caller::System, signed_in.user.id, true, &meta())
        .await
        .unwrap();
    assert!(env.store().get_passkey(passkey.id).await.unwrap().is_none());
    assert!(
        env.store()
            .find_passkey_by_credential(&passkey.credential_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(env.store().get_passkey(kept.id).await.unwrap().is_some());
    assert_code(
        sign_in(&env, &soft, None, Tweak::default()).await,
        ErrorCode::PasskeyUnknownCredential,
    );
}

pub async fn a_password_reset_keeps_passkeys_an_unverified_takeover_does_not<
    S: PasskeyDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let (signed_in, soft, passkey) = with_passkey(&env, "reset@example.com").await;
    reset(&env, "reset@example.com", "a brand new passphrase").await;
    assert!(env.store().get_passkey(passkey.id).await.unwrap().is_some());
    sign_in(&env, &soft, None, Tweak::default()).await.unwrap();
    // Ending sign-in methods (whoever created an unverified account keeps nothing) does
    // remove them, in the same store call.
    let ended = env
        .store()
        .end_credentials(
            signed_in.user.id,
            EndCredentials::sessions()
                .with_domains(true)
                .with_sign_in_methods(true),
            env.auth.now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.passkeys, 1);
    assert!(env.store().get_passkey(passkey.id).await.unwrap().is_none());
}
