//! SAML 2.0 sign-in through HTTP against a real IdP: pysaml2 (tests/idp/saml_idp.py) on
//! 127.0.0.1, the browser played by tests/idp/drive-saml.mjs, the app's router (auth-axum,
//! memory store) served on 127.0.0.1: the SP metadata an admin gives the IdP, the
//! sign-in by address, the ACS post with the flow cookie, and the refusals a browser
//! lands with (replayed, tampered, another browser's, malformed). Needs what
//! tests/idp/rust/saml.rs names (`scripts/setup.sh`); prints SKIPPED otherwise.

use std::collections::BTreeMap;

use auth_axum::{AuthState, HttpConfig};
use auth_core::sso::{
    ConnectionStatus, NewSsoConnection, ProtocolConfig, ProtocolInput, SamlInput, StaticTxtRecords,
};
use auth_core::{
    Auth, AuthConfig, Caller, MemberStore, RequestMeta, SecretKey, SsoConnectionId, SsoStore,
};
use auth_memory::MemoryStore;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

mod common;
#[path = "../../../tests/idp/rust/mod.rs"]
mod idp;

use common::{Answer, App, organization};
use idp::saml::{Idp, Posted, available, drive, mapping};

impl App {
    /// The browser posting the IdP's form to the connection's ACS, with the flow cookie
    /// `flow` (none: another browser).
    async fn post_acs(&self, connection: &str, posted: &Posted, flow: Option<&str>) -> Answer {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("SAMLResponse", &posted.response)
            .append_pair("RelayState", &posted.relay_state)
            .finish();
        self.post_form(connection, &form, flow).await
    }

