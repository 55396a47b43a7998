//! Domains: added unverified with a TXT record to publish, verified through the DNS double
//! (right, wrong and missing records; a failing resolver), one verified domain per
//! organization (also when two verify at once on two nodes), manual verification by the
//! app only, removal, and the audit trail.

use crate::conformance::organizations::groups::named;
use crate::conformance::sso::{org, publish, verified_domain};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::sso::{DOMAIN_TXT_PREFIX, VerifyDomainOutcome};
use crate::{Caller, ErrorCode, SsoDomain};

pub async fn domains_are_added_normalised_listed_and_removed<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let sso = env.auth.sso();
    let added = sso
        .add_domain(&acme.admin, acme.group, "  Acme.Example.COM. ", &meta())
        .await
        .unwrap();
    assert_eq!(added.domain, "acme.example.com");
    assert!(!added.is_verified() && !added.require_sso);
    assert_eq!(added.txt_name(), "_auth-rs-challenge.acme.example.com");
    let value = added.txt_value();
    assert!(value.starts_with(DOMAIN_TXT_PREFIX));
    assert!(added.verification_token.len() >= 32, "a random token");
    let idn = sso
        .add_domain(&acme.admin, acme.group, "Bücher.example", &meta())
        .await
        .unwrap();
    assert_eq!(idn.domain, "xn--bcher-kva.example");
    // The same domain twice in one organization.
    assert_code(
        sso.add_domain(&acme.admin, acme.group, "acme.example.com", &meta())
            .await,
        ErrorCode::DomainTaken,
    );
    for bad in [
        "",
        "localhost",
        "*.example.com",
        "exa mple.com",
        "192.168.0.1",
        "ada@example.com",
        "https://example.com",
    ] {
        assert_code(
            sso.add_domain(&acme.admin, acme.group, bad, &meta()).await,
            ErrorCode::InvalidInput,
        );
    }
    let listed = sso.list_domains(&acme.member, acme.group).await;
    assert_code(listed, ErrorCode::Forbidden);
    let listed = sso.list_domains(&acme.admin, acme.group).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.domain.as_str()).collect::<Vec<_>>(),
        vec!["acme.example.com", "xn--bcher-kva.example"]
    );
    sso.remove_domain(&acme.admin, acme.group, idn.id, &meta())
        .await
        .unwrap();
    assert_code(
        sso.remove_domain(&acme.admin, acme.group, idn.id, &meta())
            .await,
        ErrorCode::DomainNotFound,
    );
    assert_eq!(
        sso.list_domains(&acme.owner, acme.group)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.audit_trail("sso.domain.add").await.first(),
        Some(&(true, None))
    );
    assert_eq!(
        env.audit_trail("sso.domain.remove").await,
        vec![(true, None), (false, Some("DOMAIN_NOT_FOUND".into()))]
    );
}

pub async fn verification_needs_the_right_txt_record<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let sso = env.auth.sso();
    let domain = sso
        .add_domain(&acme.admin, acme.group, "acme.example.com", &meta())
        .await
        .unwrap();
    let m = meta();
    let verify = || sso.verify_domain(&acme.admin, acme.group, domain.id, &m);
    // No record.
    assert_code(verify().await, ErrorCode::DomainVerificationFailed);
    // Wrong records: another token, the token alone, the record at the apex.
    env.dns.set(
        &domain.txt_name(),
        &[
            "auth-rs-domain-verification=not-the-token",
            &domain.verification_token,
            "v=spf1 -all",
        ],
    );
    env.dns.set("acme.example.com", &[&domain.txt_value()]);
    assert_code(verify().await, ErrorCode::DomainVerificationFailed);
    // The resolver fails: retryable, nothing changes.
    publish(&env, &domain).await;
    env.dns.fail(true);
    assert_code(verify().await, ErrorCode::DnsUnavailable);
    assert!(
        !env.store()
            .get_domain(domain.id)
            .await
            .unwrap()
            .unwrap()
            .is_verified()
    );
    // The right record among others.
    env.dns.fail(false);
    let verified = verify().await.unwrap();
    assert_eq!(verified.verified_at, Some(env.auth.now()));
    // Verifying again answers the verified domain.
    assert_eq!(verify().await.unwrap(), verified);
    // A member may not verify.
    assert_code(
        sso.verify_domain(&acme.member, acme.group, domain.id, &meta())
            .await,
        ErrorCode::Forbidden,
    );
    assert_eq!(
        env.audit_trail("sso.domain.verify").await,
        vec![
            (false, Some("DOMAIN_VERIFICATION_FAILED".into())),
            (false, Some("DOMAIN_VERIFICATION_FAILED".into())),
            (false, Some("DNS_UNAVAILABLE".into())),
            (true, None),
            (true, None),
            (false, Some("FORBIDDEN".into())),
        ]
    );
}

