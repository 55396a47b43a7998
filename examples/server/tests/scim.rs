//! SCIM over HTTP on the demo (SQLite): an admin turns SCIM on for a connection and gets
//! the token once; the directory provisions with it, in the shapes Entra ID and Okta
//! send; answers are `application/scim+json` with ETags, errors SCIM error messages.

use auth_axum::AuthState;
use auth_core::{SecretKey, UserStore};
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
async fn provisioned() -> (axum::Router, String, auth_core::Auth<SqliteStore>) {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let auth = auth_builder(store, SecretKey::generate(), ORIGIN)
        .build()
        .unwrap();
    let app = app(AuthState::new(
        auth.clone(),
        http_config(ORIGIN, &[]).unwrap(),
    ))
    .unwrap();
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
    (app, token, auth)
}

#[tokio::test]
async fn a_directory_provisions_users_and_groups_over_scim() {
    let (app, token, _) = provisioned().await;
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
    assert_eq!(spc.body["bulk"]["supported"], true);
    assert_eq!(spc.body["bulk"]["maxOperations"], 1000);
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
    let (app, token, _) = provisioned().await;
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
    // Names are checked as the library checks its own: no control characters.
    for (path, body) in [
        (
            "/scim/v2/Users",
            json!({"userName": "bell\u{7}", "emails": [{"value": "bell@acme.example"}]}),
        ),
        (
            "/scim/v2/Users",
            json!({"userName": "nina", "displayName": "Nina\u{1b}[31m",
                   "emails": [{"value": "nina@acme.example"}]}),
        ),
        ("/scim/v2/Groups", json!({"displayName": "Ops\u{0}"})),
    ] {
        let refused = call(&app, "POST", path, &token, &[], Some(body)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert_eq!(refused.body["scimType"], "invalidValue");
    }
    let bulk = call(&app, "POST", "/scim/v2/Bulk", &token, &[], Some(json!({}))).await;
    assert_eq!(bulk.status, StatusCode::BAD_REQUEST);
    assert_eq!(bulk.body["scimType"], "invalidSyntax");
    let too_large = Request::builder()
        .method("POST")
        .uri("/scim/v2/Bulk")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Body::from(vec![b' '; auth_axum::scim::SCIM_BODY_LIMIT + 1]))
        .unwrap();
    let response = app.clone().oneshot(too_large).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["status"], "413");
}

/// A bulk request's operation creating the user `name`, as `bulkId` `name`.
fn bulk_user(name: &str) -> Value {
    json!({
        "method": "POST", "path": "/Users", "bulkId": name,
        "data": {"userName": name, "emails": [{"value": format!("{name}@acme.example"), "primary": true}]}
    })
}

