//! One trivial handler, `GET /hello` answering `hello`, served one of several ways, so a
//! load generator can measure what authenticating a request costs in each:
//!
//! | variant | guard |
//! | --- | --- |
//! | `bare` | none |
//! | `bare-extension` | none, but an `axum::Extension` layer (what any per-request value costs) |
//! | `floor` | the least a guard does: a hand-written tower layer that finds a session cookie, hashes it (SHA-256) and finds the hash in a `quick_cache` map; 401 otherwise |
//! | `axum-login-memory` | axum-login 0.18 `login_required!`, tower-sessions `MemoryStore` |
//! | `axum-login-sqlite` | the same with tower-sessions' SQLite store |
//! | `lib-cookie-memory` | this library, `CurrentUser` extractor, session cookie, memory store |
//! | `lib-bearer-memory` | `CurrentUser`, `Authorization: Bearer` session token |
//! | `lib-key-memory` | `require_scope("data", "read")` as a route layer inside `state.layer()`, `x-api-key` |
//! | `lib-cookie-guard` | one layer, `state.guard(require_signed_in())`, session cookie, a handler without extractor (as `floor` and axum-login's `login_required!`) |
//! | `lib-key-guard` | one layer, `state.guard(require_scope("data", "read"))`, `x-api-key` |
//! | `lib-cookie-sqlite` | `CurrentUser`, session cookie, SQLite store |
//! | `lib-key-sqlite` | `require_scope`, `x-api-key`, SQLite store |
//! | `lib-maybe-public` | `MaybeUser` on a public route, no credential (the layer's cost) |
//!
//! `http-peers <variant> [addr]` sets the variant up (a user, a session or key), checks
//! in-process that the guarded route answers 401 without the credential and 200 with it,
//! prints `header: <Name: value>` (the credential for the load generator) and
//! `listening: <addr>`, then serves on ONE tokio worker thread (pin it with taskset).
//! `scripts/http-peers.sh` runs every variant interleaved with wrk and prints the table.
//!
//! `http-peers <variant> --requests N` sends N requests through the router in-process
//! instead (no sockets, no hyper) and prints the time per request: the middleware's own
//! cost. Under `valgrind --tool=callgrind --toggle-collect='*measured_requests*'` it gives
//! the instructions of exactly those N requests, whatever else the machine is doing.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use auth_axum::{AuthState, CurrentUser, HttpConfig, MaybeUser, require_scope, require_signed_in};
use auth_core::api_keys::{KeyOwner, NewApiKey};
use auth_core::{Auth, Caller, RequestMeta, Secret, SecretKey, SignUp, SignUpOutcome, Store};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, login_required};
use futures_util::future::{Either, Ready, ready};
use sha2::{Digest, Sha256};
use tower::{Layer, Service, ServiceExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The handler every variant serves.
async fn hello() -> &'static str {
    "hello"
}

/// How a variant is measured: its router, and the credential header (if any).
struct Variant {
    app: Router,
    header: Option<(String, String)>,
    /// Whether `/hello` needs the credential (401 without it).
    guarded: bool,
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .ok_or("usage: http-peers <variant> [addr | --requests N]")?;
    let second = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    if second == "--requests" {
        let count: u64 = args.next().ok_or("--requests N")?.parse()?;
        return in_process(&name, count);
    }
    let addr: SocketAddr = second.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let variant = variant(&name, local).await?;
        check(&variant).await?;
        if let Some((name, value)) = &variant.header {
            println!("header: {name}: {value}");
        }
        println!("listening: {local}");
        axum::serve(listener, variant.app).await?;
        Ok(())
    })
}