    /// `POST /auth/sso/saml/{connection}/acs` with the urlencoded `form`.
    async fn post_form(&self, connection: &str, form: &str, flow: Option<&str>) -> Answer {
        let cookie = flow.map(|f| format!("sso-flow={f}"));
        let answer = self
            .request_as(
                "POST",
                &format!("/auth/sso/saml/{connection}/acs"),
                cookie.as_deref(),
                "application/x-www-form-urlencoded",
                form,
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        answer
    }
}

/// Serves the app with an organization whose active SAML connection trusts `idp`, saved
/// without SP entity id or ACS URL (the server's defaults), and registers it at `idp`.
async fn serve(listener: tokio::net::TcpListener, idp: &Idp) -> (App, SsoConnectionId) {
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let mut config = AuthConfig::default();
    config.saml_sp_base_url = Some(format!("{origin}/auth/sso/saml"));
    let auth = Auth::builder(MemoryStore::new())
        .config(config)
        .secret_key(SecretKey::generate())
        .domain_verifier(StaticTxtRecords::new())
        .audit_to_store()
        .build()
        .unwrap();
    let group = organization(&auth).await;
    let view = auth
        .sso()
        .create_connection(
            &Caller::System,
            NewSsoConnection {
                group_id: group,
                name: "pysaml2".into(),
                config: ProtocolInput::Saml(SamlInput {
                    idp_metadata_xml: idp.metadata.clone(),
                    attributes: Some(mapping()),
                    ..SamlInput::default()
                }),
                status: Some(ConnectionStatus::Active),
                default_role: None,
                role_mapping: BTreeMap::from([("admins".to_owned(), "admin".to_owned())]),
                extend: None,
            },
            &RequestMeta::none(),
        )
        .await
        .unwrap();
    let id = view.id;
    let connection = auth.store().get_sso_connection(id).await.unwrap().unwrap();
    let ProtocolConfig::Saml(saml) = &connection.config else {
        panic!("a SAML connection");
    };
    assert_eq!(saml.acs_url, format!("{origin}/auth/sso/saml/{id}/acs"));
    assert_eq!(
        saml.sp_entity_id,
        format!("{origin}/auth/sso/saml/{id}/metadata")
    );
    idp.register(&saml.sp_entity_id, &saml.acs_url);
    let router = AuthState::new(auth.clone(), HttpConfig::localhost(&origin).unwrap()).router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (App { origin, auth }, id)
}

#[tokio::test]
async fn saml_sign_in_over_http_and_what_a_browser_lands_with_when_refused() {
    let test = "saml_sign_in_over_http_and_what_a_browser_lands_with_when_refused";
    let Some(python) = available(test) else {
        return;
    };
    let idp = Idp::start(python, "both", &[]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (app, connection) = serve(listener, &idp).await;
    let id = connection.to_string();

    // The SP metadata the organization's admin gives the IdP.
    let metadata = app
        .request("GET", &format!("/auth/sso/saml/{id}/metadata"), None, "")
        .await;
    assert_eq!(metadata.status, 200, "{}", metadata.body);
    assert_eq!(
        metadata.header("content-type"),
        Some("application/samlmetadata+xml")
    );
    let acs = format!("{}/auth/sso/saml/{id}/acs", app.origin);
    assert!(
        metadata.body.contains(&format!("Location=\"{acs}\"")),
        "{}",
        metadata.body
    );
    let unknown = app
        .request(
            "GET",
            &format!("/auth/sso/saml/{}/metadata", SsoConnectionId::new()),
            None,
            "",
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    // alice, routed by her address: the IdP's form posted with this browser's flow
    // cookie gives a session recording the connection, and her `admins` group's role.
    let (url, flow) = app
        .start(serde_json::json!({ "email": "alice@example.com" }))
        .await;
    assert!(url.starts_with(&idp.sso_url), "{url}");
    let posted = drive(&url, "alice");
    assert_eq!(
        posted.relay_state, flow,
        "the RelayState is the flow's handle"
    );
    // Posted from a browser without the flow (a login CSRF): refused, nothing spent.
    let elsewhere = app.post_acs(&id, &posted, None).await;
    assert_eq!(
        elsewhere.header("location"),
        Some("/?sso_error=SAML_REQUEST_UNKNOWN")
    );
    assert!(elsewhere.cookie("session").is_none());
    let alice_in = app.post_acs(&id, &posted, Some(&flow)).await;
    assert_eq!(alice_in.header("location"), Some("/"));
    let me = app.me(&alice_in).await;
    assert_eq!(me["user"]["email"], "alice@example.com");
    assert_eq!(me["user"]["email_verified"], true);
    assert_eq!(me["user"]["name"], "Alice Anders");
    assert_eq!(me["session"]["sso_connection_id"], id);
    let alice_id: auth_core::UserId = me["user"]["id"].as_str().unwrap().parse().unwrap();
    let group = app
        .auth
        .store()
        .get_sso_connection(connection)
        .await
        .unwrap()
        .unwrap()
        .group_id;
    let member = app
        .auth
        .store()
        .get_member_by_user(group, alice_id)
        .await
        .unwrap()
        .expect("alice is a member");
    assert_eq!(member.role, "admin");

    // The same post again: the assertion was used.
    let replayed = app.post_acs(&id, &posted, Some(&flow)).await;
    assert_eq!(
        replayed.header("location"),
        Some("/?sso_error=SAML_REPLAYED")
    );
    assert!(replayed.cookie("session").is_none());

    // bob's response with his address changed on the way: the signature fails.
    let (url, flow) = app.start(serde_json::json!({ "connection_id": id })).await;
    let bob = drive(&url, "bob");
    let tampered = bob
        .xml()
        .replacen(">bob@example.com<", ">alice@example.com<", 1);
    assert_ne!(tampered, bob.xml());
    let forged = Posted {
        response: STANDARD.encode(tampered),
        relay_state: bob.relay_state.clone(),
    };
    let refused = app.post_acs(&id, &forged, Some(&flow)).await;
    assert_eq!(
        refused.header("location"),
        Some("/?sso_error=SAML_SIGNATURE_INVALID")
    );
    // bob's real response still signs him in: the refusal spent nothing.
    let bob_in = app.post_acs(&id, &bob, Some(&flow)).await;
    assert_eq!(app.me(&bob_in).await["user"]["email"], "bob@example.com");

    // Malformed posts land with a code, never a 4xx page or a 500.
    let no_response = app.post_form(&id, "RelayState=x", Some(&flow)).await;
    assert_eq!(
        no_response.header("location"),
        Some("/?sso_error=INVALID_INPUT")
    );
    let not_base64 = app
        .post_form(&id, "SAMLResponse=%25%25%25", Some(&flow))
        .await;
    assert_eq!(
        not_base64.header("location"),
        Some("/?sso_error=SAML_RESPONSE_INVALID")
    );
    let bad_id = app.post_acs("not-an-id", &bob, Some(&flow)).await;
    assert_eq!(bad_id.header("location"), Some("/?sso_error=INVALID_INPUT"));
    let other = app
        .post_acs(&SsoConnectionId::new().to_string(), &bob, Some(&flow))
        .await;
    assert_eq!(
        other.header("location"),
        Some("/?sso_error=SSO_CONNECTION_NOT_FOUND")
    );
}
