//! Enterprise and social SSO sign-in through HTTP against a real OpenID provider: npm
//! `oidc-provider` (tests/idp/oidc.mjs) on 127.0.0.1, the browser played by
//! tests/idp/drive-oidc.mjs, the app's router (auth-axum, memory store) served on
//! 127.0.0.1. Needs Node and tests/idp/node_modules (`scripts/setup.sh`); prints SKIPPED
//! otherwise.

use std::collections::BTreeMap;

use auth_axum::{AuthState, HttpConfig};
use auth_core::oidc::OidcProvider;
use auth_core::sso::{
    ConnectionStatus, LinkPolicy, NewSsoConnection, OidcInput, ProtocolInput, SocialProvider,
    StaticTxtRecords,
};
use auth_core::{
    AccountStore, Auth, Caller, GroupId, MemberStore, Provider, RequestMeta, Secret, SecretKey,
    SsoConnectionId,
};
use auth_memory::MemoryStore;

const CLIENT_ID: &str = "auth-rs-test";
const CLIENT_SECRET: &str = "auth-rs-test-secret-0123456789abcdef";

mod common;
#[path = "../../../tests/idp/rust/mod.rs"]
mod idp;

use common::{Answer, App, organization};
use idp::oidc::{Idp, available, drive};

impl App {
    /// The provider's redirect back, as the browser would follow it.
    async fn callback(&self, callback_url: &str, flow: Option<&str>) -> Answer {
        let path = callback_url
            .strip_prefix(&self.origin)
            .expect("our callback");
        let cookie = flow.map(|f| format!("sso-flow={f}"));
        let answer = self.request("GET", path, cookie.as_deref(), "").await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        answer
    }

    /// Signs `login` in through the flow `body` starts; the callback's answer.
    async fn sign_in(&self, body: serde_json::Value, login: &str) -> Answer {
        let (url, flow) = self.start(body).await;
        let back = drive(&url, login);
        self.callback(&back, Some(&flow)).await
    }
}

/// Serves the app: an organization with an active OIDC connection to `idp` and
/// `example.com` verified, and `idp` as the social providers `local` (linking by verified
/// address) and `strict` (never linking) too.
async fn serve(listener: tokio::net::TcpListener, idp: &Idp) -> (App, GroupId, SsoConnectionId) {
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let local = OidcProvider::new("local", &idp.issuer, CLIENT_ID, Secret::new(CLIENT_SECRET))
        .unwrap()
        .scopes(["email", "profile"])
        .unwrap();
    let strict =
        OidcProvider::new("strict", &idp.issuer, CLIENT_ID, Secret::new(CLIENT_SECRET)).unwrap();
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .domain_verifier(StaticTxtRecords::new())
        .social_provider(SocialProvider::new(local, LinkPolicy::VerifiedEmail).unwrap())
        .social_provider(SocialProvider::new(strict, LinkPolicy::Never).unwrap())
        .audit_to_store()
        .build()
        .unwrap();
    let meta = RequestMeta::none();
    let group = organization(&auth).await;
    let sso = auth.sso();
    let connection = sso
        .create_connection(
            &Caller::System,
            NewSsoConnection {
                group_id: group,
                name: "Test IdP".into(),
                config: ProtocolInput::Oidc(OidcInput {
                    issuer: idp.issuer.clone(),
                    client_id: CLIENT_ID.into(),
                    client_secret: Some(Secret::new(CLIENT_SECRET)),
                    scopes: Some(vec![
                        "openid".into(),
                        "email".into(),
                        "profile".into(),
                        "groups".into(),
                    ]),
                    ..OidcInput::default()
                }),
                status: Some(ConnectionStatus::Active),
                default_role: None,
                role_mapping: BTreeMap::from([("admins".to_owned(), "admin".to_owned())]),
                extend: None,
            },
            &meta,
        )
        .await
        .unwrap()
        .id;
    let config = HttpConfig::localhost(&origin).unwrap();
    let router = AuthState::new(auth.clone(), config).router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (App { origin, auth }, group, connection)
}