async fn variant(name: &str, addr: SocketAddr) -> Result<Variant, BoxError> {
    let origin = format!("http://{addr}");
    Ok(match name {
        "bare" => Variant {
            app: Router::new().route("/hello", get(hello)),
            header: None,
            guarded: false,
        },
        "bare-extension" => Variant {
            app: Router::new()
                .route("/hello", get(hello))
                .layer(axum::Extension(Arc::new(()))),
            header: None,
            guarded: false,
        },
        "floor" => floor(),
        "axum-login-memory" => axum_login(tower_sessions::MemoryStore::default()).await?,
        "axum-login-sqlite" => {
            let pool =
                tower_sessions_sqlx_store::sqlx::SqlitePool::connect("sqlite::memory:").await?;
            let store = tower_sessions_sqlx_store::SqliteStore::new(pool);
            store.migrate().await?;
            axum_login(store).await?
        }
        "lib-cookie-memory" => lib_session(memory()?, &origin, Via::Cookie).await?,
        "lib-bearer-memory" => lib_session(memory()?, &origin, Via::Bearer).await?,
        "lib-key-memory" => lib_key(memory()?, &origin).await?,
        "lib-cookie-guard" => lib_guard(memory()?, &origin, Credential::Cookie).await?,
        "lib-key-guard" => lib_guard(memory()?, &origin, Credential::ApiKey).await?,
        "lib-cookie-sqlite" => lib_session(sqlite().await?, &origin, Via::Cookie).await?,
        "lib-key-sqlite" => lib_key(sqlite().await?, &origin).await?,
        "lib-maybe-public" => {
            let state = AuthState::new(memory()?, HttpConfig::localhost(&origin)?);
            let app = Router::new()
                .route(
                    "/hello",
                    get(|user: MaybeUser| async move {
                        if user.0.is_some() {
                            "hello you"
                        } else {
                            "hello"
                        }
                    }),
                )
                .layer(state.layer());
            Variant {
                app,
                header: None,
                guarded: false,
            }
        }
        other => return Err(format!("unknown variant {other}").into()),
    })
}

/// Sends `count` requests through the variant's router in-process, one after another, and
/// prints the time per request.
fn in_process(name: &str, count: u64) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let addr: SocketAddr = "127.0.0.1:3000".parse()?;
        let variant = variant(name, addr).await?;
        check(&variant).await?;
        // Warm up (fills the caches), then measure.
        measured_requests(&variant, 1000).await?;
        let started = std::time::Instant::now();
        measured_requests(&variant, count).await?;
        let per = started.elapsed().as_nanos() / u128::from(count.max(1));
        println!("{name}: {count} requests in-process, {per} ns per request");
        Ok(())
    })
}

