//! Just-in-time provisioning of an SSO sign-in (protocol checks done): the first sign-in
//! creates a user, its account, the membership and a session recording the connection;
//! later ones find the same user and update it; linking by address only when both sides
//! vouch for it; addresses outside the organization's verified domains refused; role
//! mapping; two first sign-ins at once on two nodes make one user; requiring SSO ends the
//! domain's other sessions.

use std::collections::BTreeMap;

use crate::accounts::Provider;
use crate::conformance::sso::{Org, connection, oidc, org, verified_domain};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::members::MemberPatch;
use crate::sso::{ConnectionStatus, ExternalIdentity, Sso, SsoConnection, SsoConnectionPatch};
use crate::users::UserPatch;
use crate::{AuthError, Caller, ErrorCode, SignedIn, SsoDomain, UserId};

/// An active OIDC connection of `org` with `role_mapping`, and `domain` verified.
async fn active<S: SsoDomain + Clone>(
    env: &Env<S>,
    org: &Org,
    domain: &str,
    role_mapping: &[(&str, &str)],
) -> SsoConnection {
    verified_domain(env, org, domain).await;
    let view = connection(env, org, "IdP", oidc()).await;
    let patch = SsoConnectionPatch {
        status: Some(ConnectionStatus::Active),
        role_mapping: Some(
            role_mapping
                .iter()
                .map(|(g, r)| ((*g).to_owned(), (*r).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..SsoConnectionPatch::default()
    };
    env.auth
        .sso()
        .update_connection(&org.admin, org.group, view.id, patch, &meta())
        .await
        .unwrap();
    env.store()
        .get_sso_connection(view.id)
        .await
        .unwrap()
        .unwrap()
}

/// What an IdP says of `subject` with `email`.
/// Signs in through `conn` the [`person`] with these fields.
async fn sign_in_as<S: SsoDomain + Clone>(
    sso: &Sso<'_, S>,
    conn: &SsoConnection,
    subject: &str,
    email: &str,
    verified: bool,
) -> Result<SignedIn, AuthError> {
    sso.sign_in_identity(conn, &person(subject, email, verified), &meta())
        .await
}

fn person(subject: &str, email: &str, verified: bool) -> ExternalIdentity {
    let mut identity = ExternalIdentity::new(subject);
    identity.email = Some(email.into());
    identity.email_verified = verified;
    identity.name = Some("Grace Hopper".into());
    identity
}

/// Marks a user's address verified, as the app may.
async fn verify_email<S: SsoDomain + Clone>(env: &Env<S>, id: UserId) {
    let patch = UserPatch {
        email_verified: Some(true),
        ..UserPatch::default()
    };
    env.auth
        .users()
        .update(&Caller::System, id, patch, &meta())
        .await
        .unwrap();
}

async fn role_of<S: SsoDomain + Clone>(env: &Env<S>, org: &Org, user: UserId) -> String {
    env.store()
        .get_member_by_user(org.group, user)
        .await
        .unwrap()
        .expect("a member")
        .role
}

pub async fn a_first_sso_sign_in_creates_the_user_account_membership_and_session<
    S: SsoDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let conn = active(&env, &acme, "acme.example.com", &[]).await;
    let sso = env.auth.sso();
    let signed_in = sign_in_as(&sso, &conn, "sub-1", "Grace@ACME.example.com", true)
        .await
        .unwrap();
    let user = &signed_in.user;
    assert_eq!(user.email.as_str(), "grace@acme.example.com");
    assert!(user.email_verified, "the IdP vouched on a verified domain");
    assert_eq!(user.name.as_deref(), Some("Grace Hopper"));
    assert_eq!(signed_in.session.sso_connection_id, Some(conn.id));
    assert_eq!(signed_in.session.aal, crate::Aal::Aal1);
    let me = env
        .auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
    assert_eq!(me.session.sso_connection_id, Some(conn.id));
    let provider = Provider::new(&format!("sso:{}", conn.id)).unwrap();
    let account = env.store().get_account(&provider, "sub-1").await.unwrap();
    assert_eq!(account.unwrap().user_id, user.id);
    assert_eq!(role_of(&env, &acme, user.id).await, "member");
    assert_eq!(env.audit_trail("sso.sign_in").await, vec![(true, None)]);
    assert_eq!(env.audit_trail("user.create").await, vec![(true, None)]);
    assert!(env.audit_trail("member.add").await.contains(&(true, None)));
}

pub async fn a_later_sso_sign_in_finds_the_same_user_and_updates_its_fields<
    S: SsoDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let conn = active(&env, &acme, "acme.example.com", &[]).await;
    let sso = env.auth.sso();
    let first = sign_in_as(&sso, &conn, "sub-1", "grace@acme.example.com", true)
        .await
        .unwrap();
    let mut renamed = person("sub-1", "grace@acme.example.com", true);
    renamed.name = None;
    renamed.given_name = Some("Grace B.".into());
    renamed.family_name = Some("Hopper".into());
    let second = sso
        .sign_in_identity(&conn, &renamed, &meta())
        .await
        .unwrap();
    assert_eq!(second.user.id, first.user.id);
    assert_ne!(second.session.id, first.session.id);
    assert_eq!(second.user.name.as_deref(), Some("Grace B. Hopper"));
    let stored = env.store().get_user(first.user.id).await.unwrap().unwrap();
    assert_eq!(stored.name.as_deref(), Some("Grace B. Hopper"));
    assert_eq!(env.audit_trail("user.create").await.len(), 1);
}

pub async fn a_vouched_address_on_a_verified_domain_links_a_verified_user<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let conn = active(&env, &acme, "acme.example.com", &[]).await;
    let existing = env.user("ada@acme.example.com").await.user;
    verify_email(&env, existing.id).await;
    let signed_in = sign_in_as(
        &env.auth.sso(),
        &conn,
        "sub-ada",
        "ada@acme.example.com",
        true,
    )
    .await
    .unwrap();
    assert_eq!(signed_in.user.id, existing.id);
    let accounts = env.store().list_accounts(existing.id).await.unwrap();
    assert!(accounts.iter().any(|a| a.provider_account_id == "sub-ada"));
    assert!(
        env.audit_trail("account.link")
            .await
            .contains(&(true, None))
    );
}

