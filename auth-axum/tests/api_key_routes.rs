//! `/auth/api-keys`: your keys and your groups' keys.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use time::Duration;

fn key_path(id: &str) -> String {
    format!("/auth/api-keys/{id}")
}

/// Asserts the key works, through `x-api-key` and `Authorization: Bearer`.
async fn assert_works(app: &TestApp, key_id: &str, secret: &str) {
    for r in [get("/probe").api_key(secret), get("/probe").bearer(secret)] {
        let res = app.send(r).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(res.text(), format!("key:{key_id}"));
    }
}

async fn assert_refused(app: &TestApp, secret: &str, code: &str) {
    let res = app.send(get("/probe").api_key(secret)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, code);
    assert_eq!(res.header("www-authenticate"), Some(INVALID_TOKEN));
}

fn list_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

#[tokio::test]
async fn a_new_key_is_shown_once() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let res = app
        .send(post("/auth/api-keys").bearer(&a.token).json(json!({
            "name": "ci", "scopes": ["data:read", "data:write"], "metadata": { "team": "x" }
        })))
        .await;
    let body = res.expect(StatusCode::CREATED);
    let secret = str_of(&body["secret"]);
    let key = &body["key"];
    let id = id_of(key);
    assert!(secret.starts_with("sk_"), "{secret}");
    assert!(secret.starts_with(key["start"].as_str().unwrap()));
    assert_eq!(key["owner"], json!({ "type": "user", "id": a.id }));
    assert_eq!(key["created_by"], a.id.as_str());
    assert_eq!(key["name"], "ci");
    assert_eq!(key["scopes"], json!(["data:read", "data:write"]));
    assert_eq!(key["metadata"], json!({ "team": "x" }));
    assert!(key.get("key_hash").is_none());
    assert_works(&app, &id, &secret).await;

    let got = app.send(get(&key_path(&id)).bearer(&a.token)).await;
    assert_eq!(id_of(&got.expect(StatusCode::OK)), id);
    let listed = app.send(get("/auth/api-keys").bearer(&a.token)).await;
    assert_eq!(list_ids(&listed.expect(StatusCode::OK)), [id.as_str()]);
    for res in [got, listed] {
        assert!(!res.text().contains(&secret), "{}", res.text());
        assert!(!res.text().contains("key_hash"));
        assert!(!res.text().contains("\"secret\""));
    }
}

#[tokio::test]
async fn create_validates_the_key() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let cases = [
        json!({ "name": "k", "scopes": ["Data Read"] }),
        json!({ "name": "k", "scopes": ["data"] }),
        json!({ "name": "", "scopes": [] }),
        json!({ "name": "n".repeat(1_000_000), "scopes": [] }),
        json!({ "name": "k", "scopes": [], "expires_at": "2000-01-01T00:00:00Z" }),
        json!({ "name": "k", "scopes": [], "rate_limit": { "max": 0, "window": 60 } }),
        json!({ "name": "k", "scopes": [], "rate_limit": { "max": 1, "window": 0 } }),
        json!({ "name": "k", "scopes": [], "quota": { "limit": 0 } }),
        json!({ "name": "k", "scopes": [], "quota": { "limit": 5, "refill_every": 1 } }),
        // Beyond 366 days (the first one panicked on the key's second use before).
        json!({ "name": "k", "scopes": [], "quota": { "limit": 1, "refill_every": i64::MAX } }),
        json!({ "name": "k", "scopes": [], "quota": { "limit": 1, "refill_every": 31_622_401 } }),
        json!({ "name": "k", "scopes": [], "metadata": [1, 2] }),
    ];
    for body in cases {
        let res = app
            .send(post("/auth/api-keys").bearer(&a.token).json(body.clone()))
            .await;
        let error = assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
        assert!(error["message"].as_str().unwrap().len() < 200, "{body}");
    }
    for body in [
        json!({ "name": "k" }),
        json!({ "scopes": [] }),
        json!({ "name": "k", "scopes": "data:read" }),
        json!({ "name": "k", "scopes": [], "expires_at": "tomorrow" }),
        json!({ "name": "k", "scopes": [], "owner": "someone" }),
    ] {
        let res = app
            .send(post("/auth/api-keys").bearer(&a.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    }
    let list = app.send(get("/auth/api-keys").bearer(&a.token)).await;
    assert_eq!(list_ids(&list.expect(StatusCode::OK)), Vec::<String>::new());
}

#[tokio::test]
async fn other_users_keys_are_not_found() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let b = app.sign_up("b@example.com").await;
    let (id, secret) = app.key(&a, json!({ "name": "k", "scopes": [] })).await;
    let path = key_path(&id);
    for r in [
        get(&path),
        patch(&path).json(json!({ "name": "mine" })),
        delete(&path),
        post(&format!("{path}/revoke")),
        post(&format!("{path}/rotate")).json(json!({})),
    ] {
        let res = app.send(r.bearer(&b.token)).await;
        assert_error(&res, StatusCode::NOT_FOUND, "API_KEY_NOT_FOUND");
    }
    let list = app.send(get("/auth/api-keys").bearer(&b.token)).await;
    assert_eq!(list_ids(&list.expect(StatusCode::OK)), Vec::<String>::new());
    assert_works(&app, &id, &secret).await;
    let got = app.send(get(&path).bearer(&a.token)).await;
    assert_eq!(got.expect(StatusCode::OK)["name"], "k");
}

