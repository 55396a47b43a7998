//! Routing a sign-in to a connection (by email, domain or connection id; only verified
//! domains and active connections route) and the SSO requirement of a verified domain,
//! which refuses password, emailed-code and passkey sign-in for its addresses.

use crate::conformance::sso::{connection, oidc, org, publish, saml, verified_domain};
use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::sso::{ConnectionStatus, SsoConnectionPatch, SsoTarget};
use crate::verification::Purpose;
use crate::{Answer, Caller, ErrorCode, Secret, SsoDomain};

fn activate() -> SsoConnectionPatch {
    SsoConnectionPatch {
        status: Some(ConnectionStatus::Active),
        ..SsoConnectionPatch::default()
    }
}

pub async fn sign_ins_route_by_email_domain_and_connection<S: SsoDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    let sso = env.auth.sso();
    let by_email = || SsoTarget::Email("Ada@Acme.Example.com".into());
    let by_domain = || SsoTarget::Domain("ACME.example.com.".into());
    // Nothing routes yet.
    assert_code(
        sso.route(&by_email()).await,
        ErrorCode::SsoConnectionNotFound,
    );
    let first = connection(&env, &acme, "Okta", oidc()).await;
    let second = connection(&env, &acme, "ADFS", saml()).await;
    // A draft connection routes nobody, even by id.
    assert_code(
        sso.route(&SsoTarget::Connection(first.id)).await,
        ErrorCode::SsoConnectionInactive,
    );
    sso.update_connection(&acme.admin, acme.group, second.id, activate(), &meta())
        .await
        .unwrap();
    // Active, but the domain is only claimed: no routing by address yet.
    let claimed = sso
        .add_domain(&acme.admin, acme.group, "acme.example.com", &meta())
        .await
        .unwrap();
    assert_code(
        sso.route(&by_email()).await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert_code(
        sso.route(&by_domain()).await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert_eq!(
        sso.route(&SsoTarget::Connection(second.id))
            .await
            .unwrap()
            .id,
        second.id
    );
    sso.remove_domain(&acme.admin, acme.group, claimed.id, &meta())
        .await
        .unwrap();
    verified_domain(&env, &acme, "acme.example.com").await;
    assert_eq!(sso.route(&by_email()).await.unwrap().id, second.id);
    assert_eq!(sso.route(&by_domain()).await.unwrap().id, second.id);
    // With two active connections, the oldest routes.
    sso.update_connection(&acme.admin, acme.group, first.id, activate(), &meta())
        .await
        .unwrap();
    assert_eq!(sso.route(&by_email()).await.unwrap().id, first.id);
    // Disabled connections route nobody.
    for id in [first.id, second.id] {
        sso.update_connection(
            &acme.admin,
            acme.group,
            id,
            SsoConnectionPatch {
                status: Some(ConnectionStatus::Disabled),
                ..SsoConnectionPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    }
    assert_code(
        sso.route(&by_email()).await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert_code(
        sso.route(&SsoTarget::Connection(first.id)).await,
        ErrorCode::SsoConnectionInactive,
    );
    // Other addresses and malformed input.
    assert_code(
        sso.route(&SsoTarget::Email("bob@other.example.com".into()))
            .await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert_code(
        sso.route(&SsoTarget::Email("not an address".into())).await,
        ErrorCode::InvalidEmail,
    );
    assert_code(
        sso.route(&SsoTarget::Domain("*.example.com".into())).await,
        ErrorCode::InvalidInput,
    );
    assert_code(
        sso.route(&SsoTarget::Connection(crate::SsoConnectionId::new()))
            .await,
        ErrorCode::SsoConnectionNotFound,
    );
}

pub async fn a_domain_that_requires_sso_refuses_password_and_emailed_code_sign_in<
    S: SsoDomain + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let acme = org(&env, "acme").await;
    // Ada signed up with a password before her company set up SSO, and asked for a code.
    env.user("ada@acme.example.com").await;
    env.user("bob@elsewhere.example.com").await;
    env.auth
        .email()
        .send_sign_in_code("ada@acme.example.com", &meta())
        .await
        .unwrap();
    let early_code = env
        .mailer
        .last("ada@acme.example.com", Purpose::SignIn)
        .unwrap();
    let sso = env.auth.sso();
    let domain = sso
        .add_domain(&acme.admin, acme.group, "acme.example.com", &meta())
        .await
        .unwrap();
    // Only a verified domain may require SSO.
    assert_code(
        sso.set_require_sso(&acme.admin, acme.group, domain.id, true, &meta())
            .await,
        ErrorCode::DomainNotVerified,
    );
    assert!(!sso.sso_required_for("ada@acme.example.com").await.unwrap());
    publish(&env, &domain).await;
    let domain = sso
        .verify_domain(&acme.admin, acme.group, domain.id, &meta())
        .await
        .unwrap();
    assert_code(
        sso.set_require_sso(&acme.member, acme.group, domain.id, true, &meta())
            .await,
        ErrorCode::Forbidden,
    );
    let on = sso
        .set_require_sso(&acme.admin, acme.group, domain.id, true, &meta())
        .await
        .unwrap();
    assert!(on.require_sso);
    assert!(sso.sso_required_for("Ada@ACME.example.com").await.unwrap());
    assert!(
        !sso.sso_required_for("bob@elsewhere.example.com")
            .await
            .unwrap()
    );
    assert!(env.store().sso_required("acme.example.com").await.unwrap());

    // Password sign-in: refused, for known and unknown addresses alike.
    for email in ["ada@acme.example.com", "nobody@acme.example.com"] {
        assert_code(
            env.auth
                .password()
                .sign_in(email, &Secret::new(PASSWORD), &meta())
                .await,
            ErrorCode::SsoRequired,
        );
    }
    // A password sign-up would sign in too.
    assert_code(
        env.auth
            .password()
            .sign_up(
                crate::SignUp {
                    email: "new@acme.example.com".into(),
                    password: Secret::new(PASSWORD),
                    name: None,
                    extend: None,
                },
                &meta(),
            )
            .await,
        ErrorCode::SsoRequired,
    );
    assert!(
        env.store()
            .get_user_by_email(&crate::Email::parse("new@acme.example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // Emailed code: none is sent, and one sent before does not sign in.
    let sent_before = env.mailer.messages().len();
    assert_code(
        env.auth
            .email()
            .send_sign_in_code("ada@acme.example.com", &meta())
            .await,
        ErrorCode::SsoRequired,
    );
    assert_eq!(env.mailer.messages().len(), sent_before, "no code was sent");
    assert_code(
        env.auth
            .email()
            .sign_in(Answer::Link(early_code.link_token.expose()), &meta())
            .await,
        ErrorCode::SsoRequired,
    );
    // Other domains are unaffected.
    env.sign_in("bob@elsewhere.example.com").await;
    let failures = env
        .audit_failures(&["user.sign_in", "email.sign_in_code_requested"])
        .await;
    assert_eq!(
        failures
            .iter()
            .filter(|c| c.as_deref() == Some("SSO_REQUIRED"))
            .count(),
        4,
        "{failures:?}"
    );

    // Turned off: passwords work again.
    sso.set_require_sso(&acme.admin, acme.group, domain.id, false, &meta())
        .await
        .unwrap();
    env.sign_in("ada@acme.example.com").await;
    assert_eq!(
        env.audit_trail("sso.domain.update").await,
        vec![
            (false, Some("DOMAIN_NOT_VERIFIED".into())),
            (false, Some("FORBIDDEN".into())),
            (true, None),
            (true, None),
        ]
    );
    // A removed domain requires nothing.
    sso.set_require_sso(&Caller::System, acme.group, domain.id, true, &meta())
        .await
        .unwrap();
    assert!(sso.sso_required_for("ada@acme.example.com").await.unwrap());
    sso.remove_domain(&acme.owner, acme.group, domain.id, &meta())
        .await
        .unwrap();
    assert!(!sso.sso_required_for("ada@acme.example.com").await.unwrap());
    env.sign_in("ada@acme.example.com").await;
}

pub async fn a_domain_that_requires_sso_refuses_passkey_sign_in<
    S: SsoDomain + crate::PasskeyDomain + Clone,
>(
    h: Harness<S>,
) {
    use crate::conformance::passkeys::authenticator::Tweak;
    use crate::conformance::passkeys::{env as passkey_env, sign_in, with_passkey};
    let env = passkey_env(h.store);
    let acme = org(&env, "acme").await;
    let (_, soft, _) = with_passkey(&env, "ada@acme.example.com").await;
    // Before the requirement, her passkey signs her in.
    sign_in(&env, &soft, None, Tweak::default()).await.unwrap();
    let sso = env.auth.sso();
    let domain = sso
        .add_domain(&acme.admin, acme.group, "acme.example.com", &meta())
        .await
        .unwrap();
    publish(&env, &domain).await;
    sso.verify_domain(&acme.admin, acme.group, domain.id, &meta())
        .await
        .unwrap();
    sso.set_require_sso(&acme.admin, acme.group, domain.id, true, &meta())
        .await
        .unwrap();
    // Discoverable and with the address typed: refused alike, and audited.
    assert_code(
        sign_in(&env, &soft, None, Tweak::default()).await,
        ErrorCode::SsoRequired,
    );
    assert_code(
        sign_in(&env, &soft, Some("ada@acme.example.com"), Tweak::default()).await,
        ErrorCode::SsoRequired,
    );
    let refused = env
        .audit_trail("user.sign_in")
        .await
        .into_iter()
        .filter(|event| *event == (false, Some("SSO_REQUIRED".into())))
        .count();
    assert_eq!(refused, 2);
}