pub async fn an_address_the_idp_does_not_vouch_for_never_links<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let conn = active(&env, &acme, "acme.example.com", &[]).await;
    let alice = env.user("alice@acme.example.com").await.user;
    verify_email(&env, alice.id).await;
    // mallory, at the IdP, claims alice's address without it being verified.
    let mallory = person("sub-mallory", "alice@acme.example.com", false);
    assert_code(
        env.auth
            .sso()
            .sign_in_identity(&conn, &mallory, &meta())
            .await,
        ErrorCode::SsoLinkRefused,
    );
    assert_eq!(env.store().list_accounts(alice.id).await.unwrap().len(), 1);
    let provider = Provider::new(&format!("sso:{}", conn.id)).unwrap();
    assert!(
        env.store()
            .get_account(&provider, "sub-mallory")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store()
            .get_member_by_user(acme.group, alice.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        env.audit_failures(&["sso.sign_in"]).await,
        vec![Some("SSO_LINK_REFUSED".into())]
    );
}

pub async fn an_existing_user_with_an_unverified_address_is_not_linked<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let conn = active(&env, &acme, "acme.example.com", &[]).await;
    // Someone signed up with the address and never proved it.
    let squatter = env.user("bob@acme.example.com").await.user;
    assert!(!squatter.email_verified);
    assert_code(
        sign_in_as(
            &env.auth.sso(),
            &conn,
            "sub-bob",
            "bob@acme.example.com",
            true,
        )
        .await,
        ErrorCode::SsoLinkRefused,
    );
    assert_eq!(
        env.store().list_accounts(squatter.id).await.unwrap().len(),
        1
    );
    assert_eq!(env.audit_trail("user.create").await.len(), 0);
}

pub async fn an_address_outside_the_organizations_verified_domains_is_refused<
    S: SsoDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let conn = active(&env, &acme, "acme.example.com", &[]).await;
    // Claimed, not verified: still not the organization's.
    env.auth
        .sso()
        .add_domain(&acme.admin, acme.group, "acme-labs.example.com", &meta())
        .await
        .unwrap();
    let sso = env.auth.sso();
    for email in [
        "eve@other.example.com",
        "eve@acme-labs.example.com",
        "eve@sub.acme.example.com",
        "not an address",
    ] {
        assert_code(
            sign_in_as(&sso, &conn, "sub-eve", email, true).await,
            ErrorCode::SsoEmailNotAllowed,
        );
    }
    let mut no_email = person("sub-eve", "x@acme.example.com", true);
    no_email.email = None;
    assert_code(
        sso.sign_in_identity(&conn, &no_email, &meta()).await,
        ErrorCode::SsoEmailNotAllowed,
    );
    let failures = env.audit_failures(&["sso.sign_in"]).await;
    assert_eq!(failures.len(), 5);
    assert!(
        failures
            .iter()
            .all(|c| c.as_deref() == Some("SSO_EMAIL_NOT_ALLOWED"))
    );
    // A connection that is not active signs nobody in.
    let mut disabled = conn.clone();
    disabled.status = ConnectionStatus::Disabled;
    assert_code(
        sign_in_as(&sso, &disabled, "s", "x@acme.example.com", true).await,
        ErrorCode::SsoConnectionInactive,
    );
    assert_eq!(env.audit_trail("user.create").await.len(), 0);
}