#[tokio::test]
async fn a_bulk_request_creates_users_and_a_group_that_refers_to_them() {
    let (app, token, auth) = provisioned().await;
    // The group comes first but refers to users created after it: it runs after them.
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "team",
             "data": {"displayName": "Team", "members": [{"value": "bulkId:ann"}, {"value": "bulkId:bob"}]}},
            bulk_user("ann"),
            bulk_user("bob"),
            {"method": "PATCH", "path": "/Users/bulkId:bob", "data": patch_op(json!([
                {"op": "replace", "path": "active", "value": false}]))},
            bulk_user("ann2"),
            {"method": "PATCH", "path": "/Users/bulkId:nobody", "data": patch_op(json!([]))},
        ]
    });
    let answer = call(&app, "POST", "/scim/v2/Bulk", &token, &[], Some(request)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    let operations = answer.body["Operations"].as_array().unwrap();
    let summary: Vec<(Option<&str>, &str, &str)> = operations
        .iter()
        .map(|o| {
            (
                o["bulkId"].as_str(),
                o["method"].as_str().unwrap(),
                o["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some("ann"), "POST", "201"),
            (Some("bob"), "POST", "201"),
            (Some("team"), "POST", "201"),
            (None, "PATCH", "200"),
            (Some("ann2"), "POST", "201"),
            (None, "PATCH", "400"),
        ]
    );
    let team = operations[2]["location"].as_str().unwrap();
    let group = call(
        &app,
        "GET",
        team.strip_prefix(ORIGIN).unwrap(),
        &token,
        &[],
        None,
    )
    .await;
    let members: Vec<&str> = group.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let created_id = |i: usize| {
        operations[i]["location"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
    };
    let mut expected = vec![created_id(0), created_id(1)];
    expected.sort_unstable();
    let mut members = members;
    members.sort_unstable();
    assert_eq!(members, expected);
    assert_eq!(operations[3]["version"], "W/\"2\"");
    assert_eq!(
        operations[5]["location"],
        format!("{ORIGIN}/scim/v2/Users/bulkId:nobody")
    );
    assert_eq!(operations[5]["response"]["scimType"], "invalidValue");
    let bob = auth
        .store()
        .get_user_by_email(&auth_core::Email::parse("bob@acme.example").unwrap())
        .await
        .unwrap()
        .expect("bob was created");
    let filter = auth_core::members::MemberFilter {
        user_id: Some(bob.id),
        ..Default::default()
    };
    let query = auth_core::ListQuery::new(filter, auth_core::members::MemberOrder::CreatedAt);
    let held = auth
        .members()
        .list(&auth_core::Caller::System, query)
        .await
        .unwrap()
        .items;
    assert_eq!(held.len(), 2, "the organization and the team");
    assert!(
        held.iter()
            .all(|m| m.status == auth_core::members::MemberStatus::Suspended),
        "{held:?}"
    );

    // failOnErrors: the request stops after the first failure; a cycle fails with 409.
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [bulk_user("ann"), bulk_user("cy")]
    });
    let answer = call(&app, "POST", "/scim/v2/Bulk", &token, &[], Some(request)).await;
    let operations = answer.body["Operations"].as_array().unwrap();
    assert_eq!(operations.len(), 1, "{}", answer.body);
    assert_eq!(operations[0]["status"], "409");
    assert!(operations[0].get("location").is_none());
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
        ]
    });
    let answer = call(&app, "POST", "/scim/v2/Bulk", &token, &[], Some(request)).await;
    let statuses: Vec<&str> = answer.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["409", "409"]);
}

/// The body of a PatchOp request.
fn patch_op(operations: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    })
}

/// How many of the organization's memberships have `status`.
async fn memberships(
    auth: &auth_core::Auth<SqliteStore>,
    group: auth_core::GroupId,
    status: auth_core::members::MemberStatus,
) -> usize {
    let filter = auth_core::members::MemberFilter {
        group_id: Some(group),
        status: Some(status),
        ..Default::default()
    };
    let mut query = auth_core::ListQuery::new(filter, auth_core::members::MemberOrder::CreatedAt);
    query.limit = Some(1000);
    let mut count = 0;
    loop {
        let page = auth
            .members()
            .list(&auth_core::Caller::System, query.clone())
            .await
            .unwrap();
        count += page.items.len();
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return count,
        }
    }
}

