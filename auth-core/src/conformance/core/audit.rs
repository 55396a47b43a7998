//! Audit events written by the services.

use crate::Caller;
use crate::audit::{Actor, AuditFilter, AuditOrder};
use crate::conformance::{Env, Harness, PASSWORD, meta};
use crate::{CoreStore, ListQuery, Secret};

pub async fn sign_ins_and_failures_are_audited<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let user = env.user("audit@example.com").await.user;
    let _ = env
        .auth
        .password()
        .sign_in("audit@example.com", &Secret::new("wrong password"), &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in);
    let _ = env
        .auth
        .password()
        .sign_in("nobody@example.com", &Secret::new(PASSWORD), &meta())
        .await
        .and_then(crate::SignInOutcome::signed_in);
    env.sign_in("audit@example.com").await;
    let events = env
        .auth
        .audit()
        .list(
            &Caller::System,
            ListQuery::new(
                AuditFilter {
                    action: Some("user.sign_in".into()),
                    ..AuditFilter::default()
                },
                AuditOrder::At,
            ),
        )
        .await
        .unwrap()
        .items;
    let summary: Vec<_> = events
        .iter()
        .map(|e| (e.actor.clone(), e.ok, e.error_code.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Actor::User { id: user.id },
                false,
                Some("INVALID_CREDENTIALS".into())
            ),
            (Actor::Anonymous, false, Some("INVALID_CREDENTIALS".into())),
            (Actor::User { id: user.id }, true, None),
        ]
    );
    let last = events.last().unwrap();
    assert_eq!(last.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(last.request_id.as_deref(), Some("req-conformance"));
    assert!(last.session_id.is_some());
    // No event carries a secret.
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(PASSWORD));
}

pub async fn audit_list_filters_and_paginates<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env.user("a@example.com").await.user;
    env.user("b@example.com").await;
    for _ in 0..3 {
        env.sign_in("a@example.com").await;
    }
    let mut seen = 0;
    let mut cursor = None;
    loop {
        let mut query = ListQuery::new(
            AuditFilter {
                actor_user: Some(a.id),
                ok: Some(true),
                ..AuditFilter::default()
            },
            AuditOrder::At,
        )
        .limit(2);
        query.cursor = cursor;
        let page = env.auth.audit().list(&Caller::System, query).await.unwrap();
        assert!(
            page.items
                .iter()
                .all(|e| e.actor == Actor::User { id: a.id })
        );
        seen += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, 4, "sign-up plus three sign-ins");
}

pub async fn every_actor_kind_round_trips<S: CoreStore + Clone>(h: Harness<S>) {
    use crate::audit::AuditEvent;
    let env = Env::new(h.store);
    let user = env.user("actor@example.com").await.user;
    let actors = [
        Actor::User { id: user.id },
        Actor::System,
        Actor::Anonymous,
        Actor::ApiKey {
            id: crate::ApiKeyId::new(),
        },
    ];
    for actor in &actors {
        let event = AuditEvent::new("test.actor", actor.clone(), env.auth.now(), &meta());
        env.store().append_audit(&event).await.unwrap();
    }
    let stored: Vec<Actor> = env
        .auth
        .audit()
        .list(
            &Caller::System,
            ListQuery::new(
                AuditFilter {
                    action: Some("test.actor".into()),
                    ..AuditFilter::default()
                },
                AuditOrder::At,
            ),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.actor)
        .collect();
    for actor in &actors {
        assert!(
            stored.contains(actor),
            "{actor:?} was not stored as itself: {stored:?}"
        );
    }
}