pub async fn idp_groups_map_to_roles<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let conn = active(
        &env,
        &acme,
        "acme.example.com",
        &[("eng", "member"), ("it", "admin")],
    )
    .await;
    let sso = env.auth.sso();
    let mut grace = person("sub-1", "grace@acme.example.com", true);
    grace.groups = vec!["eng".into(), "it".into()];
    let user = sso
        .sign_in_identity(&conn, &grace, &meta())
        .await
        .unwrap()
        .user;
    assert_eq!(
        role_of(&env, &acme, user.id).await,
        "admin",
        "the highest mapped role"
    );
    // The IdP moves her out of `it`: the mapping says member now.
    grace.groups = vec!["eng".into()];
    sso.sign_in_identity(&conn, &grace, &meta()).await.unwrap();
    assert_eq!(role_of(&env, &acme, user.id).await, "member");
    // No group maps: an admin's change of role stays.
    let member = env
        .store()
        .get_member_by_user(acme.group, user.id)
        .await
        .unwrap()
        .unwrap();
    env.auth
        .members()
        .update(
            &Caller::System,
            acme.group,
            member.id,
            MemberPatch {
                role: Some("admin".into()),
                ..MemberPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    grace.groups = vec!["unmapped".into()];
    sso.sign_in_identity(&conn, &grace, &meta()).await.unwrap();
    assert_eq!(role_of(&env, &acme, user.id).await, "admin");
    // Nobody mapped and a default role: the default.
    let patch = SsoConnectionPatch {
        default_role: Some(Some("admin".into())),
        ..SsoConnectionPatch::default()
    };
    sso.update_connection(&acme.admin, acme.group, conn.id, patch, &meta())
        .await
        .unwrap();
    let conn = env
        .store()
        .get_sso_connection(conn.id)
        .await
        .unwrap()
        .unwrap();
    let newcomer = sign_in_as(&sso, &conn, "sub-2", "alan@acme.example.com", true)
        .await
        .unwrap()
        .user;
    assert_eq!(role_of(&env, &acme, newcomer.id).await, "admin");
}

pub async fn two_first_sso_sign_ins_at_once_on_two_nodes_make_one_user<S: SsoDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let other_node = env.node(h.peer);
    let acme = org(&env, "acme").await;
    let conn = active(&env, &acme, "acme.example.com", &[]).await;
    for (round, verified) in [(0, true), (1, false)] {
        let subject = format!("sub-{round}");
        let email = format!("person{round}@acme.example.com");
        let identity = person(&subject, &email, verified);
        let (here, there) = (env.auth.sso(), other_node.auth.sso());
        let (m1, m2) = (meta(), meta());
        let (a, b) = tokio::join!(
            here.sign_in_identity(&conn, &identity, &m1),
            there.sign_in_identity(&conn, &identity, &m2),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.user.id, b.user.id, "round {round}");
        assert_ne!(a.session.id, b.session.id);
        assert_eq!(env.store().list_accounts(a.user.id).await.unwrap().len(), 1);
    }
    assert_eq!(env.audit_trail("user.create").await.len(), 2);
}

pub async fn requiring_sso_ends_the_domains_other_sessions<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let domain = verified_domain(&env, &acme, "acme.example.com").await;
    let conn = active(&env, &acme, "acme-corp.example.com", &[]).await;
    // The connection's people on the domain too (its organization verified both).
    let by_password = env.user("ada@acme.example.com").await;
    let by_sso = sign_in_as(
        &env.auth.sso(),
        &conn,
        "sub-g",
        "grace@acme.example.com",
        true,
    )
    .await
    .unwrap();
    let grace_by_password = env
        .auth
        .password()
        .sign_up(
            crate::SignUp {
                email: "grace2@acme.example.com".into(),
                password: crate::Secret::new(crate::conformance::PASSWORD),
                name: None,
                extend: None,
            },
            &meta(),
        )
        .await
        .unwrap();
    let crate::SignUpOutcome::SignedIn(grace_by_password) = grace_by_password else {
        panic!("signed in")
    };
    let elsewhere = env.user("bob@other.example.com").await;
    let sessions = env.auth.sessions();
    // Cached on this node before the change.
    for token in [&by_password, &by_sso, &grace_by_password, &elsewhere] {
        sessions
            .validate(token.session_token.expose())
            .await
            .unwrap();
    }
    env.auth
        .sso()
        .set_require_sso(&acme.admin, acme.group, domain.id, true, &meta())
        .await
        .unwrap();
    for ended in [&by_password, &grace_by_password] {
        assert_code(
            sessions.validate(ended.session_token.expose()).await,
            ErrorCode::SessionRevoked,
        );
    }
    sessions
        .validate(by_sso.session_token.expose())
        .await
        .unwrap();
    sessions
        .validate(elsewhere.session_token.expose())
        .await
        .unwrap();
    // Revoked in the store, not only evicted here.
    let stored = env
        .store()
        .get_session(by_password.session.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some());
    // Turning it off and on again revokes only what is new.
    env.auth
        .sso()
        .set_require_sso(&acme.admin, acme.group, domain.id, false, &meta())
        .await
        .unwrap();
    env.auth
        .sso()
        .set_require_sso(&acme.admin, acme.group, domain.id, true, &meta())
        .await
        .unwrap();
    sessions
        .validate(by_sso.session_token.expose())
        .await
        .unwrap();
    let updates = env.audit_trail("sso.domain.update").await;
    assert_eq!(updates.len(), 3);
    assert!(updates.iter().all(|(ok, _)| *ok));
}
