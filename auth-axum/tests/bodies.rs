//! Bad request bodies on every POST and PATCH route that takes one: wrong content type,
//! invalid UTF-8, malformed JSON, wrong types, missing and unknown fields, 1 MB strings,
//! and bodies over the limit. Also query strings and the error of an unavailable store.

mod common;

use auth_axum::{ApiError, HttpConfig};
use auth_core::{AuthError, StoreError};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use common::*;
use serde_json::{Value, json};

const MB: usize = 1_000_000;

fn huge() -> String {
    "x".repeat(MB)
}

/// One route that takes a JSON body.
struct Route {
    method: Method,
    path: String,
    token: Option<String>,
    /// A body the route accepts, answered with `ok`.
    valid: Value,
    ok: StatusCode,
    /// The valid body with a field of the wrong type.
    wrong_type: Value,
    /// The valid body without a required field (None: every field is optional).
    missing: Option<Value>,
    /// A body with a 1 MB string, and the status and code it gets.
    huge: (Value, StatusCode, &'static str),
}

impl Route {
    fn request(&self) -> Req {
        let r = req(self.method.clone(), &self.path);
        match &self.token {
            Some(token) => r.bearer(token),
            None => r,
        }
    }
}

fn with(body: &Value, field: &str, value: Value) -> Value {
    let mut body = body.clone();
    body[field] = value;
    body
}

fn without(body: &Value, field: &str) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove(field);
    body
}

