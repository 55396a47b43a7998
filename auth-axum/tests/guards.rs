//! The route guards (`require_scope`, `require_member`, `require_permission`,
//! `require_aal2`, `require_recent_sign_in`, guards carrying the state) and the extractors, against sessions, user-owned keys and group-owned
//! keys. The guarded routes are `common::probe_routes`.

mod common;

use auth_axum::{AuthState, CurrentUser, require_permission, require_scope};
use auth_core::sessions::RefreshToken;
use auth_core::{Aal, Session, SessionId, SessionStore, TokenHash};
use axum::Router;
use axum::http::StatusCode;
use axum::routing;
use common::*;
use serde_json::json;
use time::Duration;

const SCOPE_CHALLENGE: &str =
    "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"data:read\"";

fn member_route(group: &str) -> String {
    format!("/groups/{group}/member")
}

fn admin_route(group: &str) -> String {
    format!("/groups/{group}/admin")
}

fn data_route(group: &str) -> String {
    format!("/groups/{group}/data")
}

/// Asserts the request passes the guard and reaches the handler as `who`.
async fn assert_passes(app: &TestApp, r: Req, who: &str) {
    let res = app.send(r).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.text(), who);
}

fn session_of(c: &Client) -> String {
    format!("session:{}", c.id)
}

/// An API key as `owner`; returns (principal text, secret).
async fn key(app: &TestApp, owner: &Client, body: serde_json::Value) -> (String, String) {
    let (id, secret) = app.key(owner, body).await;
    (format!("key:{id}"), secret)
}

/// A group-owned key of `group` (created by its owner) with `scopes`.
async fn group_key(app: &TestApp, org: &Org, scopes: &[&str]) -> (String, String) {
    key(
        app,
        &org.owner,
        json!({ "name": "g", "scopes": scopes, "group_id": org.group }),
    )
    .await
}