#[tokio::test]
async fn unknown_and_malformed_key_ids() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    for (id, status, code) in [
        (unknown_id(), StatusCode::NOT_FOUND, "API_KEY_NOT_FOUND"),
        (
            "not-a-uuid".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_INPUT",
        ),
        (
            "%FF%FE".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_INPUT",
        ),
    ] {
        let path = key_path(&id);
        for r in [
            get(&path),
            patch(&path).json(json!({ "name": "x" })),
            delete(&path),
            post(&format!("{path}/revoke")),
            post(&format!("{path}/rotate")).json(json!({})),
        ] {
            let res = app.send(r.bearer(&a.token)).await;
            assert_error(&res, status, code);
        }
    }
}

#[tokio::test]
async fn keys_cannot_manage_keys() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (id, secret) = app.key(&a, json!({ "name": "k", "scopes": ["*:*"] })).await;
    let path = key_path(&id);
    for r in [
        post("/auth/api-keys").json(json!({ "name": "k2", "scopes": [] })),
        get("/auth/api-keys"),
        get(&path),
        patch(&path).json(json!({ "name": "x" })),
        delete(&path),
        post(&format!("{path}/revoke")),
        post(&format!("{path}/rotate")).json(json!({})),
    ] {
        let res = app.send(r.api_key(&secret)).await;
        let error = assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
        assert!(!error["message"].as_str().unwrap().contains(&secret));
    }
    let list = app.send(get("/auth/api-keys").bearer(&a.token)).await;
    assert_eq!(list_ids(&list.expect(StatusCode::OK)), [id]);
}

#[tokio::test]
async fn key_routes_need_a_session() {
    let app = TestApp::new();
    let id = unknown_id();
    for r in [
        post("/auth/api-keys").json(json!({ "name": "k", "scopes": [] })),
        get("/auth/api-keys"),
        get(&key_path(&id)),
        patch(&key_path(&id)).json(json!({})),
        delete(&key_path(&id)),
        post(&format!("/auth/api-keys/{id}/revoke")),
        post(&format!("/auth/api-keys/{id}/rotate")).json(json!({})),
    ] {
        let res = app.send(r).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
        assert_eq!(res.header("www-authenticate"), Some(CHALLENGE));
    }
}