pub async fn a_verified_domain_belongs_to_one_organization<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let rival = org(&env, "rival").await;
    let sso = env.auth.sso();
    // Both may claim it while unverified; the first to verify owns it.
    let theirs = sso
        .add_domain(&rival.admin, rival.group, "acme.example.com", &meta())
        .await
        .unwrap();
    let ours = verified_domain(&env, &acme, "acme.example.com").await;
    publish(&env, &theirs).await;
    assert_code(
        sso.verify_domain(&rival.admin, rival.group, theirs.id, &meta())
            .await,
        ErrorCode::DomainTaken,
    );
    // A new claim on a verified domain is refused at once.
    let third = env
        .auth
        .groups()
        .create(&Caller::System, named("third"), &meta())
        .await
        .unwrap()
        .id;
    assert_code(
        sso.add_domain(&Caller::System, third, "ACME.example.com", &meta())
            .await,
        ErrorCode::DomainTaken,
    );
    // Even the app cannot mark it verified for a second organization.
    assert_code(
        sso.mark_domain_verified(&Caller::System, rival.group, theirs.id, &meta())
            .await,
        ErrorCode::DomainTaken,
    );
    // The store refuses too.
    assert_eq!(
        env.store()
            .mark_domain_verified(theirs.id, env.auth.now())
            .await
            .unwrap(),
        VerifyDomainOutcome::Taken
    );
    let claims = sso
        .find_domain(&Caller::System, "acme.example.com")
        .await
        .unwrap();
    assert_eq!(claims.len(), 2);
    assert_eq!(claims[0].id, ours.id, "the verified claim first");
    assert!(!claims[1].is_verified());
    assert_code(
        sso.find_domain(&acme.owner, "acme.example.com").await,
        ErrorCode::Forbidden,
    );
    // Once the owner removes it, the other claim can be verified.
    sso.remove_domain(&acme.owner, acme.group, ours.id, &meta())
        .await
        .unwrap();
    let now_theirs = sso
        .verify_domain(&rival.admin, rival.group, theirs.id, &meta())
        .await
        .unwrap();
    assert!(now_theirs.is_verified());
}

pub async fn two_organizations_verifying_one_domain_at_once_on_two_nodes_one_wins<
    S: SsoDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let other_node = env.node(h.peer);
    let a = org(&env, "a").await;
    let b = org(&env, "b").await;
    for round in 0..5 {
        let name = format!("race{round}.example.com");
        let sso = env.auth.sso();
        let da = sso
            .add_domain(&a.admin, a.group, &name, &meta())
            .await
            .unwrap();
        let db = sso
            .add_domain(&b.admin, b.group, &name, &meta())
            .await
            .unwrap();
        publish(&env, &da).await;
        publish(&env, &db).await;
        let (m, sso_a, sso_b) = (meta(), env.auth.sso(), other_node.auth.sso());
        let (ra, rb) = tokio::join!(
            sso_a.verify_domain(&a.admin, a.group, da.id, &m),
            sso_b.verify_domain(&b.admin, b.group, db.id, &m),
        );
        let wins = [ra.is_ok(), rb.is_ok()];
        assert_eq!(
            wins.iter().filter(|w| **w).count(),
            1,
            "round {round}: {ra:?} / {rb:?}"
        );
        for result in [ra, rb] {
            if let Err(error) = result {
                assert_eq!(error.code(), ErrorCode::DomainTaken);
            }
        }
        let verified = env
            .store()
            .find_domain(&name)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.is_verified())
            .count();
        assert_eq!(verified, 1, "round {round}");
    }
    // And at the store, with no service in between.
    let name = "storerace.example.com";
    let sso = env.auth.sso();
    let da = sso
        .add_domain(&a.admin, a.group, name, &meta())
        .await
        .unwrap();
    let db = sso
        .add_domain(&b.admin, b.group, name, &meta())
        .await
        .unwrap();
    let now = env.auth.now();
    let (ra, rb) = tokio::join!(
        env.store().mark_domain_verified(da.id, now),
        other_node.store().mark_domain_verified(db.id, now),
    );
    let outcomes = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, VerifyDomainOutcome::Verified(_)))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&VerifyDomainOutcome::Taken));
}

pub async fn only_the_app_marks_a_domain_verified_without_dns<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let other = org(&env, "other").await;
    let sso = env.auth.sso();
    let domain = sso
        .add_domain(&acme.admin, acme.group, "acme.example.com", &meta())
        .await
        .unwrap();
    // Owners and admins of the organization may not skip the proof; others learn nothing.
    for caller in [&acme.owner, &acme.admin, &acme.member] {
        assert_code(
            sso.mark_domain_verified(caller, acme.group, domain.id, &meta())
                .await,
            ErrorCode::Forbidden,
        );
    }
    assert_code(
        sso.mark_domain_verified(&other.owner, acme.group, domain.id, &meta())
            .await,
        ErrorCode::DomainNotFound,
    );
    assert!(
        !env.store()
            .get_domain(domain.id)
            .await
            .unwrap()
            .unwrap()
            .is_verified()
    );
    let marked = sso
        .mark_domain_verified(&Caller::System, acme.group, domain.id, &meta())
        .await
        .unwrap();
    assert!(marked.is_verified());
    let trail = env.audit_trail("sso.domain.verify").await;
    assert_eq!(
        trail,
        vec![
            (false, Some("FORBIDDEN".into())),
            (false, Some("FORBIDDEN".into())),
            (false, Some("FORBIDDEN".into())),
            (false, Some("DOMAIN_NOT_FOUND".into())),
            (true, None),
        ]
    );
    // The event says how it was verified.
    let events = env
        .auth
        .audit()
        .list(
            &Caller::System,
            crate::ListQuery::new(
                crate::audit::AuditFilter {
                    action: Some("sso.domain.verify".into()),
                    ok: Some(true),
                    ..crate::audit::AuditFilter::default()
                },
                crate::audit::AuditOrder::At,
            ),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["method"], "manual");
    assert_eq!(events[0].detail["domain"], "acme.example.com");
    assert_eq!(events[0].subject, Some(format!("domain:{}", domain.id)));
}
