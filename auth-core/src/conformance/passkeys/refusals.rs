//! Each refusal of a passkey response: typed, audited, and the ceremony spent on the
//! first attempt (a good response after a bad one on the same ceremony is refused too).

use crate::conformance::passkeys::authenticator::{SoftAuthenticator, Tweak};
use crate::conformance::passkeys::{env, env_with, session, sign_in, with_passkey};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::rate_limit::RateLimit;
use crate::{ErrorCode, PasskeyDomain};

/// Signs in with `tweak` and checks the refusal's code and its audit event.
async fn refused<S: PasskeyDomain + Clone>(tweak: Tweak, code: ErrorCode, store: S) {
    let env = env(store);
    let (_, soft, passkey) = with_passkey(&env, "victim@example.com").await;
    let started = env
        .auth
        .passkeys()
        .sign_in_start(None, &meta())
        .await
        .unwrap();
    let bad = soft.assert_with(&started.options, tweak);
    assert_code(
        env.auth
            .passkeys()
            .sign_in_finish(started.handle.expose(), &bad, &meta())
            .await,
        code,
    );
    let trail = env.audit_trail("user.sign_in").await;
    assert_eq!(trail.last(), Some(&(false, Some(code.as_str().to_owned()))));
    // The ceremony is spent: a good response on it is refused as well.
    let good = soft.assert(&started.options);
    assert_code(
        env.auth
            .passkeys()
            .sign_in_finish(started.handle.expose(), &good, &meta())
            .await,
        ErrorCode::CeremonyInvalid,
    );
    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 0, "nothing refused moved the counter");
    assert!(stored.last_used_at.is_none());
}

pub async fn a_response_for_another_origin_is_refused<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let tweak = Tweak {
        origin: Some("https://evil.example".into()),
        ..Tweak::default()
    };
    refused(tweak, ErrorCode::PasskeyOriginMismatch, h.store).await;
}

pub async fn a_response_for_another_rp_id_is_refused<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let tweak = Tweak {
        rp_id: Some("evil.example".into()),
        ..Tweak::default()
    };
    refused(tweak, ErrorCode::PasskeyRpIdMismatch, h.store).await;
}

pub async fn tampered_client_data_is_refused<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let tweak = Tweak {
        tamper_client_data: true,
        ..Tweak::default()
    };
    refused(tweak, ErrorCode::PasskeyRejected, h.store).await;
}

pub async fn a_counter_regression_is_refused<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (_, soft, passkey) = with_passkey(&env, "clone@example.com").await;
    sign_in(&env, &soft, None, Tweak::default()).await.unwrap();
    sign_in(&env, &soft, None, Tweak::default()).await.unwrap();
    // A clone of the authenticator, one use behind.
    for counter in [2, 1] {
        let tweak = Tweak {
            counter: Some(counter),
            ..Tweak::default()
        };
        assert_code(
            sign_in(&env, &soft, None, tweak).await,
            ErrorCode::PasskeyCounterRegression,
        );
    }
    let trail = env.audit_trail("user.sign_in").await;
    assert_eq!(
        trail.last(),
        Some(&(false, Some("PASSKEY_COUNTER_REGRESSION".into())))
    );
    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 2);
    // With a username, the ceremony's state holds a copy of the credential taken at its
    // start: a use in between moves the stored counter, and a clone's answer between
    // the two counters is still refused.
    let email = Some("clone@example.com");
    let stale = env
        .auth
        .passkeys()
        .sign_in_start(email, &meta())
        .await
        .unwrap();
    sign_in(&env, &soft, email, Tweak::default()).await.unwrap();
    sign_in(&env, &soft, email, Tweak::default()).await.unwrap();
    let clone = soft.assert_with(
        &stale.options,
        Tweak {
            counter: Some(3),
            ..Tweak::default()
        },
    );
    assert_code(
        env.auth
            .passkeys()
            .sign_in_finish(stale.handle.expose(), &clone, &meta())
            .await,
        ErrorCode::PasskeyCounterRegression,
    );
    let stored = env.store().get_passkey(passkey.id).await.unwrap().unwrap();
    assert_eq!(stored.counter, 4);
}

pub async fn an_unknown_credential_is_refused<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    with_passkey(&env, "known@example.com").await;
    // An authenticator whose credential was never registered here (made for another
    // ceremony, never finished).
    let stray = SoftAuthenticator::new();
    let signed_in = env.user("stray@example.com").await;
    let session = session(&env, &signed_in).await;
    let started = env.auth.passkeys().register_start(&session).await.unwrap();
    stray.register(&started.options);
    assert_code(
        sign_in(&env, &stray, None, Tweak::default()).await,
        ErrorCode::PasskeyUnknownCredential,
    );
    assert_eq!(
        env.audit_trail("user.sign_in").await.last(),
        Some(&(false, Some("PASSKEY_UNKNOWN_CREDENTIAL".into())))
    );
}

pub async fn another_users_handle_is_refused<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (_, soft, _) = with_passkey(&env, "owner@example.com").await;
    let (other, _, _) = with_passkey(&env, "other@example.com").await;
    // The credential is the owner's; the response claims it is the other user's.
    let tweak = Tweak {
        user_handle: Some(Some(other.user.id.as_uuid().as_bytes().to_vec())),
        ..Tweak::default()
    };
    let owner_creds = soft.credentials();
    let tweak = Tweak {
        credential: Some(owner_creds[0].id.clone()),
        ..tweak
    };
    assert_code(
        sign_in(&env, &soft, None, tweak).await,
        ErrorCode::PasskeyUserMismatch,
    );
    // A discoverable response without a user handle is refused.
    let tweak = Tweak {
        user_handle: Some(None),
        ..Tweak::default()
    };
    assert_code(
        sign_in(&env, &soft, None, tweak).await,
        ErrorCode::PasskeyRejected,
    );
    let trail = env.audit_trail("user.sign_in").await;
    assert!(trail.contains(&(false, Some("PASSKEY_USER_MISMATCH".into()))));
}

