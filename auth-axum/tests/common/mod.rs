//! Shared helpers of the HTTP tests: an app over a `MemoryStore` with a `TestClock` and a
//! `RecordingMailer`, request and response helpers, and `assert_error`. Every request a
//! `TestApp` serves goes through its secret [`Ledger`]: no response repeats a secret
//! issued before, and no TRACE log line holds one.

#![allow(dead_code)]

pub mod ledger;

use std::sync::Arc;

use ledger::Ledger;

use auth_axum::{
    AuthState, HttpConfig, Principal, require_aal2, require_member, require_permission,
    require_recent_sign_in, require_scope, require_signed_in,
};
use auth_core::members::NewMember;
use auth_core::sso::StaticTxtRecords;
use auth_core::{
    Auth, AuthConfig, Caller, Purpose, RecordingMailer, RequestMeta, SecretKey, TestClock,
};
use auth_memory::MemoryStore;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::routing;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The origin of the default (localhost) app.
pub const ORIGIN: &str = "http://localhost:3000";
/// The password of every user the helpers sign up.
pub const PASSWORD: &str = "correct horse battery";

/// An app under test and the handles behind it.
pub struct TestApp {
    pub app: Router,
    pub state: AuthState,
    pub auth: Auth<MemoryStore>,
    pub store: MemoryStore,
    pub mailer: RecordingMailer,
    pub clock: TestClock,
    /// The TXT records domain verification reads (the app's `DomainVerifier`).
    pub dns: StaticTxtRecords,
    ledger: Arc<Ledger>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.ledger.check_logs();
        }
    }
}

/// A signed-up user with a token-mode session.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh: String,
    pub session_id: String,
}

/// Test settings with direct adds of members allowed (`direct_member_add`).
pub fn direct_adds() -> AuthConfig {
    let mut config = AuthConfig::insecure_for_tests();
    config.direct_member_add = true;
    config
}

impl TestApp {
    /// Default settings on `http://localhost:3000`.
    pub fn new() -> Self {
        Self::with_config(AuthConfig::insecure_for_tests())
    }

    /// `config` on `http://localhost:3000`.
    pub fn with_config(config: AuthConfig) -> Self {
        Self::build(config, HttpConfig::localhost(ORIGIN).unwrap())
    }

    /// Default auth settings with the HTTP settings `http`.
    pub fn with_http(http: HttpConfig) -> Self {
        Self::build(AuthConfig::insecure_for_tests(), http)
    }

    pub fn build(mut config: AuthConfig, http: HttpConfig) -> Self {
        if config.passkeys.is_none() {
            config.passkeys = Some(auth_core::PasskeyConfig::new("localhost", "Test", [ORIGIN]));
        }
        let store = MemoryStore::new();
        let mailer = RecordingMailer::new();
        let ledger = Arc::new(Ledger::new(mailer.clone()));
        let clock = TestClock::new();
        let dns = StaticTxtRecords::new();
        let auth = Auth::builder(store.clone())
            .secret_key(SecretKey::generate())
            .config(config)
            .mailer(mailer.clone())
            // Mail is recorded before the request returns, so tests read it at once.
            .outbox(auth_core::verification::InlineOutbox)
            .clock(clock.clone())
            .domain_verifier(dns.clone())
            .build()
            .unwrap();
        let state = AuthState::new(auth.clone(), http);
        let app = state.router().merge(probe_routes(&state));
        Self {
            app,
            state,
            auth,
            store,
            mailer,
            clock,
            dns,
            ledger,
        }
    }

    /// The TRACE log written since this app was built.
    pub fn log(&self) -> String {
        self.ledger.log()
    }

    /// Serves `req`, checking the response against the secrets seen so far.
    pub async fn send(&self, req: Req) -> Res {
        self.ledger.presented(&req.body);
        let res = send(&self.app, req).await;
        self.ledger.answered(&res.body);
        res
    }

    /// Signs up `email` in token mode.
    pub async fn sign_up(&self, email: &str) -> Client {
        let res = self
            .send(post("/auth/sign-up").json(json!({
                "email": email, "password": PASSWORD, "mode": "token"
            })))
            .await;
        client(res.expect(StatusCode::CREATED))
    }

    /// Signs `email` in again in token mode: a second session.
    pub async fn sign_in(&self, email: &str) -> Client {
        let res = self
            .send(post("/auth/sign-in").json(json!({
                "email": email, "password": PASSWORD, "mode": "token"
            })))
            .await;
        client(res.expect(StatusCode::OK))
    }