/// Every body-taking route, with what it needs set up.
async fn routes(app: &TestApp) -> Vec<Route> {
    let org = app.org().await;
    let owner = org.owner.token.clone();
    let (key, _) = app
        .key(&org.owner, json!({ "name": "k", "scopes": [] }))
        .await;
    let newcomer = app.sign_up("newcomer@example.com").await;
    let invite = app
        .send(
            post(&format!("/auth/groups/{}/invites", org.group))
                .bearer(&owner)
                .json(json!({})),
        )
        .await
        .expect(StatusCode::CREATED);
    let invite_token = str_of(&invite["token"]);
    let g = &org.group;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let password = "a long enough password";
    let mut routes = Vec::new();
    let mut add = |method: Method,
                   path: String,
                   token: Option<&str>,
                   valid: Value,
                   ok: StatusCode,
                   wrong: (&str, Value),
                   missing: Option<&str>,
                   huge: (&str, Value, StatusCode, &'static str)| {
        routes.push(Route {
            wrong_type: with(&valid, wrong.0, wrong.1),
            missing: missing.map(|field| without(&valid, field)),
            huge: (with(&valid, huge.0, huge.1), huge.2, huge.3),
            method,
            path,
            token: token.map(str::to_owned),
            valid,
            ok,
        });
    };
    add(
        Method::POST,
        "/auth/sign-up".into(),
        None,
        json!({ "email": "fresh@example.com", "password": password, "name": "F" }),
        StatusCode::CREATED,
        ("email", json!(["fresh@example.com"])),
        Some("password"),
        ("name", json!(huge()), unprocessable, "INVALID_INPUT"),
    );
    add(
        Method::POST,
        "/auth/sign-in".into(),
        None,
        json!({ "email": "owner@example.com", "password": PASSWORD, "mode": "token" }),
        StatusCode::OK,
        ("mode", json!(true)),
        Some("email"),
        ("email", json!(huge()), unprocessable, "INVALID_EMAIL"),
    );
    add(
        Method::POST,
        "/auth/refresh".into(),
        None,
        json!({ "refresh_token": newcomer.refresh }),
        StatusCode::OK,
        ("refresh_token", json!(12345)),
        Some("refresh_token"),
        (
            "refresh_token",
            json!(huge()),
            StatusCode::UNAUTHORIZED,
            "REFRESH_TOKEN_INVALID",
        ),
    );
    add(
        Method::POST,
        "/auth/verify-email".into(),
        None,
        json!({ "token": "x".repeat(43) }),
        StatusCode::BAD_REQUEST,
        ("token", json!({ "t": 1 })),
        None,
        (
            "token",
            json!(huge()),
            StatusCode::BAD_REQUEST,
            "CODE_INVALID",
        ),
    );
    add(
        Method::POST,
        "/auth/password/forgot".into(),
        None,
        json!({ "email": "owner@example.com" }),
        StatusCode::ACCEPTED,
        ("email", json!(null)),
        Some("email"),
        ("email", json!(huge()), unprocessable, "INVALID_EMAIL"),
    );
    add(
        Method::POST,
        "/auth/password/reset".into(),
        None,
        json!({ "token": "x".repeat(43), "password": password }),
        StatusCode::BAD_REQUEST,
        ("password", json!(123_456_789)),
        Some("password"),
        ("password", json!(huge()), unprocessable, "WEAK_PASSWORD"),
    );
    add(
        Method::POST,
        "/auth/api-keys".into(),
        Some(&owner),
        json!({ "name": "k2", "scopes": ["data:read"] }),
        StatusCode::CREATED,
        ("scopes", json!("data:read")),
        Some("name"),
        ("name", json!(huge()), unprocessable, "INVALID_INPUT"),
    );
    add(
        Method::PATCH,
        format!("/auth/api-keys/{key}"),
        Some(&owner),
        json!({ "name": "renamed" }),
        StatusCode::OK,
        ("name", json!(1.5)),
        None,
        ("name", json!(huge()), unprocessable, "INVALID_INPUT"),
    );
    add(
        Method::POST,
        format!("/auth/api-keys/{key}/rotate"),
        Some(&owner),
        json!({ "grace_seconds": 0 }),
        StatusCode::CREATED,
        ("grace_seconds", json!("0")),
        None,
        (
            "grace_seconds",
            json!(huge()),
            unprocessable,
            "INVALID_BODY",
        ),
    );
    add(
        Method::POST,
        "/auth/groups".into(),
        Some(&owner),
        json!({ "name": "Team", "parent_id": g }),
        StatusCode::CREATED,
        ("tags", json!(["a"])),
        Some("name"),
        ("name", json!(huge()), unprocessable, "INVALID_INPUT"),
    );
    add(
        Method::PATCH,
        format!("/auth/groups/{g}"),
        Some(&owner),
        json!({ "name": "Acme 2" }),
        StatusCode::OK,
        ("tags", json!("plan=pro")),
        None,
        (
            "extend",
            json!({ "blob": huge() }),
            unprocessable,
            "INVALID_INPUT",
        ),
    );
    add(
        Method::POST,
        format!("/auth/groups/{g}/members"),
        Some(&owner),
        json!({ "user_id": newcomer.id, "role": "member" }),
        StatusCode::CREATED,
        ("user_id", json!(7)),
        Some("user_id"),
        ("role", json!(huge()), unprocessable, "INVALID_INPUT"),
    );
    add(
        Method::PATCH,
        format!("/auth/groups/{g}/members/{}", org.member_membership),
        Some(&owner),
        json!({ "role": "admin" }),
        StatusCode::OK,
        ("role", json!(["admin"])),
        None,
        ("role", json!(huge()), unprocessable, "INVALID_INPUT"),
    );
    add(
        Method::POST,
        format!("/auth/groups/{g}/invites"),
        Some(&owner),
        json!({ "email": "invitee@example.com" }),
        StatusCode::CREATED,
        ("expires_at", json!(1_700_000_000)),
        None,
        ("email", json!(huge()), unprocessable, "INVALID_EMAIL"),
    );
    add(
        Method::POST,
        "/auth/invites/accept".into(),
        Some(&org.stranger.token),
        json!({ "token": invite_token }),
        StatusCode::OK,
        ("token", json!(false)),
        Some("token"),
        (
            "token",
            json!(huge()),
            StatusCode::NOT_FOUND,
            "INVITE_NOT_FOUND",
        ),
    );
    routes
}

