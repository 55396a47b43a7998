//! SCIM over HTTP on the demo (SQLite): an admin turns SCIM on for a connection and gets
//! the token once; the directory provisions with it, in the shapes Entra ID and Okta
//! send; answers are `application/scim+json` with ETags, errors SCIM error messages.

use auth_axum::AuthState;
use auth_core::SecretKey;
use auth_sqlx::SqliteStore;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use example_server::{app, auth_builder, http_config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ORIGIN: &str = "http://127.0.0.1:3000";

struct Reply {
    status: StatusCode,
    content_type: String,
    etag: Option<String>,
    body: Value,
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    bearer: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {bearer}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() {
        request = request.header("content-type", "application/scim+json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let etag = header("etag");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        etag,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// The demo app, and the SCIM token of a connection of the organization `Acme`.
async fn provisioned() -> (axum::Router, String) {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let auth = auth_builder(store, SecretKey::generate(), ORIGIN)
        .build()
        .unwrap();
    let app = app(AuthState::new(auth, http_config(ORIGIN, &[]).unwrap())).unwrap();
    let json_call = |method: &'static str, path: String, bearer: String, body: Value| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {bearer}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let (status, body) = json_call(
        "POST",
        "/auth/sign-up".into(),
        String::new(),
        json!({ "email": "admin@acme.example", "password": "correct horse battery",
                 "mode": "token" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let session = body["session_token"].as_str().unwrap().to_owned();
    let (status, group) = json_call(
        "POST",
        "/auth/groups".into(),
        session.clone(),
        json!({ "name": "Acme" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let base = format!("/auth/groups/{}", group["id"].as_str().unwrap());
    let (status, connection) = json_call(
        "POST",
        format!("{base}/sso/connections"),
        session.clone(),
        json!({ "name": "Entra", "config": {
            "protocol": "oidc", "issuer": "https://login.example", "client_id": "c1" } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    let scim_path = format!(
        "{base}/sso/connections/{}/scim",
        connection["id"].as_str().unwrap()
    );
    let (status, config) = json_call(
        "PUT",
        scim_path.clone(),
        session.clone(),
        json!({ "enabled": true, "deprovision": "soft" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    let token = config["token"].as_str().expect("issued once").to_owned();
    let (status, again) = json_call("PUT", scim_path, session, json!({ "enabled": true })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(again.get("token").is_none(), "the token is shown once");
    (app, token)
}

#[tokio::test]
async fn a_directory_provisions_users_and_groups_over_scim() {
    let (app, token) = provisioned().await;
    let spc = call(
        &app,
        "GET",
        "/scim/v2/ServiceProviderConfig",
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.content_type, "application/scim+json");
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    let schemas = call(&app, "GET", "/scim/v2/Schemas", &token, &[], None).await;
    assert_eq!(schemas.body["totalResults"], 3);

    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "Ada@acme.example",
        "active": true,
        "emails": [{"value": "ada@acme.example", "type": "work", "primary": true}],
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
    });
    let created = call(
        &app,
        "POST",
        "/scim/v2/Users",
        &token,
        &[],
        Some(user.clone()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.etag.as_deref(), Some("W/\"1\""));
    assert_eq!(
        created.body["meta"]["location"],
        format!("{ORIGIN}/scim/v2/Users/{id}")
    );
    let taken = call(&app, "POST", "/scim/v2/Users", &token, &[], Some(user)).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.body["scimType"], "uniqueness");
    assert_eq!(taken.body["status"], "409");

    let filtered = call(
        &app,
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22ada%40ACME.example%22&attributes=userName",
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(filtered.body["totalResults"], 1, "{}", filtered.body);
    assert!(filtered.body["Resources"][0].get("emails").is_none());

    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    });
    let stale = call(
        &app,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        &token,
        &[("if-match", "W/\"7\"")],
        Some(deactivate.clone()),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let patched = call(
        &app,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        &token,
        &[("if-match", "W/\"1\"")],
        Some(deactivate),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.etag.as_deref(), Some("W/\"2\""));

    let group = call(
        &app,
        "POST",
        "/scim/v2/Groups",
        &token,
        &[],
        Some(json!({"displayName": "Engineering", "members": [{"value": id}]})),
    )
    .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
    assert_eq!(group.body["members"][0]["value"], Value::from(id.clone()));
    let gid = group.body["id"].as_str().unwrap();
    let removed = call(
        &app,
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        &token,
        &[],
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]
        })),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert!(removed.body.get("members").is_none());

    let deleted = call(
        &app,
        "DELETE",
        &format!("/scim/v2/Users/{id}"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(
        &app,
        "GET",
        &format!("/scim/v2/Users/{id}"),
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["status"], "404");
}

#[tokio::test]
async fn bad_tokens_bodies_and_paths_get_scim_errors() {
    let (app, token) = provisioned().await;
    let anonymous = call(&app, "GET", "/scim/v2/Users", "wrong", &[], None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.content_type, "application/scim+json");
    let unknown = call(&app, "GET", "/scim/v2/Nothing", &token, &[], None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let not_json = Request::builder()
        .method("POST")
        .uri("/scim/v2/Users")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Body::from("{not json"))
        .unwrap();
    let response = app.clone().oneshot(not_json).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let bad_filter = call(
        &app,
        "GET",
        "/scim/v2/Users?filter=title%20eq%20%22x%22",
        &token,
        &[],
        None,
    )
    .await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_filter.body["scimType"], "invalidFilter");
    let bad_count = call(&app, "GET", "/scim/v2/Users?count=many", &token, &[], None).await;
    assert_eq!(bad_count.status, StatusCode::BAD_REQUEST);
    let no_email = call(
        &app,
        "POST",
        "/scim/v2/Users",
        &token,
        &[],
        Some(json!({"userName": "x"})),
    )
    .await;
    assert_eq!(no_email.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_email.body["scimType"], "invalidValue");
    let bulk = call(&app, "POST", "/scim/v2/Bulk", &token, &[], Some(json!({}))).await;
    assert_eq!(bulk.status, StatusCode::NOT_IMPLEMENTED);
}
