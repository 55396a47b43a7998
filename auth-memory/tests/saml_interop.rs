//! The SAML 2.0 service provider against a real IdP: pysaml2 (tests/idp/saml_idp.py) on
//! 127.0.0.1, signed in through tests/idp/drive-saml.mjs, and the negative cases built from
//! its real output (replayed, tampered, unsigned, wrapped, wrong key, audience,
//! destination, request, expiry, unsolicited). Needs Node with tests/idp/node_modules,
//! python3 (the pysaml2 venv is installed by tests/idp/idps.sh), xmlsec1, openssl and curl
//! (`scripts/setup.sh`); prints SKIPPED otherwise.

use std::collections::BTreeMap;
use std::process::Command;

use auth_core::audit::{AuditFilter, AuditOrder};
use auth_core::groups::NewGroup;
use auth_core::sso::{
    ConnectionStatus, ExternalIdentity, NewSsoConnection, ProtocolInput, SamlInput, SsoConnection,
};
use auth_core::{
    Auth, AuthError, Caller, ErrorCode, GroupId, ListQuery, RequestMeta, SecretKey,
    SsoConnectionId, TestClock,
};
use auth_memory::MemoryStore;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::{Duration, OffsetDateTime};

const SP: &str = "http://127.0.0.1:3000/sso/saml/metadata";
const ACS: &str = "http://127.0.0.1:3000/sso/saml/acs";
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

#[path = "../../tests/idp/rust/mod.rs"]
mod idp;

use idp::saml::{Idp, Posted, available, drive, mapping};

/// The app: a memory store, the injected clock at the real now (the IdP's times are
/// real), an organization with `example.com` verified.
struct App {
    auth: Auth<MemoryStore>,
    clock: TestClock,
    group: GroupId,
}

fn meta() -> RequestMeta {
    RequestMeta::none()
}

async fn app() -> App {
    let clock = TestClock::at(OffsetDateTime::now_utc());
    let auth = Auth::builder(MemoryStore::new())
        .clock(clock.clone())
        .secret_key(SecretKey::generate())
        .audit_to_store()
        .build()
        .unwrap();
    let group = auth
        .groups()
        .create(
            &Caller::System,
            NewGroup {
                name: "Example".into(),
                ..Default::default()
            },
            &meta(),
        )
        .await
        .unwrap()
        .id;
    let sso = auth.sso();
    let domain = sso
        .add_domain(&Caller::System, group, "example.com", &meta())
        .await
        .unwrap();
    sso.mark_domain_verified(&Caller::System, group, domain.id, &meta())
        .await
        .unwrap();
    App { auth, clock, group }
}

impl App {
    /// An active SAML connection from `metadata` for the SP `(sp, acs)`.
    async fn connection(
        &self,
        metadata: &str,
        sp: &str,
        acs: &str,
        allow_idp_initiated: bool,
    ) -> SsoConnectionId {
        self.auth
            .sso()
            .create_connection(
                &Caller::System,
                NewSsoConnection {
                    group_id: self.group,
                    name: format!("{sp} {acs}"),
                    config: ProtocolInput::Saml(SamlInput {
                        idp_metadata_xml: metadata.to_owned(),
                        sp_entity_id: sp.to_owned(),
                        acs_url: acs.to_owned(),
                        attributes: Some(mapping()),
                        sign_authn_requests: false,
                        allow_idp_initiated,
                    }),
                    status: Some(ConnectionStatus::Active),
                    default_role: None,
                    role_mapping: BTreeMap::new(),
                    extend: None,
                },
                &meta(),
            )
            .await
            .unwrap()
            .id
    }

    /// Begins a sign-in through `connection` and drives `login` through the IdP.
    async fn sign_in(&self, connection: SsoConnectionId, login: &str) -> Posted {
        let start = self
            .auth
            .saml()
            .begin(connection, Some("back-to=/home"))
            .await
            .unwrap();
        drive(start.redirect_url.as_str(), login)
    }

    async fn finish(
        &self,
        connection: SsoConnectionId,
        response: &str,
        relay_state: &str,
    ) -> Result<(SsoConnection, ExternalIdentity), AuthError> {
        self.finish_in(connection, response, relay_state, Some(relay_state))
            .await
    }

    /// [`Self::finish`] from a browser whose flow cookie holds `bound` (`None`: none).
    async fn finish_in(
        &self,
        connection: SsoConnectionId,
        response: &str,
        relay_state: &str,
        bound: Option<&str>,
    ) -> Result<(SsoConnection, ExternalIdentity), AuthError> {
        self.auth
            .saml()
            .finish(connection, response, Some(relay_state), bound, &meta())
            .await
    }

