//! An in-process app for the HTTP targets: `AuthState::router` over a `MemoryStore`, with a
//! signed-in owner, a second user, a group, a membership, an API key and an invite, so that
//! fuzzed requests reach the handlers' validation and not only `404`s.
//!
//! Inputs may name those credentials and ids by placeholder (`$SESSION`, `$KEY`, ...; see
//! [`World::expand`]), so seeds stay valid although every world draws new random tokens.
//! The world is rebuilt every [`RUNS_PER_WORLD`] inputs, which bounds what fuzzed sign-ups
//! and keys pile up in memory.

use std::sync::{Mutex, OnceLock, PoisonError};

use auth_axum::{AuthState, HttpConfig, Principal, require_scope};
use auth_core::verification::InlineOutbox;
use auth_core::{Auth, AuthConfig, RecordingMailer, SecretKey};
use auth_memory::MemoryStore;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Inputs answered by one world before it is rebuilt.
pub const RUNS_PER_WORLD: usize = 500;
/// The origin the app is served at.
pub const ORIGIN: &str = "http://localhost:3000";
/// The password of the world's users.
pub const PASSWORD: &str = "correct horse battery";

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text, for failure messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The app and what was set up in it.
pub struct World {
    app: Router,
    runtime: tokio::runtime::Runtime,
    /// `(placeholder, value)`: the owner's session and refresh tokens, the API key, the
    /// invite token, the second user's session, and the ids of the group, the owner's
    /// membership, the second user and the key.
    values: Vec<(&'static str, String)>,
}

fn config() -> AuthConfig {
    let mut config = AuthConfig::insecure_for_tests();
    // No throttles: a fuzzer would spend most inputs on 429s instead of the validation.
    config.sign_in_limit = None;
    config.sign_in_ip_limit = None;
    config.sign_up_limit = None;
    config.code_failure_limit = None;
    config.mail_limit = None;
    config.direct_member_add = true;
    config
}

/// Routes behind the library's layer and guards, answering with who called: `/probe`
/// (any principal) and `/scoped` (`data:read`).
fn probe_routes(state: &AuthState) -> Router {
    async fn who(p: Principal) -> String {
        match p {
            Principal::Session { auth, .. } => format!("session:{}", auth.user.id),
            Principal::ApiKey(key) => format!("key:{}", key.key.id),
        }
    }
    let scoped = Router::new()
        .route("/scoped", axum::routing::get(who))
        .route_layer(require_scope("data", "read").expect("a valid scope"));
    Router::new()
        .route("/probe", axum::routing::get(who))
        .merge(scoped)
        .layer(state.layer())
}

fn str_at(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer).and_then(Value::as_str) {
        Some(s) => s.to_owned(),
        None => panic!("set-up answer has no {pointer}: {v}"),
    }
}