/// What an enterprise directory does over a working day: 1,000 users and 20 groups of 50,
/// then profile updates, membership moves in Okta's batches, 50 deactivations and 50
/// deletions; afterwards the library's users and memberships are exactly as expected.
/// `--nocapture` prints how long it took (recorded in docs/benchmarks.md).
#[tokio::test]
async fn a_directory_provisions_a_thousand_users_and_twenty_groups() {
    let (app, token, auth) = provisioned().await;
    let started = std::time::Instant::now();
    let mut ids = Vec::new();
    for i in 0..1000 {
        let user = json!({
            "userName": format!("user-{i}@acme.example"),
            "externalId": format!("e-{i}"),
            "name": {"givenName": "User", "familyName": format!("{i}")},
            "emails": [{"value": format!("user-{i}@acme.example"), "type": "work", "primary": true}],
            "active": true
        });
        let created = call(&app, "POST", "/scim/v2/Users", &token, &[], Some(user)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let mut groups = Vec::new();
    for g in 0..20 {
        let members: Vec<Value> = ids[g * 50..g * 50 + 50]
            .iter()
            .map(|id| json!({"value": id}))
            .collect();
        let group = json!({"displayName": format!("Team {g}"), "members": members});
        let created = call(&app, "POST", "/scim/v2/Groups", &token, &[], Some(group)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        groups.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let provisioned_in = started.elapsed();
    for id in &ids[..100] {
        let rename =
            patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}]));
        let patched = call(
            &app,
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            &token,
            &[],
            Some(rename),
        )
        .await;
        assert_eq!(patched.status, StatusCode::OK);
    }
    // Okta moves 10 people from Team 0 to Team 1: removals and additions in batches.
    let moved = &ids[..10];
    let removals: Vec<Value> = moved
        .iter()
        .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
        .collect();
    let additions: Vec<Value> = moved.iter().map(|id| json!({"value": id})).collect();
    for (group, body) in [
        (&groups[0], patch_op(Value::Array(removals))),
        (
            &groups[1],
            patch_op(json!([{"op": "add", "path": "members", "value": additions}])),
        ),
    ] {
        let patched = call(
            &app,
            "PATCH",
            &format!("/scim/v2/Groups/{group}"),
            &token,
            &[],
            Some(body),
        )
        .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    }
    for id in &ids[900..950] {
        let off = patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        let patched = call(
            &app,
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            &token,
            &[],
            Some(off),
        )
        .await;
        assert_eq!(patched.status, StatusCode::OK);
    }
    for id in &ids[950..] {
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
    }
    let total = started.elapsed();
    println!(
        "provisioned 1,000 users and 20 groups in {provisioned_in:?}; the whole day in {total:?}"
    );

    let count = |filter: &str| {
        let path = format!(
            "/scim/v2/Users?count=0&filter={}",
            filter.replace(' ', "%20").replace('"', "%22")
        );
        let app = app.clone();
        let token = token.clone();
        async move { call(&app, "GET", &path, &token, &[], None).await.body["totalResults"].clone() }
    };
    assert_eq!(count("active eq true").await, 900);
    assert_eq!(count("active eq false").await, 50);
    assert_eq!(count(r#"displayName eq "renamed""#).await, 100);
    let team = |g: usize| {
        let path = format!("/scim/v2/Groups/{}", groups[g]);
        let app = app.clone();
        let token = token.clone();
        async move {
            call(&app, "GET", &path, &token, &[], None).await.body["members"]
                .as_array()
                .map_or(0, Vec::len)
        }
    };
    // Team 18's people are deactivated (still members, suspended); Team 19's were deleted,
    // so the directory no longer has them.
    assert_eq!(
        (team(0).await, team(1).await, team(18).await, team(19).await),
        (40, 60, 50, 0)
    );

    // The library: the admin and 900 active members; 100 suspended (deactivated or
    // deleted by the directory, soft); every provisioned account still exists.
    let org = auth
        .store()
        .get_user_by_email(&auth_core::Email::parse("user-0@acme.example").unwrap())
        .await
        .unwrap()
        .unwrap();
    let org_group = auth
        .members()
        .groups_of(
            &auth_core::Caller::System,
            org.id,
            auth_core::ListQuery::new((), auth_core::members::MemberOrder::CreatedAt),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|m| m.group.parent_id.is_none())
        .unwrap()
        .group
        .id;
    use auth_core::members::MemberStatus;
    assert_eq!(
        memberships(&auth, org_group, MemberStatus::Active).await,
        901
    );
    assert_eq!(
        memberships(&auth, org_group, MemberStatus::Suspended).await,
        100
    );
    for i in [0, 949, 999] {
        let email = auth_core::Email::parse(&format!("user-{i}@acme.example")).unwrap();
        assert!(
            auth.store()
                .get_user_by_email(&email)
                .await
                .unwrap()
                .is_some()
        );
    }
}
