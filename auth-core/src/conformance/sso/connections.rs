//! Connections: create, read, list a page at a time, change, delete; the client secret
//! sealed at rest and never shown; readiness and activation; input refused with typed
//! errors; who may do what, and the audit trail.

use std::collections::{BTreeMap, HashSet};

use crate::conformance::sso::{
    CERT, CLIENT_SECRET, connection, new_connection, oidc, org, saml, verified_domain,
};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::pagination::ListQuery;
use crate::sso::{
    ConnectionStatus, OidcConnection, OidcInput, ProtocolConfig, ProtocolInput, ProtocolView,
    SSO_FORMAT_VERSION, SamlInput, SsoConnectionFilter, SsoConnectionOrder, SsoConnectionPatch,
};
use crate::{Caller, ErrorCode, Secret, SsoDomain};

pub async fn connections_are_created_read_changed_and_deleted<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = org(&env, "acme").await;
    let sso = env.auth.sso();
    let created = connection(&env, &org, "Okta", oidc()).await;
    assert_eq!(created.status, ConnectionStatus::Draft);
    assert_eq!(created.group_id, org.group);
    let ProtocolView::Oidc(view) = &created.config else {
        panic!("an OIDC connection")
    };
    assert!(view.has_client_secret);
    assert_eq!(view.issuer, "https://idp.example.net");
    assert_eq!(view.scopes, vec!["openid", "email", "profile"]);
    assert_eq!(view.claims.email, "email");

    let read = sso.get_connection(&org.member, org.group, created.id).await;
    assert_code(read, ErrorCode::Forbidden);
    let read = sso
        .get_connection(&org.admin, org.group, created.id)
        .await
        .unwrap();
    assert_eq!(read, created);

    let changed = sso
        .update_connection(
            &org.owner,
            org.group,
            created.id,
            SsoConnectionPatch {
                name: Some("Okta (prod)".into()),
                status: Some(ConnectionStatus::Active),
                extend: Some(serde_json::json!({ "tier": "gold" })),
                ..SsoConnectionPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "Okta (prod)");
    assert_eq!(changed.status, ConnectionStatus::Active);
    assert_eq!(changed.extend, serde_json::json!({ "tier": "gold" }));
    assert_eq!(changed.created_at, created.created_at);
    let stored = env
        .store()
        .get_sso_connection(created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.view(), changed);
    assert_eq!(stored.format_version, SSO_FORMAT_VERSION);

    // SAML, read from the metadata.
    let saml = connection(&env, &org, "ADFS", saml()).await;
    let ProtocolView::Saml(s) = &saml.config else {
        panic!("a SAML connection")
    };
    assert_eq!(s.idp_entity_id, "https://idp.example.net/saml");
    assert_eq!(s.sso_url, "https://idp.example.net/saml/sso");
    assert_eq!(s.signing_certificates, vec![CERT.to_owned()]);
    assert_eq!(s.acs_url, "https://app.example.org/sso/saml/acs");

    sso.delete_connection(&org.admin, org.group, created.id, &meta())
        .await
        .unwrap();
    assert_code(
        sso.get_connection(&org.admin, org.group, created.id).await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert_code(
        sso.delete_connection(&org.admin, org.group, created.id, &meta())
            .await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert!(
        env.store()
            .get_sso_connection(created.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        env.audit_trail("sso.connection.create").await,
        vec![(true, None), (true, None)]
    );
    assert_eq!(
        env.audit_trail("sso.connection.update").await,
        vec![(true, None)]
    );
    assert_eq!(
        env.audit_trail("sso.connection.delete").await,
        vec![
            (true, None),
            (false, Some("SSO_CONNECTION_NOT_FOUND".into()))
        ]
    );
}

pub async fn connections_list_a_page_at_a_time_per_organization<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let other = org(&env, "other").await;
    let mut names = Vec::new();
    for i in 0..7 {
        let name = format!("conn-{}", 7 - i);
        let config = if i % 2 == 0 { oidc() } else { saml() };
        connection(&env, &acme, &name, config).await;
        names.push(name);
    }
    connection(&env, &other, "not acme's", oidc()).await;
    let sso = env.auth.sso();
    assert_code(
        sso.list_connections(
            &acme.member,
            ListQuery::new(
                SsoConnectionFilter::group(acme.group),
                SsoConnectionOrder::CreatedAt,
            ),
        )
        .await,
        ErrorCode::Forbidden,
    );
    for order in [SsoConnectionOrder::CreatedAt, SsoConnectionOrder::Name] {
        let mut cursor: Option<String> = None;
        let mut all = Vec::new();
        loop {
            let mut query = ListQuery::new(SsoConnectionFilter::group(acme.group), order).limit(3);
            query.cursor = cursor.clone();
            let page = sso.list_connections(&acme.admin, query).await.unwrap();
            assert!(page.items.len() <= 3);
            all.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(all.len(), 7, "{order:?}");
        assert!(all.iter().all(|c| c.group_id == acme.group));
        let unique: HashSet<_> = all.iter().map(|c| c.id).collect();
        assert_eq!(unique.len(), 7);
        if order == SsoConnectionOrder::Name {
            let listed: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(
                listed,
                sorted.iter().map(String::as_str).collect::<Vec<_>>()
            );
        }
    }
    // Filtered by status.
    let filter = SsoConnectionFilter {
        group_id: acme.group,
        status: Some(ConnectionStatus::Active),
    };
    let page = sso
        .list_connections(
            &acme.admin,
            ListQuery::new(filter, SsoConnectionOrder::CreatedAt),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
    // Another organization's admin sees nothing of acme's.
    assert_code(
        sso.list_connections(
            &other.admin,
            ListQuery::new(
                SsoConnectionFilter::group(acme.group),
                SsoConnectionOrder::CreatedAt,
            ),
        )
        .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        sso.list_connections(
            &acme.admin,
            ListQuery::new(
                SsoConnectionFilter::group(acme.group),
                SsoConnectionOrder::CreatedAt,
            )
            .after("garbage"),
        )
        .await,
        ErrorCode::InvalidCursor,
    );
}

pub async fn the_client_secret_is_sealed_at_rest_and_never_shown<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let org = org(&env, "acme").await;
    let created = connection(&env, &org, "Okta", oidc()).await;
    let shown = serde_json::to_string(&created).unwrap();
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(shown.contains("\"has_client_secret\":true"), "{shown}");

    let stored = env
        .store()
        .get_sso_connection(created.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{stored:?}").contains(CLIENT_SECRET));
    let ProtocolConfig::Oidc(oidc_config) = &stored.config else {
        panic!("an OIDC connection")
    };
    let sealed = oidc_config.client_secret.clone().expect("a sealed secret");
    assert!(!sealed.to_text().contains(CLIENT_SECRET));
    let opened = env
        .auth
        .secret_box()
        .open(&sealed, &OidcConnection::secret_context(created.id))
        .unwrap();
    assert_eq!(opened.as_slice(), CLIENT_SECRET.as_bytes());
    // Bound to its row: it does not open as another connection's.
    assert!(
        env.auth
            .secret_box()
            .open(
                &sealed,
                &OidcConnection::secret_context(crate::SsoConnectionId::new())
            )
            .is_err()
    );

    // A new configuration without a secret keeps the stored one; clearing removes it.
    let sso = env.auth.sso();
    let keep = ProtocolInput::Oidc(OidcInput {
        issuer: "https://idp2.example.net".into(),
        client_id: "client-456".into(),
        ..OidcInput::default()
    });
    let kept = sso
        .update_connection(
            &org.admin,
            org.group,
            created.id,
            SsoConnectionPatch {
                config: Some(keep),
                ..SsoConnectionPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let ProtocolView::Oidc(view) = &kept.config else {
        panic!("OIDC")
    };
    assert!(view.has_client_secret);
    assert_eq!(view.client_id, "client-456");
    let cleared = sso
        .update_connection(
            &org.admin,
            org.group,
            created.id,
            SsoConnectionPatch {
                config: Some(ProtocolInput::Oidc(OidcInput {
                    clear_client_secret: true,
                    ..OidcInput::default()
                })),
                ..SsoConnectionPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    let ProtocolView::Oidc(view) = &cleared.config else {
        panic!("OIDC")
    };
    assert!(!view.has_client_secret);
    let stored = env
        .store()
        .get_sso_connection(created.id)
        .await
        .unwrap()
        .unwrap();
    let ProtocolConfig::Oidc(o) = &stored.config else {
        panic!("OIDC")
    };
    assert!(o.client_secret.is_none());
}

pub async fn readiness_reports_every_check_and_gates_activation<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let org = org(&env, "acme").await;
    let sso = env.auth.sso();
    let empty = ProtocolInput::Oidc(OidcInput::default());
    let draft = connection(&env, &org, "Half done", empty).await;
    let readiness = sso
        .readiness(&org.admin, org.group, draft.id)
        .await
        .unwrap();
    assert!(!readiness.configured && !readiness.routable);
    let failed: Vec<&str> = readiness
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.check.as_str())
        .collect();
    assert_eq!(
        failed,
        vec![
            "oidc.issuer",
            "oidc.client_id",
            "oidc.client_secret",
            "status_active",
            "verified_domain"
        ],
        "every check is reported, not only the first failure"
    );
    assert!(
        readiness
            .checks
            .iter()
            .any(|c| c.check == "oidc.scopes" && c.ok)
    );
    assert!(readiness.checks.iter().all(|c| c.ok == c.detail.is_none()));
    let activate = SsoConnectionPatch {
        status: Some(ConnectionStatus::Active),
        ..SsoConnectionPatch::default()
    };
    let refused = sso
        .update_connection(&org.admin, org.group, draft.id, activate.clone(), &meta())
        .await;
    match refused {
        Err(crate::AuthError::SsoConnectionNotReady { missing }) => assert_eq!(
            missing,
            vec!["oidc.issuer", "oidc.client_id", "oidc.client_secret"]
        ),
        other => panic!("expected SSO_CONNECTION_NOT_READY, got {other:?}"),
    }
    // Created active while incomplete: refused too.
    let mut input = new_connection(org.group, "x", ProtocolInput::Saml(SamlInput::default()));
    input.status = Some(ConnectionStatus::Active);
    assert_code(
        sso.create_connection(&org.admin, input, &meta()).await,
        ErrorCode::SsoConnectionNotReady,
    );

    // Configured, active, and a verified domain: routable.
    let ready = connection(&env, &org, "Ready", saml()).await;
    sso.update_connection(&org.admin, org.group, ready.id, activate, &meta())
        .await
        .unwrap();
    let readiness = sso
        .readiness(&org.admin, org.group, ready.id)
        .await
        .unwrap();
    assert!(readiness.configured && !readiness.routable);
    verified_domain(&env, &org, "acme.example.com").await;
    let readiness = sso
        .readiness(&org.admin, org.group, ready.id)
        .await
        .unwrap();
    assert!(readiness.configured && readiness.routable);
    assert!(readiness.checks.iter().all(|c| c.ok));
    assert_eq!(readiness.status, ConnectionStatus::Active);
    // An active connection cannot lose a required field.
    assert_code(
        sso.update_connection(
            &org.admin,
            org.group,
            ready.id,
            SsoConnectionPatch {
                config: Some(ProtocolInput::Saml(SamlInput::default())),
                ..SsoConnectionPatch::default()
            },
            &meta(),
        )
        .await,
        ErrorCode::SsoConnectionNotReady,
    );
}

pub async fn malformed_configuration_is_refused_with_typed_errors<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let org = org(&env, "acme").await;
    let sso = env.auth.sso();
    let oidc_with = |edit: &dyn Fn(&mut OidcInput)| {
        let mut input = OidcInput {
            issuer: "https://idp.example.net".into(),
            client_id: "c".into(),
            ..OidcInput::default()
        };
        edit(&mut input);
        ProtocolInput::Oidc(input)
    };
    let bad_configs = vec![
        oidc_with(&|o| o.issuer = "http://idp.example.net".into()),
        oidc_with(&|o| o.issuer = "not a url".into()),
        oidc_with(&|o| o.issuer = format!("https://x.example/{}", "a".repeat(3000))),
        oidc_with(&|o| o.client_id = "a\nb".into()),
        oidc_with(&|o| o.client_secret = Some(Secret::new(""))),
        oidc_with(&|o| o.client_secret = Some(Secret::new("x".repeat(2000)))),
        oidc_with(&|o| o.scopes = Some(vec!["has space".into()])),
        oidc_with(&|o| o.scopes = Some(vec!["s".into(); 40])),
        oidc_with(&|o| {
            o.extra_params = BTreeMap::from([("nonce".to_owned(), "x".to_owned())]);
        }),
        oidc_with(&|o| {
            o.extra_params = BTreeMap::from([("bad key".to_owned(), "x".to_owned())]);
        }),
        ProtocolInput::Saml(SamlInput {
            idp_metadata_xml: "<not-metadata/>".into(),
            ..SamlInput::default()
        }),
        ProtocolInput::Saml(SamlInput {
            idp_metadata_xml: "<<<".into(),
            ..SamlInput::default()
        }),
        ProtocolInput::Saml(SamlInput {
            acs_url: "ftp://app.example.org/acs".into(),
            ..SamlInput::default()
        }),
    ];
    for (i, config) in bad_configs.into_iter().enumerate() {
        let result = sso
            .create_connection(&org.admin, new_connection(org.group, "x", config), &meta())
            .await;
        match result {
            Err(e) => assert_eq!(e.code(), ErrorCode::InvalidInput, "case {i}: {e}"),
            Ok(c) => panic!("case {i} was accepted: {c:?}"),
        }
    }
    for name in ["", "   ", &"n".repeat(200), "a\u{0}b"] {
        assert_code(
            sso.create_connection(&org.admin, new_connection(org.group, name, oidc()), &meta())
                .await,
            ErrorCode::InvalidInput,
        );
    }
    let mut input = new_connection(org.group, "x", oidc());
    input.extend = Some(serde_json::json!([1, 2]));
    assert_code(
        sso.create_connection(&org.admin, input, &meta()).await,
        ErrorCode::InvalidInput,
    );
    let mut input = new_connection(org.group, "x", oidc());
    input.default_role = Some("no-such-role".into());
    assert_code(
        sso.create_connection(&org.admin, input, &meta()).await,
        ErrorCode::InvalidInput,
    );
    // Loopback http issuers are for local test IdPs.
    connection(
        &env,
        &org,
        "local",
        oidc_with(&|o| o.issuer = "http://127.0.0.1:9000/".into()),
    )
    .await;
    // Nothing was stored by the refusals.
    let page = sso
        .list_connections(
            &org.admin,
            ListQuery::new(
                SsoConnectionFilter::group(org.group),
                SsoConnectionOrder::CreatedAt,
            ),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let refusals = env.audit_trail("sso.connection.create").await;
    assert!(refusals.iter().filter(|(ok, _)| !ok).count() >= 17);
    assert!(
        refusals
            .iter()
            .all(|(ok, code)| *ok || code.as_deref() == Some("INVALID_INPUT"))
    );
}

pub async fn managing_connections_needs_the_permission_and_is_audited<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let other = org(&env, "other").await;
    let sso = env.auth.sso();
    let input = || new_connection(acme.group, "Okta", oidc());
    // A plain member: forbidden. An outsider or another organization's admin: not found.
    assert_code(
        sso.create_connection(&acme.member, input(), &meta()).await,
        ErrorCode::Forbidden,
    );
    assert_code(
        sso.create_connection(&acme.outsider, input(), &meta())
            .await,
        ErrorCode::GroupNotFound,
    );
    assert_code(
        sso.create_connection(&other.owner, input(), &meta()).await,
        ErrorCode::GroupNotFound,
    );
    let created = sso
        .create_connection(&Caller::System, input(), &meta())
        .await
        .unwrap();
    for caller in [&acme.outsider, &other.admin] {
        assert_code(
            sso.get_connection(caller, acme.group, created.id).await,
            ErrorCode::SsoConnectionNotFound,
        );
        assert_code(
            sso.delete_connection(caller, acme.group, created.id, &meta())
                .await,
            ErrorCode::SsoConnectionNotFound,
        );
    }
    // Named under another organization (the caller's own): not found either.
    assert_code(
        sso.get_connection(&other.admin, other.group, created.id)
            .await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert_code(
        sso.update_connection(
            &acme.member,
            acme.group,
            created.id,
            SsoConnectionPatch {
                name: Some("mine".into()),
                ..SsoConnectionPatch::default()
            },
            &meta(),
        )
        .await,
        ErrorCode::Forbidden,
    );
    // An admin provisions nobody above their own role.
    let mut owners = input();
    owners.default_role = Some("owner".into());
    assert_code(
        sso.create_connection(&acme.admin, owners.clone(), &meta())
            .await,
        ErrorCode::Forbidden,
    );
    let mut mapped = input();
    mapped.role_mapping = BTreeMap::from([("IdP Admins".to_owned(), "owner".to_owned())]);
    assert_code(
        sso.create_connection(&acme.admin, mapped, &meta()).await,
        ErrorCode::Forbidden,
    );
    let by_owner = sso
        .create_connection(&acme.owner, owners, &meta())
        .await
        .unwrap();
    assert_eq!(by_owner.default_role.as_deref(), Some("owner"));

    assert_eq!(
        env.audit_trail("sso.connection.create").await,
        vec![
            (false, Some("FORBIDDEN".into())),
            (false, Some("GROUP_NOT_FOUND".into())),
            (false, Some("GROUP_NOT_FOUND".into())),
            (true, None),
            (false, Some("FORBIDDEN".into())),
            (false, Some("FORBIDDEN".into())),
            (true, None),
        ]
    );
    let reads = env.audit_trail("sso.connection.read").await;
    assert_eq!(reads.len(), 3, "refused reads are audited: {reads:?}");
    assert!(reads.iter().all(|(ok, _)| !ok));
    assert_eq!(
        env.audit_trail("sso.connection.update").await,
        vec![(false, Some("FORBIDDEN".into()))]
    );
}

pub async fn deleting_a_group_deletes_its_connections_and_domains<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let keep = org(&env, "keep").await;
    // A subgroup's connection and domain go with the tree.
    let sub = env
        .auth
        .groups()
        .create(
            &acme.owner,
            crate::groups::NewGroup {
                name: "EMEA".into(),
                parent_id: Some(acme.group),
                ..crate::groups::NewGroup::default()
            },
            &meta(),
        )
        .await
        .unwrap()
        .id;
    let sso = env.auth.sso();
    let c1 = connection(&env, &acme, "Okta", oidc()).await;
    let c2 = sso
        .create_connection(
            &Caller::System,
            new_connection(sub, "EMEA", saml()),
            &meta(),
        )
        .await
        .unwrap();
    let kept = connection(&env, &keep, "Kept", oidc()).await;
    let d1 = verified_domain(&env, &acme, "acme.example.com").await;
    let d2 = sso
        .add_domain(&Caller::System, sub, "emea.acme.example.com", &meta())
        .await
        .unwrap();
    let kept_domain = verified_domain(&env, &keep, "keep.example.com").await;

    env.auth
        .groups()
        .delete(&acme.owner, acme.group, &meta())
        .await
        .unwrap();
    let store = env.store();
    for id in [c1.id, c2.id] {
        assert!(store.get_sso_connection(id).await.unwrap().is_none());
    }
    for id in [d1.id, d2.id] {
        assert!(store.get_domain(id).await.unwrap().is_none());
    }
    assert!(
        store
            .find_domain("acme.example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.get_sso_connection(kept.id).await.unwrap().is_some());
    assert!(store.get_domain(kept_domain.id).await.unwrap().is_some());
    // The freed domain may be claimed and verified by another organization.
    verified_domain(&env, &keep, "acme.example.com").await;
}