    /// Signs up `email` and verifies the address with the emailed code.
    pub async fn verified_user(&self, email: &str) -> Client {
        let user = self.sign_up(email).await;
        self.send(post("/auth/verify-email/send").bearer(&user.token))
            .await
            .expect(StatusCode::ACCEPTED);
        let code = self.code(email, Purpose::VerifyEmail);
        self.send(post("/auth/verify-email").json(json!({ "email": email, "code": code })))
            .await
            .expect(StatusCode::OK);
        user
    }

    /// The code of the newest email to `email` for `purpose`.
    pub fn code(&self, email: &str, purpose: Purpose) -> String {
        let mail = self.mailer.last(email, purpose).expect("an email was sent");
        mail.code.expose().to_owned()
    }

    /// Creates a group as `owner`; returns its id.
    pub async fn group(&self, owner: &Client, body: Value) -> String {
        let res = self
            .send(post("/auth/groups").bearer(&owner.token).json(body))
            .await;
        id_of(&res.expect(StatusCode::CREATED))
    }

    /// Adds `user` to `group` with `role`, as the app's own code does (`Caller::System`:
    /// a user may add another only by invite unless the app opts in). Returns the
    /// membership id.
    pub async fn add_member(&self, group: &str, user: &Client, role: &str) -> String {
        let member = self
            .auth
            .members()
            .add(
                &Caller::System,
                NewMember {
                    group_id: group.parse().unwrap(),
                    user_id: user.id.parse().unwrap(),
                    role: Some(role.to_owned()),
                    status: None,
                    extend: None,
                },
                &RequestMeta::none(),
            )
            .await
            .unwrap();
        member.id.to_string()
    }

    /// Creates an API key as `by`; returns (id, secret).
    pub async fn key(&self, by: &Client, body: Value) -> (String, String) {
        let res = self
            .send(post("/auth/api-keys").bearer(&by.token).json(body))
            .await;
        let v = res.expect(StatusCode::CREATED);
        (
            v["key"]["id"].as_str().unwrap().to_owned(),
            str_of(&v["secret"]),
        )
    }
}

/// A group with a user in each role, and a stranger.
pub struct Org {
    pub group: String,
    pub owner: Client,
    pub admin: Client,
    pub member: Client,
    pub stranger: Client,
    /// The membership ids of owner, admin and member.
    pub owner_membership: String,
    pub admin_membership: String,
    pub member_membership: String,
}