/// Sends `r` and asserts `422 INVALID_BODY` with a message that echoes nothing secret.
async fn assert_invalid_body(app: &TestApp, route: &Route, r: Req, what: &str) {
    let res = app.send(r).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{} {} ({what}): {}",
        route.method,
        route.path,
        res.text()
    );
    assert_eq!(
        res.json()["error"]["code"],
        "INVALID_BODY",
        "{} {} ({what})",
        route.method,
        route.path
    );
    let error = assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    let message = error["message"].as_str().unwrap();
    for secret in [PASSWORD, "a long enough password", "123456789"] {
        assert!(!message.contains(secret), "{what}: {message}");
    }
}

#[tokio::test]
async fn every_body_route_refuses_bad_bodies_with_422() {
    // Direct adds allowed, so the members route has a valid body to accept.
    let app = TestApp::with_config(direct_adds());
    for route in routes(&app).await {
        let valid = route.valid.to_string();
        for content_type in [
            "",
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonp",
        ] {
            let r = route.request().raw(content_type, valid.clone());
            assert_invalid_body(&app, &route, r, content_type).await;
        }
        let bodies: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("truncated", valid.as_bytes()[..valid.len() - 1].to_vec()),
            ("not JSON", b"name=x".to_vec()),
            ("null", b"null".to_vec()),
            ("array", b"[true]".to_vec()),
            (
                "positional array",
                b"[\"a@example.com\", \"correct horse battery\"]".to_vec(),
            ),
            ("string", b"\"x\"".to_vec()),
            ("invalid UTF-8", b"{\"name\": \"\xff\xfe\"}".to_vec()),
            ("invalid UTF-8 outside strings", b"{\xc3\x28}".to_vec()),
            ("trailing garbage", format!("{valid} x").into_bytes()),
            ("wrong type", route.wrong_type.to_string().into_bytes()),
            (
                "unknown field",
                with(&route.valid, "unexpected", json!(1))
                    .to_string()
                    .into_bytes(),
            ),
        ];
        for (what, body) in bodies {
            let r = route.request().raw("application/json", body);
            assert_invalid_body(&app, &route, r, what).await;
        }
        if let Some(missing) = &route.missing {
            let r = route.request().json(missing.clone());
            assert_invalid_body(&app, &route, r, "missing field").await;
        }
        let (body, status, code) = &route.huge;
        let res = app.send(route.request().json(body.clone())).await;
        let error = assert_error(&res, *status, code);
        assert!(
            error["message"].as_str().unwrap().len() < 300,
            "{}",
            route.path
        );
        // The valid body is accepted (last: it may change state).
        let res = app.send(route.request().json(route.valid.clone())).await;
        assert_eq!(
            res.status,
            route.ok,
            "{} {}: {}",
            route.method,
            route.path,
            res.text()
        );
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = TestApp::new();
    let limit = app.state.config().unwrap().body_limit;
    assert_eq!(limit, 1 << 20);
    let org = app.org().await;
    let padded = |body: Value| {
        let mut text = body.to_string();
        text.pop();
        format!("{text}{}}}", " ".repeat(limit))
    };
    let cases = [
        post("/auth/sign-up").raw(
            "application/json",
            padded(json!({ "email": "a@b.co", "password": PASSWORD })),
        ),
        post("/auth/groups")
            .bearer(&org.owner.token)
            .raw("application/json", padded(json!({ "name": "x" }))),
        patch(&format!("/auth/groups/{}", org.group))
            .bearer(&org.owner.token)
            .raw("application/json", padded(json!({ "name": "x" }))),
        post("/auth/sign-in").raw(
            "application/json",
            json!({ "email": "a@b.co", "password": "p".repeat(limit) }).to_string(),
        ),
    ];
    for r in cases {
        let res = app.send(r).await;
        assert_error(&res, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    }
    // Just under the limit is read (and then judged on its content).
    let body = json!({ "email": "a@b.co", "password": "p".repeat(limit - 100) }).to_string();
    assert!(body.len() < limit);
    let res = app
        .send(post("/auth/sign-in").raw("application/json", body))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let mut http = HttpConfig::localhost(ORIGIN).unwrap();
    http.body_limit = 1024;
    let app = TestApp::with_http(http);
    let res = app
        .send(post("/auth/sign-up").json(json!({
            "email": "a@example.com", "password": PASSWORD, "name": "n".repeat(2000)
        })))
        .await;
    assert_error(&res, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    app.sign_up("a@example.com").await;
}

#[tokio::test]
async fn huge_sign_up_fields_are_422_validation_errors() {
    let app = TestApp::new();
    for (field, code) in [
        ("email", "INVALID_EMAIL"),
        ("password", "WEAK_PASSWORD"),
        ("name", "INVALID_INPUT"),
    ] {
        let mut body = json!({ "email": "a@example.com", "password": PASSWORD, "name": "A" });
        body[field] = json!(huge());
        let res = app.send(post("/auth/sign-up").json(body)).await;
        let error = assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
        assert!(error["message"].as_str().unwrap().len() < 300);
    }
    // Multi-byte characters: 1 MB of two-byte characters.
    let res = app
        .send(post("/auth/sign-up").json(json!({
            "email": "a@example.com", "password": "é".repeat(MB / 2)
        })))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "WEAK_PASSWORD");
}

#[tokio::test]
async fn json_content_types_with_parameters_and_suffixes_are_accepted() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    for (i, content_type) in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({ "name": format!("Group {i}") }).to_string();
        app.send(
            post("/auth/groups")
                .bearer(&a.token)
                .raw(content_type, body),
        )
        .await
        .expect(StatusCode::CREATED);
    }
}