    /// The codes of the `sso.saml.refused` events, oldest first.
    async fn refusals(&self) -> Vec<String> {
        let query = ListQuery::<AuditFilter, AuditOrder> {
            filter: AuditFilter {
                action: Some("sso.saml.refused".into()),
                ..AuditFilter::default()
            },
            ..ListQuery::default()
        };
        let page = self
            .auth
            .audit()
            .list(&Caller::System, query)
            .await
            .unwrap();
        page.items
            .iter()
            .map(|e| {
                assert!(!e.ok);
                e.error_code.clone().unwrap()
            })
            .collect()
    }
}

fn code_of<T>(result: Result<T, AuthError>) -> ErrorCode {
    match result {
        Ok(_) => panic!("expected a refusal"),
        Err(error) => error.code(),
    }
}

fn encode(xml: &str) -> String {
    STANDARD.encode(xml)
}

/// The prefix the document binds to `namespace` (pysaml2 writes `ns0`, `ns1`, ...).
fn prefix_of(xml: &str, namespace: &str) -> String {
    let at = xml
        .find(&format!("=\"{namespace}\""))
        .expect("namespace declared");
    let head = &xml[..at];
    let start = head.rfind("xmlns:").expect("prefixed namespace") + "xmlns:".len();
    head[start..].to_owned()
}

/// The document without its `Signature` elements.
fn strip_signatures(xml: &str) -> String {
    strip_prefixed_signatures(xml, &prefix_of(xml, XMLDSIG))
}

/// `xml` (maybe a fragment) without its `<ds:Signature>` elements.
fn strip_prefixed_signatures(xml: &str, ds: &str) -> String {
    let (open, close) = (format!("<{ds}:Signature"), format!("</{ds}:Signature>"));
    let mut out = xml.to_owned();
    while let Some(start) = out.find(&open) {
        let end = out[start..].find(&close).expect("closed signature") + start + close.len();
        out.replace_range(start..end, "");
    }
    out
}

/// The signed assertion's element, as a range of the document.
fn assertion_range(xml: &str) -> std::ops::Range<usize> {
    let saml = prefix_of(xml, ASSERTION_NS);
    let start = xml.find(&format!("<{saml}:Assertion")).unwrap();
    let close = format!("</{saml}:Assertion>");
    start..xml.find(&close).unwrap() + close.len()
}

/// A forged copy of the assertion: bob's subject, another ID, no signature.
fn forged_assertion(xml: &str) -> String {
    let signed = &xml[assertion_range(xml)];
    let id_at = signed.find(" ID=\"").unwrap() + " ID=\"".len();
    let id_end = id_at + signed[id_at..].find('"').unwrap();
    let mut forged = signed.to_owned();
    forged.replace_range(id_at..id_end, "forged-assertion-1");
    strip_prefixed_signatures(&forged, &prefix_of(xml, XMLDSIG))
        .replace("u-alice-0001", "u-bob-0002")
}

/// The document without its first `InResponseTo` attribute (the Response's).
fn without_first_in_response_to(xml: &str) -> String {
    let at = xml.find(" InResponseTo=\"").unwrap();
    let value = at + " InResponseTo=\"".len();
    let end = value + xml[value..].find('"').unwrap() + 1;
    format!("{}{}", &xml[..at], &xml[end..])
}