impl TestApp {
    /// Creates an `Org` (users owner@, admin@, member@, stranger@ example.com).
    pub async fn org(&self) -> Org {
        let owner = self.sign_up("owner@example.com").await;
        let admin = self.sign_up("admin@example.com").await;
        let member = self.sign_up("member@example.com").await;
        let stranger = self.sign_up("stranger@example.com").await;
        let group = self
            .group(&owner, json!({ "name": "Acme", "slug": "acme" }))
            .await;
        let admin_membership = self.add_member(&group, &admin, "admin").await;
        let member_membership = self.add_member(&group, &member, "member").await;
        let members = self
            .send(get(&format!("/auth/groups/{group}/members")).bearer(&owner.token))
            .await
            .expect(StatusCode::OK);
        let owner_membership = members["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == owner.id.as_str())
            .map(id_of)
            .unwrap();
        Org {
            group,
            owner,
            admin,
            member,
            stranger,
            owner_membership,
            admin_membership,
            member_membership,
        }
    }
}

fn client(v: Value) -> Client {
    Client {
        id: str_of(&v["user"]["id"]),
        email: str_of(&v["user"]["email"]),
        token: str_of(&v["session_token"]),
        refresh: str_of(&v["refresh_token"]),
        session_id: str_of(&v["session"]["id"]),
    }
}

pub fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

pub fn id_of(v: &Value) -> String {
    str_of(&v["id"])
}

/// Routes for exercising credentials and guards. Each answers with who called:
/// `/probe` (any principal), `/scoped` (`data:read`), `/groups/{gid}/member`,
/// `/groups/{gid}/admin` (member with role admin), `/groups/{gid}/data`
/// (`data:write` on the group, POST), `/mfa` (aal2).
pub fn probe_routes(state: &AuthState) -> Router {
    async fn who(p: Principal) -> String {
        match p {
            Principal::Session { auth, .. } => format!("session:{}", auth.user.id),
            Principal::ApiKey(key) => format!("key:{}", key.key.id),
        }
    }
    Router::new()
        .route("/probe", routing::get(who).post(who))
        .merge(
            Router::new()
                .route("/scoped", routing::get(who))
                .route_layer(require_scope("data", "read").unwrap()),
        )
        .merge(
            Router::new()
                .route("/groups/{gid}/member", routing::get(who))
                .route_layer(require_member("gid", &[])),
        )
        .merge(
            Router::new()
                .route("/groups/{gid}/admin", routing::get(who))
                .route_layer(require_member("gid", &["admin"])),
        )
        .merge(
            Router::new()
                .route("/groups/{gid}/data", routing::post(who))
                .route_layer(require_permission("gid", "data:write").unwrap()),
        )
        .merge(
            Router::new()
                .route("/mfa", routing::get(who))
                .route_layer(require_aal2()),
        )
        .merge(
            Router::new()
                .route("/fresh", routing::get(who))
                .route_layer(require_recent_sign_in(time::Duration::minutes(10)).unwrap()),
        )
        .layer(state.layer())
        // One layer that carries the state and guards: no `state.layer()` around these.
        .merge(
            Router::new()
                .route("/fused/signed-in", routing::get(who))
                .route_layer(state.guard(require_signed_in())),
        )
        .merge(
            Router::new()
                .route("/fused/scoped", routing::get(who))
                .route_layer(state.guard(require_scope("data", "read").unwrap())),
        )
}

/// A request being built.
pub struct Req {
    method: Method,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    peer: Option<std::net::SocketAddr>,
}

pub fn req(method: Method, uri: &str) -> Req {
    Req {
        method,
        uri: uri.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
        peer: None,
    }
}

pub fn get(uri: &str) -> Req {
    req(Method::GET, uri)
}

pub fn post(uri: &str) -> Req {
    req(Method::POST, uri)
}

pub fn patch(uri: &str) -> Req {
    req(Method::PATCH, uri)
}

pub fn put(uri: &str) -> Req {
    req(Method::PUT, uri)
}

pub fn delete(uri: &str) -> Req {
    req(Method::DELETE, uri)
}

impl Req {
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// The connecting peer's address, as a server with `ConnectInfo` would see it.
    pub fn peer(mut self, addr: &str) -> Self {
        self.peer = Some(addr.parse().unwrap());
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    pub fn api_key(self, key: &str) -> Self {
        self.header("x-api-key", key)
    }

    /// The localhost session cookie.
    pub fn cookie(self, token: &str) -> Self {
        self.header("cookie", format!("session={token}"))
    }

    pub fn origin(self, origin: &str) -> Self {
        self.header("origin", origin)
    }

    pub fn json(self, body: Value) -> Self {
        self.raw("application/json", body.to_string())
    }

    /// A body with this content type (none when empty).
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        if !content_type.is_empty() {
            self = self.header("content-type", content_type);
        }
        self.body = body.into();
        self
    }
}

/// A response, read whole.
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Res {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// Asserts the status; returns the JSON body (`null` when empty, a string when text).
    pub fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        if self.body.is_empty() {
            Value::Null
        } else if self.header("content-type") == Some("application/json") {
            self.json()
        } else {
            Value::String(self.text())
        }
    }
}

pub async fn send(app: &Router, r: Req) -> Res {
    let mut builder = Request::builder().method(r.method).uri(r.uri);
    for (name, value) in r.headers {
        builder = builder.header(name, value);
    }
    if let Some(peer) = r.peer {
        builder = builder.extension(axum::extract::ConnectInfo(peer));
    }
    let response = app
        .clone()
        .oneshot(builder.body(Body::from(r.body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Res {
        status,
        headers,
        body,
    }
}

/// Asserts an error response: the status, `{"error": {"code", "message"}}` with exactly
/// `code` and a non-empty message, JSON content type and `Cache-Control: no-store`.
/// Returns the `error` object.
pub fn assert_error(res: &Res, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status, status, "body: {}", res.text());
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "{}",
        res.text()
    );
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "body: {body}");
    let message = error["message"].as_str().expect("a message");
    assert!(!message.is_empty());
    let keys: Vec<&String> = error.as_object().unwrap().keys().collect();
    assert!(
        keys.iter()
            .all(|k| ["code", "message", "required_scope"].contains(&k.as_str())),
        "{body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    error
}

/// The `WWW-Authenticate` of a 401 without an error attribute.
pub const CHALLENGE: &str = "Bearer realm=\"api\"";
/// The `WWW-Authenticate` of a 401 for a bad credential.
pub const INVALID_TOKEN: &str = "Bearer realm=\"api\", error=\"invalid_token\"";

/// A random UUID as text (an id nothing has).
pub fn unknown_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
