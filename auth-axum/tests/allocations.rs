//! The allocations of a guarded request whose credential the caches answer, counted with a
//! counting allocator and fixed here, so that an allocation added to the hot path fails
//! this test rather than creeping in unnoticed.
//!
//! Each is compared with the same router whose layers do nothing (`Identity`): in axum,
//! any layer costs allocations of its own (the route's boxed future), so what is counted
//! is the difference, the cost of authentication alone. `allocation-counter` counts the
//! allocations of the measuring thread only, so parallel tests do not disturb it.

use allocation_counter::measure;
use auth_axum::{AuthState, CurrentUser, HttpConfig, MaybeUser, require_scope, require_signed_in};
use auth_core::api_keys::{KeyOwner, NewApiKey};
use auth_core::{Auth, Caller, RequestMeta, Secret, SecretKey, SignUp, SignUpOutcome};
use auth_memory::MemoryStore;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use futures_util::FutureExt;
use tower::layer::util::Identity;
use tower::{Service, ServiceExt};

const ORIGIN: &str = "http://localhost:3000";
/// What authentication may add to a request's allocations: none. The layer adds nothing
/// to the request (its state is thread-local while the request runs), a cache hit shares the cached session or key
/// (`Arc`s), and the guard calls its route without cloning it. (An `axum::Extension`
/// layer would cost 4 here.)
const BUDGET: i64 = 0;

/// Sends one request through `app` (ready once, as `axum::serve` does per connection)
/// and returns how many allocations it made.
async fn allocations_of(app: &Router, header: Option<(&str, &str)>) -> u64 {
    let mut service = app.clone().with_state(()).into_service::<Body>();
    let count = || {
        let mut request = Request::get("/hello");
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.body(Body::empty()).unwrap()
    };
    // Warm up: the caches, the router's lazy parts.
    for _ in 0..3 {
        let response = service.ready().await.unwrap().call(count()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let request = count();
    let service = service.ready().await.unwrap();
    // Counted on this thread only; a cache hit answers without waiting, so one poll of
    // the request's future completes it.
    let info = measure(|| {
        let response = service
            .call(request)
            .now_or_never()
            .expect("a cache hit answers on the first poll")
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    });
    info.count_total
}

async fn signed_up() -> (Auth<MemoryStore>, Secret, Caller) {
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .build()
        .unwrap();
    let outcome = auth
        .password()
        .sign_up(
            SignUp {
                email: "ada@example.com".into(),
                password: Secret::new("a long enough password 123"),
                name: None,
                extend: None,
            },
            &RequestMeta::none(),
        )
        .await
        .unwrap();
    let SignUpOutcome::SignedIn(done) = outcome else {
        panic!("email verification is off by default");
    };
    let caller = done.caller();
    (auth, done.session_token.clone(), caller)
}

fn bare() -> Router {
    Router::new().route("/hello", get(|| async { "hello" }))
}

/// `bare()` behind a layer that does nothing, as the measured routers are behind one.
fn bare_layered() -> Router {
    bare().layer(Identity::new())
}

fn added(name: &str, guarded: u64, bare: u64) -> i64 {
    // A bare request allocates (its response body, the router's future): a zero would
    // mean nothing was counted, and every budget would pass for nothing.
    assert!(bare > 0, "the counting allocator counts nothing");
    let added = i64::try_from(guarded).unwrap() - i64::try_from(bare).unwrap();
    println!("{name}: {guarded} allocations, bare {bare}, added {added}");
    added
}

#[tokio::test(flavor = "current_thread")]
async fn a_cache_hit_session_request_allocates_within_budget() {
    let (auth, token, _) = signed_up().await;
    let http = HttpConfig::localhost(ORIGIN).unwrap();
    let cookie = format!("{}={}", http.cookie_name(), token.expose());
    let bearer = format!("Bearer {}", token.expose());
    let state = AuthState::new(auth, http);
    let app = Router::new()
        .route("/hello", get(|_: CurrentUser| async { "hello" }))
        .layer(state.layer());
    let baseline = allocations_of(&bare_layered(), None).await;
    let by_cookie = allocations_of(&app, Some(("cookie", &cookie))).await;
    let by_bearer = allocations_of(&app, Some(("authorization", &bearer))).await;
    assert_eq!(added("cookie", by_cookie, baseline), BUDGET);
    assert_eq!(added("bearer", by_bearer, baseline), BUDGET);
}

#[tokio::test(flavor = "current_thread")]
async fn a_cache_hit_key_request_allocates_within_budget() {
    let (auth, _, caller) = signed_up().await;
    let created = auth
        .api_keys()
        .create(
            &caller,
            NewApiKey {
                owner: KeyOwner::User(caller.user_id().unwrap()),
                name: "ci".into(),
                scopes: vec!["data:read".into()],
                expires_at: None,
                rate_limit: None,
                quota: None,
                metadata: None,
            },
            &RequestMeta::none(),
        )
        .await
        .unwrap();
    let state = AuthState::new(auth, HttpConfig::localhost(ORIGIN).unwrap());
    let app = bare()
        .route_layer(require_scope("data", "read").unwrap())
        .layer(state.layer());
    let layered = bare().route_layer(Identity::new()).layer(Identity::new());
    let baseline = allocations_of(&layered, None).await;
    let by_key = allocations_of(&app, Some(("x-api-key", created.secret.expose()))).await;
    assert_eq!(added("api key", by_key, baseline), BUDGET);
    // The same guard carrying the state: one layer, compared with one.
    let fused = bare().route_layer(state.guard(require_scope("data", "read").unwrap()));
    let by_key = allocations_of(&fused, Some(("x-api-key", created.secret.expose()))).await;
    let baseline = allocations_of(&bare().route_layer(Identity::new()), None).await;
    assert_eq!(added("api key, one layer", by_key, baseline), BUDGET);
}

#[tokio::test(flavor = "current_thread")]
async fn a_cache_hit_session_behind_a_guard_carrying_the_state_allocates_within_budget() {
    let (auth, token, _) = signed_up().await;
    let http = HttpConfig::localhost(ORIGIN).unwrap();
    let cookie = format!("{}={}", http.cookie_name(), token.expose());
    let state = AuthState::new(auth, http);
    let app = bare().route_layer(state.guard(require_signed_in()));
    let baseline = allocations_of(&bare().route_layer(Identity::new()), None).await;
    let by_cookie = allocations_of(&app, Some(("cookie", &cookie))).await;
    assert_eq!(added("cookie, one layer", by_cookie, baseline), BUDGET);
}

#[tokio::test(flavor = "current_thread")]
async fn a_public_route_with_maybe_user_allocates_within_budget() {
    let (auth, _, _) = signed_up().await;
    let state = AuthState::new(auth, HttpConfig::localhost(ORIGIN).unwrap());
    let app = Router::new()
        .route("/hello", get(|_: MaybeUser| async { "hello" }))
        .layer(state.layer());
    let baseline = allocations_of(&bare_layered(), None).await;
    let anonymous = allocations_of(&app, None).await;
    assert_eq!(added("maybe user", anonymous, baseline), BUDGET);
}
