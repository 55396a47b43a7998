//! The SSO domain (connections and domains; the protocol flows come later): connection
//! CRUD and pagination, the client secret sealed at rest and never shown, readiness and
//! activation, domains (one verified domain per organization, also when two verify at
//! once on two nodes), verification through the DNS double (right, wrong and missing TXT
//! records, a failing resolver), manual verification by the app only, routing by email,
//! domain and connection, the SSO requirement refusing password and emailed-code
//! sign-in, the cascade on group deletion, authorization refusals and audit events;
//! just-in-time provisioning of SSO sign-ins and requiring SSO ending the domain's other
//! sessions.

pub mod connections;
pub mod domains;
pub mod flow_records;
pub mod provisioning;
pub mod routing;

use std::collections::BTreeMap;

use crate::conformance::organizations::groups::named;
use crate::conformance::{Env, meta};
use crate::members::NewMember;
use crate::sso::{
    NewSsoConnection, OidcInput, OrgDomain, ProtocolInput, SamlInput, SsoConnectionView,
};
use crate::{Caller, GroupId, Secret, SsoDomain};

/// The client secret the suite configures (never to be seen again).
pub(crate) const CLIENT_SECRET: &str = "s3cr3t-client-secret-value-0123456789";

/// A DER certificate stand-in (a SEQUENCE), enough for the metadata parser.
pub(crate) const CERT: &str = "MIIBAA==";

/// IdP metadata as an IdP would publish it.
pub(crate) fn idp_metadata() -> String {
    format!(
        r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.net/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{CERT}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.net/saml/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

/// A complete OIDC configuration.
pub(crate) fn oidc() -> ProtocolInput {
    ProtocolInput::Oidc(OidcInput {
        issuer: "https://idp.example.net".into(),
        client_id: "client-123".into(),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        ..OidcInput::default()
    })
}

/// A complete SAML configuration.
pub(crate) fn saml() -> ProtocolInput {
    ProtocolInput::Saml(SamlInput {
        idp_metadata_xml: idp_metadata(),
        sp_entity_id: "https://app.example.org/sso/saml".into(),
        acs_url: "https://app.example.org/sso/saml/acs".into(),
        ..SamlInput::default()
    })
}

/// A new connection of `group` named `name`, a draft.
pub(crate) fn new_connection(
    group: GroupId,
    name: &str,
    config: ProtocolInput,
) -> NewSsoConnection {
    NewSsoConnection {
        group_id: group,
        name: name.into(),
        config,
        status: None,
        default_role: None,
        role_mapping: BTreeMap::new(),
        extend: None,
    }
}

/// An organization with an owner, an admin, a plain member, and an outsider (a user with
/// no standing in it).
pub(crate) struct Org {
    pub(crate) group: GroupId,
    pub(crate) owner: Caller,
    pub(crate) admin: Caller,
    pub(crate) member: Caller,
    pub(crate) outsider: Caller,
}

/// Sets up an organization whose people have addresses at `<tag>.example.org`.
pub(crate) async fn org<S: SsoDomain + Clone>(env: &Env<S>, tag: &str) -> Org {
    let owner = env.user(&format!("owner@{tag}.example.org")).await;
    let group = env
        .auth
        .groups()
        .create_owned_by(&Caller::System, named(tag), owner.user.id, &meta())
        .await
        .unwrap()
        .id;
    let mut callers = Vec::new();
    for (who, role) in [("admin", "admin"), ("member", "member")] {
        let user = env.user(&format!("{who}@{tag}.example.org")).await;
        env.auth
            .members()
            .add(
                &Caller::System,
                NewMember {
                    group_id: group,
                    user_id: user.user.id,
                    role: Some(role.into()),
                    status: None,
                    extend: None,
                },
                &meta(),
            )
            .await
            .unwrap();
        callers.push(env.caller(user.user.id).await);
    }
    let outsider = env.user(&format!("outsider@{tag}.example.net")).await;
    let member = callers.pop().unwrap();
    let admin = callers.pop().unwrap();
    Org {
        group,
        owner: env.caller(owner.user.id).await,
        admin,
        member,
        outsider: env.caller(outsider.user.id).await,
    }
}

/// A connection created by the org's admin.
pub(crate) async fn connection<S: SsoDomain + Clone>(
    env: &Env<S>,
    org: &Org,
    name: &str,
    config: ProtocolInput,
) -> SsoConnectionView {
    env.auth
        .sso()
        .create_connection(&org.admin, new_connection(org.group, name, config), &meta())
        .await
        .unwrap()
}

/// Adds `domain` to the org and verifies it through the DNS double.
pub(crate) async fn verified_domain<S: SsoDomain + Clone>(
    env: &Env<S>,
    org: &Org,
    domain: &str,
) -> OrgDomain {
    let sso = env.auth.sso();
    let added = sso
        .add_domain(&org.admin, org.group, domain, &meta())
        .await
        .unwrap();
    publish(env, &added).await;
    sso.verify_domain(&org.admin, org.group, added.id, &meta())
        .await
        .unwrap()
}

/// Publishes the domain's verification record in the DNS double (beside what is there).
pub(crate) async fn publish<S: SsoDomain + Clone>(env: &Env<S>, domain: &OrgDomain) {
    use crate::sso::DomainVerifier;
    let name = domain.txt_name();
    let mut values = env.dns.txt_records(&name).await.unwrap();
    values.push(domain.txt_value());
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    env.dns.set(&name, &refs);
}
