//! Ceremonies: single use (also under concurrent finishes across nodes), expiry on the
//! injected clock, bound to their kind, purged when old.

use serde_json::json;
use time::Duration;

use crate::ceremonies::CeremonyKind;
use crate::conformance::passkeys::env;
use crate::conformance::{Harness, assert_code};
use crate::{ErrorCode, PasskeyDomain, UserId};

pub async fn a_ceremony_is_taken_once_across_nodes<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let peer = env.node(h.peer);
    let user = UserId::new();
    let started = env
        .auth
        .ceremonies()
        .begin(CeremonyKind::PasskeySignIn, Some(user), json!({ "n": 7 }))
        .await
        .unwrap();
    assert!(!format!("{started:?}").contains(started.handle.expose()));
    let handle = started.handle.expose().to_owned();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 {
            env.auth.clone()
        } else {
            peer.auth.clone()
        };
        let handle = handle.clone();
        tasks.push(tokio::spawn(async move {
            node.ceremonies()
                .finish(CeremonyKind::PasskeySignIn, &handle)
                .await
        }));
    }
    let mut won = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(ceremony) => won.push(ceremony),
            Err(error) => assert_eq!(error.code(), ErrorCode::CeremonyInvalid),
        }
    }
    assert_eq!(won.len(), 1, "exactly one finisher gets the ceremony");
    assert_eq!(won[0].payload, json!({ "n": 7 }));
    assert_eq!(won[0].user_id, Some(user));
    assert_eq!(won[0].kind, CeremonyKind::PasskeySignIn);
}

pub async fn a_ceremony_expires_on_the_clock_and_is_bound_to_its_kind<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let ceremonies = env.auth.ceremonies();
    let begin = |kind| ceremonies.begin(kind, None, json!({}));
    // Just inside the TTL: fine.
    let inside = begin(CeremonyKind::PasskeySignIn).await.unwrap();
    env.advance(Duration::minutes(5) - Duration::SECOND);
    ceremonies
        .finish(CeremonyKind::PasskeySignIn, inside.handle.expose())
        .await
        .unwrap();
    // At the TTL: expired, and spent by the attempt.
    let late = begin(CeremonyKind::PasskeySignIn).await.unwrap();
    env.advance(Duration::minutes(5));
    assert_code(
        ceremonies
            .finish(CeremonyKind::PasskeySignIn, late.handle.expose())
            .await,
        ErrorCode::CeremonyExpired,
    );
    assert_code(
        ceremonies
            .finish(CeremonyKind::PasskeySignIn, late.handle.expose())
            .await,
        ErrorCode::CeremonyInvalid,
    );
    // Another kind's handle is unknown here, and stays for its own kind.
    let other = begin(CeremonyKind::PasskeyRegistration).await.unwrap();
    assert_code(
        ceremonies
            .finish(CeremonyKind::PasskeySignIn, other.handle.expose())
            .await,
        ErrorCode::CeremonyInvalid,
    );
    ceremonies
        .finish(CeremonyKind::PasskeyRegistration, other.handle.expose())
        .await
        .unwrap();
    for bad in ["", "short", &"x".repeat(10_000)] {
        assert_code(
            ceremonies.finish(CeremonyKind::PasskeySignIn, bad).await,
            ErrorCode::CeremonyInvalid,
        );
    }
}

pub async fn expired_ceremonies_are_purged<S: PasskeyDomain + Clone>(h: Harness<S>) {
    let env = env(h.store);
    let ceremonies = env.auth.ceremonies();
    let old = ceremonies
        .begin(CeremonyKind::PasskeySignUp, None, json!({}))
        .await
        .unwrap();
    env.advance(Duration::minutes(10));
    let fresh = ceremonies
        .begin(CeremonyKind::PasskeySignUp, None, json!({}))
        .await
        .unwrap();
    assert_eq!(ceremonies.purge(env.auth.now()).await.unwrap(), 1);
    assert_code(
        ceremonies
            .finish(CeremonyKind::PasskeySignUp, old.handle.expose())
            .await,
        ErrorCode::CeremonyInvalid,
    );
    ceremonies
        .finish(CeremonyKind::PasskeySignUp, fresh.handle.expose())
        .await
        .unwrap();
}

pub async fn every_ceremony_kind_is_stored_and_taken_as_itself<S: PasskeyDomain + Clone>(
    h: Harness<S>,
) {
    let env = env(h.store);
    let ceremonies = env.auth.ceremonies();
    for kind in CeremonyKind::ALL {
        let started = ceremonies
            .begin(*kind, None, json!({ "kind": kind.as_str() }))
            .await
            .unwrap();
        let taken = ceremonies
            .finish(*kind, started.handle.expose())
            .await
            .unwrap();
        assert_eq!(taken.kind, *kind);
        assert_eq!(taken.payload, json!({ "kind": kind.as_str() }));
        assert_eq!(taken.expires_at - taken.created_at, Duration::minutes(5));
        // Single use, whatever the kind (an OIDC flow's state included).
        assert_code(
            ceremonies.finish(*kind, started.handle.expose()).await,
            ErrorCode::CeremonyInvalid,
        );
    }
}