#[tokio::test]
async fn alice_signs_in_once_replays_and_strays_are_refused() {
    let Some(python) = available("alice_signs_in_once_replays_and_strays_are_refused") else {
        return;
    };
    let idp = Idp::start(python, "both", &[(SP, ACS)]);
    let app = app().await;
    let main = app.connection(&idp.metadata, SP, ACS, false).await;

    let start = app
        .auth
        .saml()
        .begin(main, Some("back-to=/home"))
        .await
        .unwrap();
    assert!(start.request_id.starts_with('_'));
    let url = start.redirect_url.as_str();
    assert!(
        url.starts_with(&format!("{}?SAMLRequest=", idp.sso_url)),
        "{url}"
    );
    assert!(url.ends_with("&RelayState=back-to%3D%2Fhome"), "{url}");
    let posted = drive(url, "alice");
    assert_eq!(posted.relay_state, "back-to=/home");
    assert!(
        posted
            .xml()
            .contains(&format!("InResponseTo=\"{}\"", start.request_id))
    );

    // Posted from a browser that did not start it (no flow cookie, or another flow's):
    // a login CSRF, refused, and the request is still there for its own browser.
    for bound in [None, Some("back-to=/elsewhere")] {
        assert_eq!(
            code_of(
                app.finish_in(main, &posted.response, &posted.relay_state, bound)
                    .await
            ),
            ErrorCode::SamlRequestUnknown
        );
    }
    let (connection, alice) = app
        .finish(main, &posted.response, &posted.relay_state)
        .await
        .unwrap();
    assert_eq!(connection.id, main);
    // Her account in tests/idp/accounts.json; the address verified because example.com
    // is a verified domain of the connection's organization.
    let mut expected = ExternalIdentity::new("u-alice-0001");
    expected.email = Some("alice@example.com".into());
    expected.email_verified = true;
    expected.name = Some("Alice Anders".into());
    expected.given_name = Some("Alice".into());
    expected.family_name = Some("Anders".into());
    expected.groups = vec!["engineering".into(), "admins".into()];
    assert_eq!(alice, expected);

    // The same response again: the assertion was used.
    assert_eq!(
        code_of(
            app.finish(main, &posted.response, &posted.relay_state)
                .await
        ),
        ErrorCode::SamlReplayed
    );

    // Bob's response posted with another RelayState than the request's: refused.
    let bob = app.sign_in(main, "bob").await;
    assert_eq!(
        code_of(app.finish(main, &bob.response, "back-to=/elsewhere").await),
        ErrorCode::SamlRequestUnknown
    );

    // A response to another connection's request (same SP, same ACS): refused.
    let other = app.connection(&idp.metadata, SP, ACS, false).await;
    let to_other = app.sign_in(other, "bob").await;
    assert_eq!(
        code_of(
            app.finish(main, &to_other.response, &to_other.relay_state)
                .await
        ),
        ErrorCode::SamlRequestUnknown
    );

    // Expired: the injected clock past NotOnOrAfter (5 minutes) and the skew. samael,
    // on the system clock, still accepts it: the check on the injected clock refuses.
    let late = app.sign_in(main, "bob").await;
    app.clock.advance(Duration::minutes(7));
    assert_eq!(
        code_of(app.finish(main, &late.response, &late.relay_state).await),
        ErrorCode::SamlExpired
    );

    assert_eq!(
        app.refusals().await,
        [
            "SAML_REQUEST_UNKNOWN",
            "SAML_REQUEST_UNKNOWN",
            "SAML_REPLAYED",
            "SAML_REQUEST_UNKNOWN",
            "SAML_REQUEST_UNKNOWN",
            "SAML_EXPIRED"
        ]
    );
}

#[tokio::test]
async fn tampered_unsigned_wrapped_and_foreign_key_responses_are_refused() {
    let Some(python) = available("tampered_unsigned_wrapped_and_foreign_key_responses_are_refused")
    else {
        return;
    };
    let idp = Idp::start(python, "both", &[(SP, ACS)]);
    let app = app().await;
    let main = app.connection(&idp.metadata, SP, ACS, false).await;

    // One attribute value changed.
    let posted = app.sign_in(main, "alice").await;
    let xml = posted.xml();
    let tampered = xml.replacen(">alice@example.com<", ">mallory@example.com<", 1);
    assert_ne!(tampered, xml);
    assert_eq!(
        code_of(
            app.finish(main, &encode(&tampered), &posted.relay_state)
                .await
        ),
        ErrorCode::SamlSignatureInvalid
    );
    // The signatures removed.
    let unsigned = strip_signatures(&xml);
    assert!(!unsigned.contains("SignatureValue"));
    assert_eq!(
        code_of(
            app.finish(main, &encode(&unsigned), &posted.relay_state)
                .await
        ),
        ErrorCode::SamlSignatureInvalid
    );
    // Wrapping: a forged assertion (bob) beside the signed one, and around it.
    let range = assertion_range(&xml);
    let forged = forged_assertion(&xml);
    let mut beside = xml.clone();
    beside.insert_str(range.start, &forged);
    let saml = prefix_of(&xml, ASSERTION_NS);
    let close = format!("</{saml}:Assertion>");
    let around = format!(
        "{}{}<{saml}:Advice>{}</{saml}:Advice>{close}{}",
        &xml[..range.start],
        forged.trim_end_matches(&close),
        &xml[range.clone()],
        &xml[range.end..]
    );
    for wrapped in [beside, around] {
        assert_eq!(
            code_of(
                app.finish(main, &encode(&wrapped), &posted.relay_state)
                    .await
            ),
            ErrorCode::SamlSignatureInvalid
        );
    }
    // None of these spent the request: the real response still signs alice in.
    let (_, alice) = app
        .finish(main, &posted.response, &posted.relay_state)
        .await
        .unwrap();
    assert_eq!(alice.subject, "u-alice-0001");

    // A connection that trusts another key than the IdP's.
    let foreign_cert = self_signed_certificate();
    let cert_at = idp.metadata.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let cert_end = cert_at + idp.metadata[cert_at..].find('<').unwrap();
    let mut foreign_metadata = idp.metadata.clone();
    foreign_metadata.replace_range(cert_at..cert_end, &foreign_cert);
    let foreign = app.connection(&foreign_metadata, SP, ACS, false).await;
    let posted = app.sign_in(foreign, "alice").await;
    assert_eq!(
        code_of(
            app.finish(foreign, &posted.response, &posted.relay_state)
                .await
        ),
        ErrorCode::SamlSignatureInvalid
    );
    assert_eq!(app.refusals().await.len(), 5);
}

