//! The SAML flow records in the ceremony store: a pending AuthnRequest is taken once, and
//! an assertion's replay record is put once (a second put, on any node, is
//! `Conflict::Id`), both under their own kinds, purged once expired.

use serde_json::json;
use time::Duration;

use crate::ceremonies::{Ceremony, CeremonyKind};
use crate::conformance::{Env, Harness, assert_code};
use crate::secret::TokenHash;
use crate::{Conflict, ErrorCode, SsoDomain, StoreError};

fn replay_record<S>(env: &Env<S>, key: &str) -> Ceremony {
    let now = env.auth.now();
    Ceremony {
        handle_hash: TokenHash::of(key),
        kind: CeremonyKind::SamlAssertion,
        user_id: None,
        payload: json!({ "connection": "c" }),
        created_at: now,
        expires_at: now + Duration::minutes(6),
    }
}

pub async fn a_saml_request_is_taken_once_and_only_as_a_saml_request<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let peer = env.node(h.peer);
    let started = env
        .auth
        .ceremonies()
        .begin(CeremonyKind::SamlRequest, None, json!({ "v": 1 }))
        .await
        .unwrap();
    let handle = started.handle.expose();
    // Another kind's finish does not see it (nor spend it).
    assert_code(
        peer.auth
            .ceremonies()
            .finish(CeremonyKind::OidcSignIn, handle)
            .await,
        ErrorCode::CeremonyInvalid,
    );
    let taken = peer
        .auth
        .ceremonies()
        .finish(CeremonyKind::SamlRequest, handle)
        .await
        .unwrap();
    assert_eq!(taken.kind, CeremonyKind::SamlRequest);
    assert_eq!(taken.payload, json!({ "v": 1 }));
    assert_code(
        env.auth
            .ceremonies()
            .finish(CeremonyKind::SamlRequest, handle)
            .await,
        ErrorCode::CeremonyInvalid,
    );
}

pub async fn an_assertion_record_is_put_once_across_nodes<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let peer = env.node(h.peer);
    let record = replay_record(&env, "saml-assertion:c:_a1");
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = if i % 2 == 0 {
            env.auth.store().clone()
        } else {
            peer.auth.store().clone()
        };
        let record = record.clone();
        tasks.push(tokio::spawn(
            async move { store.put_ceremony(&record).await },
        ));
    }
    let mut stored = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => stored += 1,
            Err(StoreError::Conflict(Conflict::Id)) => {}
            Err(other) => panic!("a second put must be Conflict::Id, got {other:?}"),
        }
    }
    assert_eq!(stored, 1, "exactly one put of the same assertion succeeds");
    // Another assertion, and the same key as another kind, are independent.
    env.auth
        .store()
        .put_ceremony(&replay_record(&env, "saml-assertion:c:_a2"))
        .await
        .unwrap();
    let as_request = Ceremony {
        kind: CeremonyKind::SamlRequest,
        ..record.clone()
    };
    env.auth.store().put_ceremony(&as_request).await.unwrap();
    // Purged once expired: the key is free again.
    let purged = env
        .auth
        .ceremonies()
        .purge(env.auth.now() + Duration::minutes(7))
        .await
        .unwrap();
    assert_eq!(purged, 3);
    env.auth.store().put_ceremony(&record).await.unwrap();
}