#[tokio::test]
async fn type_errors_do_not_echo_what_was_sent() {
    let app = TestApp::new();
    for body in [
        json!({ "email": "a@example.com", "password": 123_456_789 }),
        json!({ "email": "a@example.com", "password": "s3cret-Passphrase!", "mode": 1 }),
        json!({ "email": { "s3cret-Passphrase!": 1 }, "password": "x" }),
    ] {
        let res = app.send(post("/auth/sign-in").json(body)).await;
        let error = assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
        let message = error["message"].as_str().unwrap();
        assert!(
            !message.contains("123456789") && !message.contains("s3cret"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn bad_query_strings_are_422() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    for (path, code) in [
        ("/auth/sessions?limit=%FF", "INVALID_INPUT"),
        ("/auth/sessions?cursor=%FF%FE", "INVALID_CURSOR"),
        ("/auth/groups?limit=1e3", "INVALID_INPUT"),
        ("/auth/groups?limit=1&limit=2", "INVALID_INPUT"),
        ("/auth/api-keys?revoked=maybe", "INVALID_INPUT"),
        ("/auth/api-keys?group_id=%00", "INVALID_INPUT"),
        ("/auth/api-keys?cursor=abc", "INVALID_CURSOR"),
    ] {
        let res = app.send(get(path).bearer(&a.token)).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
}

#[tokio::test]
async fn an_unavailable_store_is_503_with_retry_after_and_no_details() {
    let error = AuthError::from(StoreError::unavailable("connection refused to db:5432"));
    let response = ApiError::from(error).into_response();
    let status = response.status();
    let headers = response.headers().clone();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let res = Res {
        status,
        headers,
        body,
    };
    let error = assert_error(&res, StatusCode::SERVICE_UNAVAILABLE, "STORE_UNAVAILABLE");
    assert_eq!(error["message"], "the service is temporarily unavailable");
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(!res.text().contains("5432"));
}