#[tokio::test]
async fn update_changes_scopes_at_once() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (id, secret) = app.key(&a, json!({ "name": "k", "scopes": [] })).await;
    let res = app.send(get("/scoped").api_key(&secret)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    let updated = app
        .send(
            patch(&key_path(&id))
                .bearer(&a.token)
                .json(json!({ "name": "renamed", "scopes": ["data:read"], "rate_limit": null })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["scopes"], json!(["data:read"]));
    app.send(get("/scoped").api_key(&secret))
        .await
        .expect(StatusCode::OK);
    for (body, code) in [
        (json!({ "scopes": ["NOT A SCOPE"] }), "INVALID_BODY"),
        (json!({ "name": "" }), "INVALID_INPUT"),
        (json!({ "name": "x".repeat(1_000_000) }), "INVALID_INPUT"),
        (
            json!({ "rate_limit": { "max": 0, "window": 1 } }),
            "INVALID_INPUT",
        ),
        (json!({ "name": 5 }), "INVALID_BODY"),
        (json!({ "nmae": "typo" }), "INVALID_BODY"),
    ] {
        let res = app
            .send(patch(&key_path(&id)).bearer(&a.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let got = app
        .send(get(&key_path(&id)).bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(got["name"], "renamed");
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (id, secret) = app.key(&a, json!({ "name": "k", "scopes": [] })).await;
    let (other, _) = app.key(&a, json!({ "name": "k2", "scopes": [] })).await;
    assert_works(&app, &id, &secret).await;
    let revoked = app
        .send(post(&format!("/auth/api-keys/{id}/revoke")).bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    assert_refused(&app, &secret, "API_KEY_REVOKED").await;
    let only_revoked = app
        .send(get("/auth/api-keys?revoked=true").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(list_ids(&only_revoked), [id.as_str()]);
    let active = app
        .send(get("/auth/api-keys?revoked=false").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(list_ids(&active), [other]);
    // Revoked keys cannot be rotated back to life...
    let res = app
        .send(
            post(&format!("/auth/api-keys/{id}/rotate"))
                .bearer(&a.token)
                .json(json!({})),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "API_KEY_NOT_ACTIVE");
    // ...and the caller's own session is untouched.
    app.send(get("/auth/me").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn rotate_returns_a_new_secret_and_ends_the_old_one() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (id, secret) = app
        .key(&a, json!({ "name": "k", "scopes": ["data:read"] }))
        .await;
    let res = app
        .send(
            post(&format!("/auth/api-keys/{id}/rotate"))
                .bearer(&a.token)
                .json(json!({ "grace_seconds": 0 })),
        )
        .await;
    let body = res.expect(StatusCode::CREATED);
    let new_secret = str_of(&body["secret"]);
    let new_id = id_of(&body["key"]);
    assert_ne!(new_secret, secret);
    assert_ne!(new_id, id);
    assert_eq!(body["key"]["name"], "k");
    assert_eq!(body["key"]["scopes"], json!(["data:read"]));
    assert_refused(&app, &secret, "API_KEY_REVOKED").await;
    assert_works(&app, &new_id, &new_secret).await;
    let old = app
        .send(get(&key_path(&id)).bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert!(old["revoked_at"].is_string());
    let listed = app.send(get("/auth/api-keys").bearer(&a.token)).await;
    assert!(!listed.text().contains(&new_secret));
}

#[tokio::test]
async fn rotate_with_grace_keeps_the_old_key_for_a_while() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (id, secret) = app.key(&a, json!({ "name": "k", "scopes": [] })).await;
    let rotate = format!("/auth/api-keys/{id}/rotate");
    for bad in [
        json!({ "grace_seconds": -1 }),
        json!({ "grace_seconds": 31 * 86_400 }),
    ] {
        let res = app.send(post(&rotate).bearer(&a.token).json(bad)).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    let res = app
        .send(
            post(&rotate)
                .bearer(&a.token)
                .json(json!({ "grace_seconds": 60 })),
        )
        .await;
    let body = res.expect(StatusCode::CREATED);
    assert_works(&app, &id, &secret).await;
    app.clock.advance(Duration::seconds(60));
    assert_refused(&app, &secret, "API_KEY_REVOKED").await;
    assert_works(&app, &id_of(&body["key"]), &str_of(&body["secret"])).await;
}

#[tokio::test]
async fn delete_removes_the_key() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (id, secret) = app.key(&a, json!({ "name": "k", "scopes": [] })).await;
    let res = app.send(delete(&key_path(&id)).bearer(&a.token)).await;
    assert_eq!(res.expect(StatusCode::NO_CONTENT), Value::Null);
    let res = app.send(get(&key_path(&id)).bearer(&a.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "API_KEY_NOT_FOUND");
    assert_refused(&app, &secret, "API_KEY_INVALID").await;
    let res = app.send(delete(&key_path(&id)).bearer(&a.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "API_KEY_NOT_FOUND");
}

#[tokio::test]
async fn an_expired_key_is_401() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (id, secret) = app
        .key(
            &a,
            json!({ "name": "k", "scopes": [], "expires_at": "2030-01-01T01:00:00Z" }),
        )
        .await;
    assert_works(&app, &id, &secret).await;
    app.clock.advance(Duration::hours(2));
    assert_refused(&app, &secret, "API_KEY_EXPIRED").await;
}

#[tokio::test]
async fn a_rate_limited_key_gets_429_with_retry_after() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (_, secret) = app
        .key(
            &a,
            json!({ "name": "k", "scopes": ["data:read"], "rate_limit": { "max": 1, "window": 60 } }),
        )
        .await;
    app.send(get("/scoped").api_key(&secret))
        .await
        .expect(StatusCode::OK);
    let res = app.send(get("/scoped").api_key(&secret)).await;
    let error = assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(!error["message"].as_str().unwrap().contains(&secret));
    let retry: i64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Bearer is the same key, and the same window.
    let res = app.send(get("/scoped").bearer(&secret)).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    app.clock.advance(Duration::seconds(retry));
    app.send(get("/scoped").api_key(&secret))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn anonymous_routes_do_not_spend_a_presented_key() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (_, secret) = app
        .key(
            &a,
            json!({ "name": "k", "scopes": ["data:read"], "rate_limit": { "max": 1, "window": 60 } }),
        )
        .await;
    app.send(
        post("/auth/sign-in")
            .api_key(&secret)
            .json(json!({ "email": "a@example.com", "password": PASSWORD, "mode": "token" })),
    )
    .await
    .expect(StatusCode::OK);
    app.send(
        post("/auth/password/forgot")
            .bearer(&secret)
            .json(json!({ "email": "a@example.com" })),
    )
    .await
    .expect(StatusCode::ACCEPTED);
    app.send(get("/scoped").api_key(&secret))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_used_up_quota_is_429() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (_, once) = app
        .key(
            &a,
            json!({ "name": "k", "scopes": [], "quota": { "limit": 1 } }),
        )
        .await;
    app.send(get("/probe").api_key(&once))
        .await
        .expect(StatusCode::OK);
    let res = app.send(get("/probe").api_key(&once)).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "QUOTA_EXCEEDED");
    assert_eq!(res.header("retry-after"), None);
    let (_, refilled) = app
        .key(
            &a,
            json!({ "name": "k", "scopes": [], "quota": { "limit": 1, "refill_every": 3600 } }),
        )
        .await;
    app.send(get("/probe").api_key(&refilled))
        .await
        .expect(StatusCode::OK);
    let res = app.send(get("/probe").api_key(&refilled)).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "QUOTA_EXCEEDED");
    assert_eq!(res.header("retry-after"), Some("3600"));
}

// --- group keys ------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_group_key_needs_api_key_create_there() {
    let app = TestApp::new();
    let org = app.org().await;
    let body = |scopes: Value| json!({ "name": "g", "scopes": scopes, "group_id": org.group });
    let res = app
        .send(
            post("/auth/api-keys")
                .bearer(&org.owner.token)
                .json(body(json!(["data:write"]))),
        )
        .await;
    let created = res.expect(StatusCode::CREATED);
    assert_eq!(
        created["key"]["owner"],
        json!({ "type": "group", "id": org.group })
    );
    assert_eq!(created["key"]["created_by"], org.owner.id.as_str());
    let res = app
        .send(
            post("/auth/api-keys")
                .bearer(&org.member.token)
                .json(body(json!([]))),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    // A non-member learns nothing about the group.
    let res = app
        .send(
            post("/auth/api-keys")
                .bearer(&org.stranger.token)
                .json(body(json!([]))),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    // An admin may not give a key more than they hold.
    let res = app
        .send(
            post("/auth/api-keys")
                .bearer(&org.admin.token)
                .json(body(json!(["data:read"]))),
        )
        .await;
    let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    assert_eq!(error["required_scope"], "data:read");
    app.send(
        post("/auth/api-keys")
            .bearer(&org.admin.token)
            .json(body(json!(["member:read"]))),
    )
    .await
    .expect(StatusCode::CREATED);
    let res = app
        .send(post("/auth/api-keys").bearer(&org.owner.token).json(json!({
            "name": "g", "scopes": [], "group_id": unknown_id()
        })))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let res = app
        .send(post("/auth/api-keys").bearer(&org.owner.token).json(json!({
            "name": "g", "scopes": [], "group_id": "not-a-uuid"
        })))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
}

#[tokio::test]
async fn listing_group_keys_needs_api_key_read_there() {
    let app = TestApp::new();
    let org = app.org().await;
    let (id, secret) = app
        .key(
            &org.owner,
            json!({ "name": "g", "scopes": [], "group_id": org.group }),
        )
        .await;
    let path = format!("/auth/api-keys?group_id={}", org.group);
    for who in [&org.owner, &org.admin] {
        let page = app
            .send(get(&path).bearer(&who.token))
            .await
            .expect(StatusCode::OK);
        assert_eq!(list_ids(&page), [id.as_str()]);
        assert!(!page.to_string().contains(&secret));
    }
    let res = app.send(get(&path).bearer(&org.member.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app.send(get(&path).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    // A group's key is not the owner's own.
    let own = app
        .send(get("/auth/api-keys").bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(list_ids(&own), Vec::<String>::new());
    let res = app
        .send(get("/auth/api-keys?group_id=nope").bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}

#[tokio::test]
async fn managing_a_group_key_follows_the_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let (id, secret) = app
        .key(
            &org.owner,
            json!({ "name": "g", "scopes": ["member:read"], "group_id": org.group }),
        )
        .await;
    let path = key_path(&id);
    app.send(get(&path).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    let res = app.send(get(&path).bearer(&org.member.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app.send(get(&path).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "API_KEY_NOT_FOUND");
    // Widening the scopes needs holding them.
    let res = app
        .send(
            patch(&path)
                .bearer(&org.admin.token)
                .json(json!({ "scopes": ["billing:read"] })),
        )
        .await;
    let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    assert_eq!(error["required_scope"], "billing:read");
    let res = app
        .send(
            patch(&path)
                .bearer(&org.member.token)
                .json(json!({ "name": "x" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    app.send(
        patch(&path)
            .bearer(&org.owner.token)
            .json(json!({ "scopes": ["billing:read"] })),
    )
    .await
    .expect(StatusCode::OK);
    let res = app
        .send(post(&format!("{path}/revoke")).bearer(&org.member.token))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app
        .send(
            post(&format!("{path}/rotate"))
                .bearer(&org.stranger.token)
                .json(json!({})),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "API_KEY_NOT_FOUND");
    // Rotating hands over the new secret: the admin lacks billing:read, so may not.
    let res = app
        .send(
            post(&format!("{path}/rotate"))
                .bearer(&org.admin.token)
                .json(json!({})),
        )
        .await;
    let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    assert_eq!(error["required_scope"], "billing:read");
    assert_works(&app, &id, &secret).await;
    app.send(post(&format!("{path}/revoke")).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    assert_refused(&app, &secret, "API_KEY_REVOKED").await;
}

#[tokio::test]
async fn an_admin_cannot_change_an_owners_wider_group_key() {
    let app = TestApp::new();
    let org = app.org().await;
    let (id, _) = app
        .key(
            &org.owner,
            json!({ "name": "ci", "scopes": ["*:*"], "group_id": org.group,
                    "rate_limit": { "max": 10, "window": 60 } }),
        )
        .await;
    let path = key_path(&id);
    for body in [
        json!({ "name": "mine now" }),
        json!({ "rate_limit": null }),
        json!({ "metadata": { "x": 1 } }),
    ] {
        let res = app
            .send(patch(&path).bearer(&org.admin.token).json(body))
            .await;
        let error = assert_error(&res, StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
        assert_eq!(error["required_scope"], "*:*");
    }
    let key = app
        .send(get(&path).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(key["name"], "ci");
    assert_eq!(key["rate_limit"]["max"], 10);
}

/// Issue 12, item 8, as observed: someone pre-registers another person's address, mints a
/// `*:*` key, and the owner recovers the account with a password reset. Every credential
/// of the squatter ends: the bearer session, the refresh token, and the key on a guarded
/// route.
#[tokio::test]
async fn a_password_reset_ends_the_squatters_key() {
    let app = TestApp::new();
    let squatter = app.sign_up("owner@example.com").await;
    let (id, secret) = app
        .key(&squatter, json!({ "name": "mine now", "scopes": ["*:*"] }))
        .await;
    let scoped = || get("/scoped").api_key(&secret);
    app.send(scoped()).await.expect(StatusCode::OK);
    assert_works(&app, &id, &secret).await;

    // The owner recovers the account.
    app.send(post("/auth/password/forgot").json(json!({ "email": "owner@example.com" })))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("owner@example.com", auth_core::Purpose::ResetPassword);
    app.send(post("/auth/password/reset").json(json!({
        "email": "owner@example.com", "code": code, "password": "the owner's own password"
    })))
    .await
    .expect(StatusCode::OK);

    let res = app.send(get("/auth/me").bearer(&squatter.token)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = app
        .send(post("/auth/refresh").json(json!({ "refresh_token": squatter.refresh })))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = app.send(scoped()).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "API_KEY_REVOKED");
    assert_refused(&app, &secret, "API_KEY_REVOKED").await;
}