pub async fn registration_refusals_are_typed_and_spend_the_ceremony<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let signed_in = env.user("reg@example.com").await;
    let other = env.user("reg-other@example.com").await;
    let soft = SoftAuthenticator::new();
    let session = session(&env, &signed_in).await;
    let cases = [
        (
            Tweak {
                origin: Some("http://localhost:4000".into()),
                ..Tweak::default()
            },
            ErrorCode::PasskeyOriginMismatch,
        ),
        (
            Tweak {
                rp_id: Some("example.org".into()),
                ..Tweak::default()
            },
            ErrorCode::PasskeyRpIdMismatch,
        ),
        (
            Tweak {
                no_user_verification: true,
                ..Tweak::default()
            },
            ErrorCode::PasskeyRejected,
        ),
    ];
    for (tweak, code) in cases {
        let started = env.auth.passkeys().register_start(&session).await.unwrap();
        let bad = soft.register_with(&started.options, tweak);
        let passkeys = env.auth.passkeys();
        let meta = meta();
        let finish = |response| {
            passkeys.register_finish(&session, started.handle.expose(), None, response, &meta)
        };
        assert_code(finish(&bad).await, code);
        let good = soft.register(&started.options);
        assert_code(finish(&good).await, ErrorCode::CeremonyInvalid);
    }
    // Malformed JSON is INVALID_INPUT; another user's ceremony is not theirs to finish.
    let started = env.auth.passkeys().register_start(&session).await.unwrap();
    assert_code(
        env.auth
            .passkeys()
            .register_finish(
                &session,
                started.handle.expose(),
                None,
                &serde_json::json!({"id": 1}),
                &meta(),
            )
            .await,
        ErrorCode::InvalidInput,
    );
    let started = env.auth.passkeys().register_start(&session).await.unwrap();
    let response = soft.register(&started.options);
    let other_session = crate::conformance::passkeys::session(&env, &other).await;
    assert_code(
        env.auth
            .passkeys()
            .register_finish(
                &other_session,
                started.handle.expose(),
                None,
                &response,
                &meta(),
            )
            .await,
        ErrorCode::CeremonyInvalid,
    );
    assert!(
        env.store()
            .list_passkeys(signed_in.user.id)
            .await
            .unwrap()
            .is_empty()
    );
    let trail = env.audit_trail("passkey.register").await;
    assert_eq!(trail.len(), 8);
    assert!(trail.iter().all(|(ok, _)| !ok));
}

pub async fn an_expired_ceremony_is_refused<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let (_, soft, _) = with_passkey(&env, "slow@example.com").await;
    let started = env
        .auth
        .passkeys()
        .sign_in_start(None, &meta())
        .await
        .unwrap();
    let response = soft.assert(&started.options);
    env.advance(time::Duration::minutes(6));
    assert_code(
        env.auth
            .passkeys()
            .sign_in_finish(started.handle.expose(), &response, &meta())
            .await,
        ErrorCode::CeremonyExpired,
    );
    assert_eq!(
        env.audit_trail("user.sign_in").await.last(),
        Some(&(false, Some("CEREMONY_EXPIRED".into())))
    );
}

pub async fn sign_in_attempts_are_limited_per_account_across_nodes<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env_with(h.store, |c| {
        c.sign_in_limit = Some(RateLimit {
            max: 3,
            window: time::Duration::minutes(15),
        })
    });
    let peer = env.node(h.peer);
    let (_, soft, _) = with_passkey(&env, "limited@example.com").await;
    let bad = Tweak {
        tamper_client_data: true,
        ..Tweak::default()
    };
    for node in [&env, &peer, &env] {
        assert_code(
            sign_in(node, &soft, None, bad.clone()).await,
            ErrorCode::PasskeyRejected,
        );
    }
    // The owner's own good response is refused too until the window moves.
    assert_code(
        sign_in(&peer, &soft, None, Tweak::default()).await,
        ErrorCode::RateLimited,
    );
    assert_eq!(
        env.audit_trail("user.sign_in").await.last(),
        Some(&(false, Some("RATE_LIMITED".into())))
    );
    env.advance(time::Duration::minutes(15));
    sign_in(&env, &soft, None, Tweak::default()).await.unwrap();
}

pub async fn sign_in_starts_are_limited_per_client_network<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env_with(h.store, |c| {
        c.flow_start_limit = Some(RateLimit {
            max: 2,
            window: time::Duration::minutes(10),
        })
    });
    let peer = env.node(h.peer);
    let passkeys = |node: &Env<S>, ip: [u8; 4]| {
        let meta = meta().with_ip(std::net::IpAddr::from(ip));
        let auth = node.auth.clone();
        async move { auth.passkeys().sign_in_start(None, &meta).await }
    };
    passkeys(&env, [198, 51, 100, 7]).await.unwrap();
    passkeys(&peer, [198, 51, 100, 7]).await.unwrap();
    // The third start from that address, on either node, is refused; another address is
    // not, and the window's refill lets the first one start again.
    assert_code(
        passkeys(&env, [198, 51, 100, 7]).await,
        ErrorCode::RateLimited,
    );
    passkeys(&peer, [198, 51, 100, 8]).await.unwrap();
    env.advance(time::Duration::minutes(5));
    passkeys(&env, [198, 51, 100, 7]).await.unwrap();
}