#[tokio::test]
async fn scope_guard() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let res = app.send(get("/scoped")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    assert_eq!(res.header("www-authenticate"), Some(CHALLENGE));
    // Sessions act with their user's own authority.
    assert_passes(&app, get("/scoped").bearer(&a.token), &session_of(&a)).await;
    assert_passes(&app, get("/scoped").cookie(&a.token), &session_of(&a)).await;
    for scopes in [json!(["data:read"]), json!(["data:*"]), json!(["*:read"])] {
        let (who, secret) = key(&app, &a, json!({ "name": "k", "scopes": scopes })).await;
        assert_passes(&app, get("/scoped").api_key(&secret), &who).await;
        assert_passes(&app, get("/scoped").bearer(&secret), &who).await;
    }
    let (_, narrow) = key(&app, &a, json!({ "name": "k", "scopes": ["data:write"] })).await;
    for r in [
        get("/scoped").api_key(&narrow),
        get("/scoped").bearer(&narrow),
    ] {
        let res = app.send(r).await;
        let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
        assert_eq!(error["required_scope"], "data:read");
        assert_eq!(res.header("www-authenticate"), Some(SCOPE_CHALLENGE));
        assert!(!res.text().contains(&narrow));
    }
    let res = app.send(get("/scoped").api_key("sk_nope")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
}

#[tokio::test]
async fn member_guard_with_sessions() {
    let app = TestApp::new();
    let org = app.org().await;
    let route = member_route(&org.group);
    for who in [&org.owner, &org.admin, &org.member] {
        assert_passes(&app, get(&route).bearer(&who.token), &session_of(who)).await;
    }
    let res = app.send(get(&route).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app.send(get(&route)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    // Membership is inherited by child groups.
    let child = app
        .group(
            &org.owner,
            json!({ "name": "Team", "parent_id": org.group }),
        )
        .await;
    assert_passes(
        &app,
        get(&member_route(&child)).bearer(&org.member.token),
        &session_of(&org.member),
    )
    .await;
    let res = app
        .send(get(&member_route(&unknown_id())).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    for bad in ["not-a-uuid", "%FF"] {
        let res = app
            .send(get(&member_route(bad)).bearer(&org.owner.token))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
}

#[tokio::test]
async fn member_guard_with_a_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let route = admin_route(&org.group);
    for who in [&org.owner, &org.admin] {
        assert_passes(&app, get(&route).bearer(&who.token), &session_of(who)).await;
    }
    for who in [&org.member, &org.stranger] {
        let res = app.send(get(&route).bearer(&who.token)).await;
        assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let child = app
        .group(
            &org.owner,
            json!({ "name": "Team", "parent_id": org.group }),
        )
        .await;
    assert_passes(
        &app,
        get(&admin_route(&child)).bearer(&org.admin.token),
        &session_of(&org.admin),
    )
    .await;
    // A group's key is a member without a role.
    let (_, secret) = group_key(&app, &org, &[]).await;
    let res = app.send(get(&route).api_key(&secret)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
}

#[tokio::test]
async fn member_guard_with_keys() {
    let app = TestApp::new();
    let org = app.org().await;
    let child = app
        .group(
            &org.owner,
            json!({ "name": "Team", "parent_id": org.group }),
        )
        .await;
    let other = app
        .group(&org.stranger, json!({ "name": "Elsewhere" }))
        .await;
    // A user's key is its user: the member passes, the stranger does not.
    let (member_key, member_secret) =
        key(&app, &org.member, json!({ "name": "k", "scopes": [] })).await;
    assert_passes(
        &app,
        get(&member_route(&org.group)).api_key(&member_secret),
        &member_key,
    )
    .await;
    let (_, stranger_secret) = key(&app, &org.stranger, json!({ "name": "k", "scopes": [] })).await;
    let res = app
        .send(get(&member_route(&org.group)).api_key(&stranger_secret))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    // A group's key belongs to its group and the groups below, nowhere else.
    let (who, secret) = group_key(&app, &org, &[]).await;
    assert_passes(&app, get(&member_route(&org.group)).api_key(&secret), &who).await;
    assert_passes(&app, get(&member_route(&child)).bearer(&secret), &who).await;
    let res = app.send(get(&member_route(&other)).api_key(&secret)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let child_key = key(
        &app,
        &org.owner,
        json!({ "name": "c", "scopes": [], "group_id": child }),
    )
    .await;
    let res = app
        .send(get(&member_route(&org.group)).api_key(&child_key.1))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
}

#[tokio::test]
async fn permission_guard_with_sessions() {
    let app = TestApp::new();
    let org = app.org().await;
    let route = data_route(&org.group);
    assert_passes(
        &app,
        post(&route).bearer(&org.owner.token),
        &session_of(&org.owner),
    )
    .await;
    for who in [&org.admin, &org.member, &org.stranger] {
        let res = app.send(post(&route).bearer(&who.token)).await;
        let error = assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
        assert!(error["message"].as_str().unwrap().contains("data:write"));
    }
    // Cookie sessions are subject to the origin check on unsafe methods.
    let res = app.send(post(&route).cookie(&org.owner.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "CSRF_REJECTED");
    assert_passes(
        &app,
        post(&route).cookie(&org.owner.token).origin(ORIGIN),
        &session_of(&org.owner),
    )
    .await;
    let res = app
        .send(post(&data_route(&unknown_id())).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let res = app
        .send(post(&data_route("nope")).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}

#[tokio::test]
async fn permission_guard_with_user_keys_needs_scope_and_permission() {
    let app = TestApp::new();
    let org = app.org().await;
    let route = data_route(&org.group);
    let (who, secret) = key(
        &app,
        &org.owner,
        json!({ "name": "k", "scopes": ["data:write"] }),
    )
    .await;
    assert_passes(&app, post(&route).api_key(&secret), &who).await;
    let (_, unscoped) = key(
        &app,
        &org.owner,
        json!({ "name": "k", "scopes": ["data:read"] }),
    )
    .await;
    let res = app.send(post(&route).api_key(&unscoped)).await;
    let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    assert_eq!(error["required_scope"], "data:write");
    // The scope alone is not enough: the member lacks the permission.
    let (_, member_key) = key(&app, &org.member, json!({ "name": "k", "scopes": ["*:*"] })).await;
    let res = app.send(post(&route).api_key(&member_key)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
}

#[tokio::test]
async fn permission_guard_with_group_keys() {
    let app = TestApp::new();
    let org = app.org().await;
    let child = app
        .group(
            &org.owner,
            json!({ "name": "Team", "parent_id": org.group }),
        )
        .await;
    let other = app
        .group(&org.stranger, json!({ "name": "Elsewhere" }))
        .await;
    let (who, secret) = group_key(&app, &org, &["data:write"]).await;
    assert_passes(&app, post(&data_route(&org.group)).api_key(&secret), &who).await;
    assert_passes(&app, post(&data_route(&child)).bearer(&secret), &who).await;
    let res = app.send(post(&data_route(&other)).api_key(&secret)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (_, read_only) = group_key(&app, &org, &["data:read"]).await;
    let res = app
        .send(post(&data_route(&org.group)).api_key(&read_only))
        .await;
    let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    assert_eq!(error["required_scope"], "data:write");
}

/// Plants an aal2 session for `user` (no route signs in with a second factor yet).
async fn aal2_session(app: &TestApp, user: &Client) -> String {
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), "A".repeat(11));
    let now = app.auth.now();
    let session = Session {
        id: SessionId::new(),
        user_id: user.id.parse().unwrap(),
        token_hash: TokenHash::of(&token),
        aal: Aal::Aal2,
        ip: None,
        user_agent: None,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: now + Duration::days(1),
        expires_at: now + Duration::days(1),
        revoked_at: None,
        sso_connection_id: None,
    };
    let refresh = RefreshToken {
        token_hash: TokenHash::of(&format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            "B".repeat(11)
        )),
        session_id: session.id,
        created_at: now,
        expires_at: session.expires_at,
        used_at: None,
    };
    app.store.create_session(&session, &refresh).await.unwrap();
    token
}

#[tokio::test]
async fn aal2_guard() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let res = app.send(get("/mfa")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    let res = app.send(get("/mfa").bearer(&a.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "MFA_REQUIRED");
    let (_, secret) = key(&app, &a, json!({ "name": "k", "scopes": ["*:*"] })).await;
    let res = app.send(get("/mfa").api_key(&secret)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "MFA_REQUIRED");
    let strong = aal2_session(&app, &a).await;
    assert_passes(&app, get("/mfa").bearer(&strong), &session_of(&a)).await;
    let me = app
        .send(get("/auth/me").bearer(&strong))
        .await
        .expect(StatusCode::OK);
    assert_eq!(me["session"]["aal"], "aal2");
}

#[tokio::test]
async fn guards_and_extractors_without_the_state_are_500_not_configured() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let bare: Router = Router::new()
        .route("/guarded", routing::get(|| async { "ok" }))
        .route_layer(require_scope("data", "read").unwrap())
        .route(
            "/user",
            routing::get(|u: CurrentUser| async move { u.user.id.to_string() }),
        );
    for path in ["/guarded", "/user"] {
        let res = send(&bare, get(path).bearer(&a.token)).await;
        assert_error(&res, StatusCode::INTERNAL_SERVER_ERROR, "NOT_CONFIGURED");
    }
}

#[test]
fn a_guard_with_a_malformed_permission_is_refused_when_the_router_is_built() {
    for (resource, action) in [("Not Valid", "read"), ("data", ""), ("data", "re:ad")] {
        let error = require_scope(resource, action).unwrap_err();
        assert_eq!(
            error.code(),
            auth_core::ErrorCode::InvalidInput,
            "{resource}:{action}"
        );
    }
    for permission in ["", "data", "Data:write", "data:write:more"] {
        let error = require_permission("gid", permission).unwrap_err();
        assert_eq!(
            error.code(),
            auth_core::ErrorCode::InvalidInput,
            "{permission}"
        );
    }
    require_scope("data", "read").unwrap();
    require_permission("gid", "data:write").unwrap();
}

#[tokio::test]
async fn current_user_takes_sessions_and_user_keys_but_not_group_keys() {
    let app = TestApp::new();
    let org = app.org().await;
    let state: AuthState = app.state.clone();
    let router: Router = Router::new()
        .route(
            "/user",
            routing::get(|u: CurrentUser| async move { u.user.email.to_string() }),
        )
        .with_state(state);
    let res = send(&router, get("/user").bearer(&org.member.token)).await;
    assert_eq!(res.expect(StatusCode::OK), "member@example.com");
    let (_, user_key) = key(&app, &org.member, json!({ "name": "k", "scopes": [] })).await;
    let res = send(&router, get("/user").api_key(&user_key)).await;
    assert_eq!(res.expect(StatusCode::OK), "member@example.com");
    let (_, group_secret) = group_key(&app, &org, &[]).await;
    let res = send(&router, get("/user").api_key(&group_secret)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = send(&router, get("/user")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
}

#[tokio::test]
async fn an_extension_of_the_state_works_like_its_layer() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (_, read_key) = key(&app, &a, json!({ "name": "r", "scopes": ["data:read"] })).await;
    let (_, other_key) = key(&app, &a, json!({ "name": "o", "scopes": ["other:read"] })).await;
    let router: Router = Router::new()
        .route(
            "/guarded",
            routing::get(|u: CurrentUser| async move { u.user.email.to_string() }),
        )
        .route_layer(require_scope("data", "read").unwrap())
        .layer(axum::Extension(app.state.clone()));
    // Twice each: the first misses the caches, the second is answered from them.
    for _ in 0..2 {
        let res = send(&router, get("/guarded").bearer(&a.token)).await;
        assert_eq!(res.expect(StatusCode::OK), "a@example.com");
        let res = send(&router, get("/guarded").api_key(&read_key)).await;
        assert_eq!(res.expect(StatusCode::OK), "a@example.com");
        let res = send(&router, get("/guarded").api_key(&other_key)).await;
        assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
        let res = send(&router, get("/guarded")).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    }
}

#[tokio::test]
async fn with_request_ids_puts_the_id_in_a_guards_audit_events() {
    use auth_core::audit::{AuditFilter, AuditOrder};
    use auth_core::{Auth, AuthConfig, ListQuery, SecretKey};
    use auth_memory::MemoryStore;

    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .audit_to_store()
        .build()
        .unwrap();
    let state = AuthState::new(
        auth.clone(),
        auth_axum::HttpConfig::localhost(ORIGIN).unwrap(),
    );
    let guarded = Router::new()
        .route("/guarded", routing::get(|| async { "ok" }))
        .route_layer(require_scope("data", "read").unwrap())
        .layer(state.layer());
    let app = auth_axum::with_request_ids(guarded);
    // A refused key is audited; the id the layer made up is in the event and the response.
    let res = send(&app, get("/guarded").api_key("sk_not_a_key")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_INVALID");
    let id = res.header("x-request-id").unwrap().to_owned();
    let events = auth
        .audit()
        .list(
            &auth_core::Caller::System,
            ListQuery::new(AuditFilter::default(), AuditOrder::At),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "api_key.verify");
    assert_eq!(events[0].request_id.as_deref(), Some(id.as_str()));
    // A client's own id is kept.
    let res = send(&app, get("/guarded").header("x-request-id", "req-7")).await;
    assert_eq!(res.header("x-request-id"), Some("req-7"));
}

#[tokio::test]
async fn recent_sign_in_guard() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let res = app.send(get("/fresh")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    assert_passes(&app, get("/fresh").bearer(&a.token), &session_of(&a)).await;
    let (_, secret) = key(&app, &a, json!({ "name": "k", "scopes": ["*:*"] })).await;
    let res = app.send(get("/fresh").api_key(&secret)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "REAUTHENTICATION_REQUIRED");
    // Used within its idle timeout, but begun more than 10 minutes ago.
    app.clock.advance(Duration::minutes(11));
    let res = app.send(get("/fresh").bearer(&a.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "REAUTHENTICATION_REQUIRED");
    let again = app.sign_in("a@example.com").await;
    assert_passes(&app, get("/fresh").bearer(&again.token), &session_of(&a)).await;
}

#[tokio::test]
async fn a_guard_that_carries_the_state_is_the_layer_and_the_guard_in_one() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    for path in ["/fused/signed-in", "/fused/scoped"] {
        let res = app.send(get(path)).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
        // The handler's extractor finds the state the guard carries.
        assert_passes(&app, get(path).cookie(&a.token), &session_of(&a)).await;
        assert_passes(&app, get(path).bearer(&a.token), &session_of(&a)).await;
    }
    // The key's first use is a cache miss: the guard's slow path finds the state too.
    let (who, read) = key(&app, &a, json!({ "name": "k", "scopes": ["data:read"] })).await;
    assert_passes(&app, get("/fused/scoped").api_key(&read), &who).await;
    assert_passes(&app, get("/fused/signed-in").api_key(&read), &who).await;
    let (_, narrow) = key(&app, &a, json!({ "name": "k", "scopes": ["data:write"] })).await;
    let res = app.send(get("/fused/scoped").api_key(&narrow)).await;
    let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    assert_eq!(error["required_scope"], "data:read");
}