/// A fresh self-signed certificate (base64 DER) from openssl.
fn self_signed_certificate() -> String {
    let dir = std::env::temp_dir().join(format!("saml-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not the IdP"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

#[tokio::test]
async fn wrong_audience_destination_and_unsolicited_responses_are_refused() {
    let Some(python) =
        available("wrong_audience_destination_and_unsolicited_responses_are_refused")
    else {
        return;
    };
    let idp = Idp::start(python, "both", &[(SP, ACS)]);
    let app = app().await;
    let main = app.connection(&idp.metadata, SP, ACS, false).await;
    // The same IdP, for another SP entity id (audience) or another ACS URL (destination).
    let other_sp = app
        .connection(&idp.metadata, "http://127.0.0.1:3000/other-sp", ACS, false)
        .await;
    let other_acs = app
        .connection(&idp.metadata, SP, "http://127.0.0.1:3000/other/acs", false)
        .await;

    let posted = app.sign_in(main, "alice").await;
    assert_eq!(
        code_of(
            app.finish(other_sp, &posted.response, &posted.relay_state)
                .await
        ),
        ErrorCode::SamlAudienceMismatch
    );
    assert_eq!(
        code_of(
            app.finish(other_acs, &posted.response, &posted.relay_state)
                .await
        ),
        ErrorCode::SamlDestinationMismatch
    );
    // Made unsolicited (InResponseTo removed from the Response): refused by a connection
    // that does not accept IdP-initiated sign-ins, before any signature is checked.
    let unsolicited = without_first_in_response_to(&posted.xml());
    assert!(!unsolicited[..unsolicited.find("Issuer").unwrap()].contains("InResponseTo"));
    assert_eq!(
        code_of(
            app.finish(main, &encode(&unsolicited), &posted.relay_state)
                .await
        ),
        ErrorCode::SamlIdpInitiatedRefused
    );
    // Still answering its own request, it signs alice in.
    app.finish(main, &posted.response, &posted.relay_state)
        .await
        .unwrap();
    assert_eq!(
        app.refusals().await,
        [
            "SAML_AUDIENCE_MISMATCH",
            "SAML_DESTINATION_MISMATCH",
            "SAML_IDP_INITIATED_REFUSED"
        ]
    );
}

#[tokio::test]
async fn with_only_the_assertion_signed_the_envelope_cannot_be_bent() {
    let Some(python) = available("with_only_the_assertion_signed_the_envelope_cannot_be_bent")
    else {
        return;
    };
    // The Response itself unsigned: only the assertion's signature protects anything.
    let idp = Idp::start(python, "assertion", &[(SP, ACS)]);
    let app = app().await;
    let main = app.connection(&idp.metadata, SP, ACS, false).await;
    let open = app.connection(&idp.metadata, SP, ACS, true).await;

    // A forged assertion beside the signed one (the classic wrapping attack here).
    let posted = app.sign_in(main, "alice").await;
    let xml = posted.xml();
    assert!(!xml[..assertion_range(&xml).start].contains("SignatureValue"));
    let mut beside = xml.clone();
    beside.insert_str(assertion_range(&xml).start, &forged_assertion(&xml));
    assert_eq!(
        code_of(
            app.finish(main, &encode(&beside), &posted.relay_state)
                .await
        ),
        ErrorCode::SamlSignatureInvalid
    );
    // The unsigned Response's InResponseTo removed (the signature still verifies): a
    // connection that accepts IdP-initiated responses still refuses, as the signed
    // assertion answers a request.
    let unsolicited = without_first_in_response_to(&xml);
    assert!(
        unsolicited.contains("InResponseTo"),
        "the assertion keeps its own"
    );
    assert_eq!(
        code_of(
            app.finish(open, &encode(&unsolicited), &posted.relay_state)
                .await
        ),
        ErrorCode::SamlRequestUnknown
    );
    // The real response signs alice in.
    let (_, alice) = app
        .finish(main, &posted.response, &posted.relay_state)
        .await
        .unwrap();
    assert_eq!(alice.groups, ["engineering", "admins"]);
}