/// The requests whose cost is measured (callgrind collects inside this function only).
#[inline(never)]
async fn measured_requests(variant: &Variant, count: u64) -> Result<(), BoxError> {
    // As `axum::serve` does per connection: the routes get their (empty) state, so they
    // are not rebuilt per request.
    let mut service = variant.app.clone().with_state(()).into_service::<Body>();
    for _ in 0..count {
        let mut request = Request::get("/hello");
        if let Some((name, value)) = &variant.header {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = service
            .ready()
            .await?
            .call(request.body(Body::empty())?)
            .await?;
        if response.status() != StatusCode::OK {
            return Err(format!("{}", response.status()).into());
        }
    }
    Ok(())
}

/// The in-memory store, with the default configuration.
fn memory() -> Result<Auth<auth_memory::MemoryStore>, BoxError> {
    Ok(Auth::builder(auth_memory::MemoryStore::new())
        .secret_key(SecretKey::generate())
        .build()?)
}

/// A SQLite store in a temporary file.
async fn sqlite() -> Result<Auth<auth_sqlx::SqliteStore>, BoxError> {
    let path = std::env::temp_dir().join(format!("http-peers-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let store = auth_sqlx::SqliteStore::connect(&format!("sqlite:{}", path.display())).await?;
    store.migrate().await?;
    Ok(Auth::builder(store)
        .secret_key(SecretKey::generate())
        .build()?)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Cookie,
    Bearer,
}

/// A signed-up user's session token.
async fn session_token<S: Store>(auth: &Auth<S>) -> Result<(Secret, Caller), BoxError> {
    let outcome = auth
        .password()
        .sign_up(
            SignUp {
                email: "bench@example.com".into(),
                password: Secret::new("benchmark password 123"),
                name: None,
                extend: None,
            },
            &RequestMeta::none(),
        )
        .await?;
    match outcome {
        SignUpOutcome::SignedIn(done) => Ok((done.session_token.clone(), done.caller())),
        SignUpOutcome::VerificationRequired(_) => Err("email verification is on".into()),
    }
}

/// `/hello` behind the `CurrentUser` extractor, authenticated by cookie or bearer token.
async fn lib_session<S: Store>(auth: Auth<S>, origin: &str, via: Via) -> Result<Variant, BoxError> {
    let (token, _) = session_token(&auth).await?;
    let http = HttpConfig::localhost(origin)?;
    let header = match via {
        Via::Cookie => (
            "Cookie".to_owned(),
            format!("{}={}", http.cookie_name(), token.expose()),
        ),
        Via::Bearer => (
            "Authorization".to_owned(),
            format!("Bearer {}", token.expose()),
        ),
    };
    let state = AuthState::new(auth, http);
    let app = Router::new()
        .route("/hello", get(|_user: CurrentUser| async { "hello" }))
        .layer(state.layer());
    Ok(Variant {
        app,
        header: Some(header),
        guarded: true,
    })
}

/// What a `lib-*-guard` variant presents.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Credential {
    Cookie,
    ApiKey,
}

/// `/hello` (no extractor) behind ONE layer that carries the state and guards:
/// `require_signed_in` with the session cookie, or `require_scope("data", "read")` with
/// `x-api-key`.
async fn lib_guard<S: Store>(
    auth: Auth<S>,
    origin: &str,
    credential: Credential,
) -> Result<Variant, BoxError> {
    let http = HttpConfig::localhost(origin)?;
    let (header, guard) = if credential == Credential::ApiKey {
        let secret = api_key(&auth).await?;
        (
            ("x-api-key".to_owned(), secret),
            require_scope("data", "read")?,
        )
    } else {
        let (token, _) = session_token(&auth).await?;
        let cookie = format!("{}={}", http.cookie_name(), token.expose());
        (("Cookie".to_owned(), cookie), require_signed_in())
    };
    let state = AuthState::new(auth, http);
    let app = Router::new()
        .route("/hello", get(hello))
        .route_layer(state.guard(guard));
    Ok(Variant {
        app,
        header: Some(header),
        guarded: true,
    })
}

/// `/hello` behind `require_scope("data", "read")`, authenticated by `x-api-key`.
async fn lib_key<S: Store>(auth: Auth<S>, origin: &str) -> Result<Variant, BoxError> {
    let secret = api_key(&auth).await?;
    let state = AuthState::new(auth, HttpConfig::localhost(origin)?);
    let app = Router::new()
        .route("/hello", get(hello))
        .route_layer(require_scope("data", "read")?)
        .layer(state.layer());
    Ok(Variant {
        app,
        header: Some(("x-api-key".into(), secret)),
        guarded: true,
    })
}

/// A signed-up user's API key with the scope `data:read`.
async fn api_key<S: Store>(auth: &Auth<S>) -> Result<String, BoxError> {
    let (_, caller) = session_token(auth).await?;
    let Some(user) = caller.user_id() else {
        return Err("a session has a user".into());
    };
    let created = auth
        .api_keys()
        .create(
            &caller,
            NewApiKey {
                owner: KeyOwner::User(user),
                name: "bench".into(),
                scopes: vec!["data:read".into()],
                expires_at: None,
                rate_limit: None,
                quota: None,
                metadata: None,
            },
            &RequestMeta::none(),
        )
        .await?;
    Ok(created.secret.expose().to_owned())
}

/// axum-login's user: an id and the hash that ties sessions to it.
#[derive(Debug, Clone)]
struct PeerUser {
    id: i64,
    auth_hash: Vec<u8>,
}

impl AuthUser for PeerUser {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// axum-login's backend: users in a map (as cheap as a backend gets).
#[derive(Debug, Clone)]
struct PeerBackend {
    users: Arc<HashMap<i64, PeerUser>>,
}

impl AuthnBackend for PeerBackend {
    type User = PeerUser;
    type Credentials = i64;
    type Error = Infallible;

    async fn authenticate(&self, id: i64) -> Result<Option<PeerUser>, Infallible> {
        Ok(self.users.get(&id).cloned())
    }

    async fn get_user(&self, id: &i64) -> Result<Option<PeerUser>, Infallible> {
        Ok(self.users.get(id).cloned())
    }
}

/// `/hello` behind axum-login's `login_required!` over tower-sessions' `store`; signs the
/// user in through `POST /login` for the session cookie.
async fn axum_login<St>(store: St) -> Result<Variant, BoxError>
where
    St: tower_sessions::SessionStore + Clone,
{
    let user = PeerUser {
        id: 1,
        auth_hash: b"bench user password hash".to_vec(),
    };
    let backend = PeerBackend {
        users: Arc::new(HashMap::from([(user.id, user)])),
    };
    let sessions = tower_sessions::SessionManagerLayer::new(store).with_secure(false);
    let auth_layer = AuthManagerLayerBuilder::new(backend, sessions).build();
    let app = Router::new()
        .route("/hello", get(hello))
        .route_layer(login_required!(PeerBackend))
        .route(
            "/login",
            post(|mut session: AuthSession<PeerBackend>| async move {
                match session.authenticate(1).await {
                    Ok(Some(user)) if session.login(&user).await.is_ok() => StatusCode::OK,
                    _ => StatusCode::UNAUTHORIZED,
                }
            }),
        )
        .layer(auth_layer);
    let response = app
        .clone()
        .oneshot(Request::post("/login").body(Body::empty())?)
        .await?;
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("axum-login set no session cookie")?
        .to_owned();
    Ok(Variant {
        app,
        header: Some(("Cookie".into(), cookie)),
        guarded: true,
    })
}

/// The session hashes the `floor` guard knows: SHA-256 of the token, nothing else.
type FloorSessions = Arc<quick_cache::sync::Cache<[u8; 32], ()>>;

/// The `floor` variant's session token: as long as the library's (43 characters).
const FLOOR_TOKEN: &str = "Ym9yaW5nIGJ1dCBob25lc3QgZmxvb3IgdG9rZW4gMTI";

/// `/hello` behind the `floor` guard, with its one session in the cache.
fn floor() -> Variant {
    let sessions: FloorSessions = Arc::new(quick_cache::sync::Cache::new(100_000));
    sessions.insert(Sha256::digest(FLOOR_TOKEN.as_bytes()).into(), ());
    let app = Router::new()
        .route("/hello", get(hello))
        .layer(FloorLayer { sessions });
    Variant {
        app,
        header: Some(("Cookie".into(), format!("session={FLOOR_TOKEN}"))),
        guarded: true,
    }
}

/// The least a session guard does, as one would write it by hand: the `session` cookie,
/// its SHA-256, one cache lookup; 401 if any of it is missing.
#[derive(Clone)]
struct FloorLayer {
    sessions: FloorSessions,
}

impl<S> Layer<S> for FloorLayer {
    type Service = FloorService<S>;
    fn layer(&self, inner: S) -> FloorService<S> {
        FloorService {
            inner,
            sessions: Arc::clone(&self.sessions),
        }
    }
}

#[derive(Clone)]
struct FloorService<S> {
    inner: S,
    sessions: FloorSessions,
}

impl<S, B> Service<Request<B>> for FloorService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Ready<Result<Response, Infallible>>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if floor_signed_in(&self.sessions, request.headers()) {
            Either::Left(self.inner.call(request))
        } else {
            Either::Right(ready(Ok(StatusCode::UNAUTHORIZED.into_response())))
        }
    }
}

fn floor_signed_in(sessions: &FloorSessions, headers: &HeaderMap) -> bool {
    let Some(cookies) = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    cookies
        .split(';')
        .find_map(|pair| pair.trim().strip_prefix("session="))
        .is_some_and(|token| {
            let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            sessions.get(&hash).is_some()
        })
}

/// The guarded route answers 401 without the credential and 200 with it; an unguarded one
/// answers 200.
async fn check(variant: &Variant) -> Result<(), BoxError> {
    let without = variant
        .app
        .clone()
        .oneshot(Request::get("/hello").body(Body::empty())?)
        .await?
        .status();
    let expected = if variant.guarded {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    if without != expected {
        return Err(format!("without a credential: {without}, expected {expected}").into());
    }
    if let Some((name, value)) = &variant.header {
        let with = variant
            .app
            .clone()
            .oneshot(
                Request::get("/hello")
                    .header(name.as_str(), value.as_str())
                    .body(Body::empty())?,
            )
            .await?;
        let status = with.status();
        let body = http_body_util::BodyExt::collect(with.into_body())
            .await?
            .to_bytes();
        if status != StatusCode::OK || !body.starts_with(b"hello") {
            return Err(format!("with the credential: {status}").into());
        }
    }
    Ok(())
}