impl World {
    fn build() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let auth = Auth::builder(MemoryStore::new())
            .secret_key(SecretKey::generate())
            .config(config())
            .mailer(RecordingMailer::new())
            .outbox(InlineOutbox)
            .build()
            .expect("a valid configuration");
        let http = HttpConfig::localhost(ORIGIN).expect("a valid origin");
        let state = AuthState::new(auth, http);
        let app = state.router().merge(probe_routes(&state));
        let mut world = Self {
            app,
            runtime,
            values: Vec::new(),
        };
        world.set_up();
        world
    }

    /// Signs up two users, makes a group, a key and an invite, and records their ids.
    fn set_up(&mut self) {
        let setup = |w: &Self, method: Method, path: &str, token: Option<&str>, body: Value| {
            let answer = w.send_raw(method, path, token, &[], body.to_string().as_bytes());
            assert!(
                answer.status.is_success(),
                "set-up {path}: {} {}",
                answer.status,
                answer.text()
            );
            answer.json()
        };
        let owner = setup(
            self,
            Method::POST,
            "/auth/sign-up",
            None,
            json!({"email": "owner@example.com", "password": PASSWORD, "mode": "token"}),
        );
        let session = str_at(&owner, "/session_token");
        let other = setup(
            self,
            Method::POST,
            "/auth/sign-up",
            None,
            json!({"email": "other@example.com", "password": PASSWORD, "mode": "token"}),
        );
        let group = setup(
            self,
            Method::POST,
            "/auth/groups",
            Some(&session),
            json!({"name": "Acme", "slug": "acme"}),
        );
        let group_id = str_at(&group, "/id");
        let key = setup(
            self,
            Method::POST,
            "/auth/api-keys",
            Some(&session),
            json!({"name": "ci", "scopes": ["data:read", "group:read"]}),
        );
        let invite = setup(
            self,
            Method::POST,
            &format!("/auth/groups/{group_id}/invites"),
            Some(&session),
            json!({"email": "other@example.com", "role": "member"}),
        );
        let members = setup(
            self,
            Method::GET,
            &format!("/auth/groups/{group_id}/members"),
            Some(&session),
            Value::Null,
        );
        self.values = vec![
            ("$SESSION", session),
            ("$REFRESH", str_at(&owner, "/refresh_token")),
            ("$OTHER_SESSION", str_at(&other, "/session_token")),
            ("$OTHER_ID", str_at(&other, "/user/id")),
            ("$USER_ID", str_at(&owner, "/user/id")),
            ("$GROUP", group_id),
            ("$MEMBER", str_at(&members, "/items/0/id")),
            ("$KEY_ID", str_at(&key, "/key/id")),
            ("$KEY", str_at(&key, "/secret")),
            ("$INVITE", str_at(&invite, "/token")),
        ];
    }

    /// `data` with every placeholder replaced by this world's value. Longer names first,
    /// so `$KEY_ID` is not read as `$KEY` followed by `_ID`.
    pub fn expand(&self, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        if !out.contains(&b'$') {
            return out;
        }
        let mut values: Vec<&(&str, String)> = self.values.iter().collect();
        values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        for (name, value) in values {
            out = replace(&out, name.as_bytes(), value.as_bytes());
        }
        out
    }

    /// The value of a placeholder (`"$SESSION"`).
    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Sends a request: `path` and `body` with placeholders expanded, a bearer `token`
    /// if given (expanded too), extra `headers`, and `Content-Type: application/json`
    /// when there is a body.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
    ) -> Answer {
        let path = String::from_utf8_lossy(&self.expand(path.as_bytes())).into_owned();
        let token = token.map(|t| String::from_utf8_lossy(&self.expand(t.as_bytes())).into_owned());
        self.send_raw(method, &path, token.as_deref(), headers, &self.expand(body))
    }

    fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Body::from(body.to_vec()))
            .expect("a request from a valid path and headers");
        let app = self.app.clone();
        self.runtime.block_on(async move {
            let response = app
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("an in-memory body").to_bytes();
            Answer {
                status: parts.status,
                headers: parts.headers,
                body: body.to_vec(),
            }
        })
    }
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// Runs `f` with the current world, building a new one every [`RUNS_PER_WORLD`] calls.
pub fn with_world<R>(f: impl FnOnce(&World) -> R) -> R {
    static WORLD: OnceLock<Mutex<(Option<World>, usize)>> = OnceLock::new();
    let cell = WORLD.get_or_init(|| Mutex::new((None, 0)));
    let mut guard = cell.lock().unwrap_or_else(PoisonError::into_inner);
    let (world, runs) = &mut *guard;
    if *runs >= RUNS_PER_WORLD {
        *world = None;
        *runs = 0;
    }
    *runs += 1;
    let world = world.get_or_insert_with(World::build);
    f(world)
}

/// The checks every answer passes, whatever was sent: no `5xx` (bad input is a `4xx`,
/// and nothing here is unavailable), and every error in the library's JSON shape with a
/// stable upper-case code. `what` names the request in the failure message.
pub fn check_answer(what: &str, answer: &Answer) {
    assert!(
        !answer.status.is_server_error(),
        "{what}: {} {}",
        answer.status,
        answer.text()
    );
    if answer.status.is_client_error() {
        let body = answer.json();
        let code = body.pointer("/error/code").and_then(Value::as_str);
        assert!(
            code.is_some_and(
                |c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            ),
            "{what}: {} without a stable error code: {}",
            answer.status,
            answer.text()
        );
        assert!(
            body.pointer("/error/message").is_some_and(Value::is_string),
            "{what}: {} without an error message: {}",
            answer.status,
            answer.text()
        );
    }
    if answer.status == StatusCode::UNAUTHORIZED {
        assert!(
            answer.headers.contains_key(header::WWW_AUTHENTICATE),
            "{what}: 401 without WWW-Authenticate"
        );
    }
}
