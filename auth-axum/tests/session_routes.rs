//! `/auth/sessions`: list, revoke one, revoke the others.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

#[tokio::test]
async fn list_marks_the_current_session() {
    let app = TestApp::new();
    let first = app.sign_up("a@example.com").await;
    let second = app.sign_in("a@example.com").await;
    app.sign_up("b@example.com").await;
    let page = app
        .send(get("/auth/sessions").bearer(&second.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        ids(&page),
        [first.session_id.as_str(), second.session_id.as_str()]
    );
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["current"], false);
    assert_eq!(items[1]["current"], true);
    assert!(page["next_cursor"].is_null());
    assert!(items.iter().all(|s| s.get("token_hash").is_none()));
    assert!(!page.to_string().contains(&first.token));
}

#[tokio::test]
async fn list_pages_with_a_cursor() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    for _ in 0..2 {
        app.sign_in("a@example.com").await;
    }
    let first = app
        .send(get("/auth/sessions?limit=2").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids(&first).len(), 2);
    let cursor = str_of(&first["next_cursor"]);
    let second = app
        .send(get(&format!("/auth/sessions?limit=2&cursor={cursor}")).bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids(&second).len(), 1);
    assert!(!ids(&first).contains(&ids(&second)[0]));
}

#[tokio::test]
async fn list_refuses_bad_paging() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    for (query, code) in [
        ("limit=0", "INVALID_INPUT"),
        ("limit=1001", "INVALID_INPUT"),
        ("limit=abc", "INVALID_INPUT"),
        ("limit=-1", "INVALID_INPUT"),
        ("colour=blue", "INVALID_INPUT"),
        ("cursor=not-a-cursor", "INVALID_CURSOR"),
    ] {
        let res = app
            .send(get(&format!("/auth/sessions?{query}")).bearer(&a.token))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
}

#[tokio::test]
async fn session_routes_need_a_session() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let (_, key) = app.key(&a, json!({ "name": "k", "scopes": ["*:*"] })).await;
    let id = a.session_id.clone();
    let routes = || {
        [
            get("/auth/sessions"),
            post("/auth/sessions/revoke-others"),
            delete(&format!("/auth/sessions/{id}")),
        ]
    };
    for r in routes() {
        let res = app.send(r).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
        assert_eq!(res.header("www-authenticate"), Some(CHALLENGE));
    }
    for r in routes() {
        let res = app.send(r.api_key(&key)).await;
        assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    app.send(get("/auth/me").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn revoke_one_of_your_sessions() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let other = app.sign_in("a@example.com").await;
    let res = app
        .send(delete(&format!("/auth/sessions/{}", other.session_id)).bearer(&a.token))
        .await;
    assert_eq!(res.expect(StatusCode::NO_CONTENT), Value::Null);
    let me = app.send(get("/auth/me").bearer(&other.token)).await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    let page = app
        .send(get("/auth/sessions").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids(&page), [a.session_id.as_str()]);
    // Revoking the current one signs you out.
    app.send(delete(&format!("/auth/sessions/{}", a.session_id)).bearer(&a.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    let me = app.send(get("/auth/me").bearer(&a.token)).await;
    assert_error(&me, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
}

#[tokio::test]
async fn another_users_session_is_not_found() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let b = app.sign_up("b@example.com").await;
    let res = app
        .send(delete(&format!("/auth/sessions/{}", b.session_id)).bearer(&a.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "SESSION_NOT_FOUND");
    app.send(get("/auth/me").bearer(&b.token))
        .await
        .expect(StatusCode::OK);
    let unknown = app
        .send(delete(&format!("/auth/sessions/{}", unknown_id())).bearer(&a.token))
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "SESSION_NOT_FOUND");
}

#[tokio::test]
async fn malformed_session_ids_are_422() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    for id in [
        "not-a-uuid",
        "123",
        "%20",
        "%FF",
        "00000000-0000-0000-0000-00000000000g",
    ] {
        let res = app
            .send(delete(&format!("/auth/sessions/{id}")).bearer(&a.token))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
}

#[tokio::test]
async fn revoke_others_leaves_only_the_current_session() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let b = app.sign_in("a@example.com").await;
    let c = app.sign_in("a@example.com").await;
    let stranger = app.sign_up("z@example.com").await;
    let body = app
        .send(post("/auth/sessions/revoke-others").bearer(&b.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(body, json!({ "revoked": 2 }));
    let page = app
        .send(get("/auth/sessions").bearer(&b.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids(&page), [b.session_id.as_str()]);
    assert_eq!(page["items"][0]["current"], true);
    for token in [&a.token, &c.token] {
        let res = app.send(get("/auth/me").bearer(token)).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
    }
    app.send(get("/auth/me").bearer(&stranger.token))
        .await
        .expect(StatusCode::OK);
    let again = app
        .send(post("/auth/sessions/revoke-others").bearer(&b.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(again, json!({ "revoked": 0 }));
}

#[tokio::test]
async fn list_shows_each_sessions_device() {
    let app = TestApp::new();
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                  Chrome/131.0.0.0 Safari/537.36";
    let res = app
        .send(
            post("/auth/sign-up")
                .header("user-agent", chrome)
                .json(json!({ "email": "d@example.com", "password": PASSWORD, "mode": "token" })),
        )
        .await;
    let token = str_of(&res.expect(StatusCode::CREATED)["session_token"]);
    app.sign_in("d@example.com").await;
    let page = app
        .send(get("/auth/sessions").bearer(&token))
        .await
        .expect(StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(
        items[0]["device"],
        json!({ "browser": "Chrome 131", "os": "Linux" })
    );
    assert_eq!(items[0]["user_agent"], chrome);
    assert_eq!(items[0]["current"], true);
    // No user agent: unknown, not an error.
    assert_eq!(
        items[1]["device"],
        json!({ "browser": "Unknown", "os": "Unknown" })
    );
}