#[tokio::test]
async fn enterprise_and_social_sign_in_over_http() {
    if !available("enterprise_and_social_sign_in_over_http") {
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!(
        "http://{}/auth/sso/oidc/callback",
        listener.local_addr().unwrap()
    );
    let idp = Idp::start(0, &callback);
    let (app, group, connection) = serve(listener, &idp).await;

    // alice, routed by her address: a session, a membership from her groups, the
    // session's connection.
    let alice_in = app
        .sign_in(serde_json::json!({ "email": "alice@example.com" }), "alice")
        .await;
    assert_eq!(alice_in.header("location"), Some("/"));
    let me = app.me(&alice_in).await;
    assert_eq!(me["user"]["email"], "alice@example.com");
    assert_eq!(me["user"]["email_verified"], true);
    assert_eq!(me["user"]["name"], "Alice Anders");
    assert_eq!(me["session"]["sso_connection_id"], connection.to_string());
    assert_eq!(me["session"]["aal"], "aal1");
    let alice_id: auth_core::UserId = me["user"]["id"].as_str().unwrap().parse().unwrap();
    let member = app
        .auth
        .store()
        .get_member_by_user(group, alice_id)
        .await
        .unwrap()
        .expect("alice is a member");
    assert_eq!(member.role, "admin", "her `admins` group maps to admin");

    // Again, by connection id: the same user.
    let again = app
        .sign_in(
            serde_json::json!({ "connection_id": connection.to_string() }),
            "alice",
        )
        .await;
    assert_eq!(app.me(&again).await["user"]["id"], me["user"]["id"]);

    // A callback replayed, and one without this browser's flow cookie: refused.
    let (url, flow) = app
        .start(serde_json::json!({ "domain": "example.com" }))
        .await;
    let back = drive(&url, "alice");
    let without_cookie = app.callback(&back, None).await;
    assert_eq!(
        without_cookie.header("location"),
        Some("/?sso_error=OIDC_STATE_INVALID")
    );
    assert!(without_cookie.cookie("session").is_none());
    let with_other_cookie = app.callback(&back, Some("A".repeat(43).as_str())).await;
    assert_eq!(
        with_other_cookie.header("location"),
        Some("/?sso_error=OIDC_STATE_INVALID")
    );
    let done = app.callback(&back, Some(&flow)).await;
    assert_eq!(done.header("location"), Some("/"));
    let replayed = app.callback(&back, Some(&flow)).await;
    assert_eq!(
        replayed.header("location"),
        Some("/?sso_error=OIDC_STATE_INVALID")
    );
    assert!(replayed.cookie("session").is_none());

    // mallory claims alice's address, unverified: refused, and alice's account is hers.
    let mallory = app
        .sign_in(
            serde_json::json!({ "email": "alice@example.com" }),
            "mallory",
        )
        .await;
    assert_eq!(
        mallory.header("location"),
        Some("/?sso_error=SSO_LINK_REFUSED")
    );
    assert!(mallory.cookie("session").is_none());
    let accounts = app.auth.store().list_accounts(alice_id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].provider_account_id, "u-alice-0001");

    // The same provider as the app's social provider: bob is created, alice is linked.
    let bob_in = app
        .sign_in(serde_json::json!({ "provider": "local" }), "bob")
        .await;
    assert_eq!(bob_in.header("location"), Some("/"));
    let bob = app.me(&bob_in).await;
    assert_eq!(bob["user"]["email"], "bob@example.com");
    assert!(bob["session"]["sso_connection_id"].is_null());
    let social = Provider::oidc(&idp.issuer).unwrap();
    let linked = app
        .auth
        .store()
        .get_account(&social, "u-bob-0002")
        .await
        .unwrap();
    assert!(linked.is_some());
    // A provider that never links refuses alice (her user exists); one that links by a
    // verified address links her.
    let strict = app
        .sign_in(serde_json::json!({ "provider": "strict" }), "alice")
        .await;
    assert_eq!(
        strict.header("location"),
        Some("/?sso_error=SSO_LINK_REFUSED")
    );
    let alice_social = app
        .sign_in(serde_json::json!({ "provider": "local" }), "alice")
        .await;
    assert_eq!(app.me(&alice_social).await["user"]["id"], me["user"]["id"]);

    // The organization requires SSO for example.com: the sessions its connection did not
    // create end (bob's and alice's social ones), the SSO ones stay, and social sign-in
    // is refused for the domain.
    let domain = app
        .auth
        .sso()
        .list_domains(&Caller::System, group)
        .await
        .unwrap()
        .remove(0);
    app.auth
        .sso()
        .set_require_sso(
            &Caller::System,
            group,
            domain.id,
            true,
            &RequestMeta::none(),
        )
        .await
        .unwrap();
    for ended in [&bob_in, &alice_social] {
        let token = ended.cookie("session").unwrap();
        let me = app
            .request("GET", "/auth/me", Some(&format!("session={token}")), "")
            .await;
        assert_eq!(me.status, 401, "{}", me.body);
    }
    assert_eq!(app.me(&again).await["user"]["id"], me["user"]["id"]);
    let refused = app
        .sign_in(serde_json::json!({ "provider": "local" }), "alice")
        .await;
    assert_eq!(refused.header("location"), Some("/?sso_error=SSO_REQUIRED"));

    // Unknown provider and malformed starts are refused as JSON errors.
    let unknown = app
        .request("POST", "/auth/sso/sign-in", None, r#"{"provider":"nope"}"#)
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let two = app
        .request(
            "POST",
            "/auth/sso/sign-in",
            None,
            r#"{"email":"a@example.com","domain":"example.com"}"#,
        )
        .await;
    assert_eq!(two.status, 422, "{}", two.body);
    // A callback with a provider error lands on the page with the code only.
    let denied = app
        .request(
            "GET",
            "/auth/sso/oidc/callback?error=access_denied&error_description=secret+words",
            None,
            "",
        )
        .await;
    assert_eq!(denied.status, 303);
    assert_eq!(
        denied.header("location"),
        Some("/?sso_error=OIDC_STATE_INVALID")
    );
}
