//! `/openapi.json`: valid, documents exactly the routes of the domain routers (read from
//! their sources), and every documented operation is really routed.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// How many routes the domain routers register (and the document lists).
const ROUTES: usize = 42;

/// The routes that take no credential (all POST with a JSON body).
const ANONYMOUS: [&str; 9] = [
    "/auth/sign-up",
    "/auth/sign-in",
    "/auth/sign-in/email",
    "/auth/sign-in/email/send",
    "/auth/refresh",
    "/auth/verify-email",
    "/auth/email/change/confirm",
    "/auth/password/forgot",
    "/auth/password/reset",
];

/// The sources of the domain routers.
const DOMAIN_ROUTERS: [&str; 3] = [
    include_str!("../src/routes/core.rs"),
    include_str!("../src/routes/groups.rs"),
    include_str!("../src/routes/api_keys.rs"),
];

/// (method, path) of every route the domain routers register, read from their sources.
fn registered_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for source in DOMAIN_ROUTERS {
        registered_in(source, &mut routes);
    }
    routes
}

fn registered_in(source: &str, routes: &mut BTreeSet<(String, String)>) {
    let start = source.find("let routes = Router::new()").unwrap();
    let end = start + source[start..].find(".with_state(").unwrap();
    for segment in source[start..end].split(".route(").skip(1) {
        let path = segment.split('"').nth(1).unwrap();
        let bytes = segment.as_bytes();
        for method in METHODS {
            let needle = format!("{method}(");
            let called = segment.match_indices(&needle).any(|(i, _)| {
                i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')
            });
            if called {
                routes.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
}

async fn document(app: &TestApp) -> Value {
    let res = app.send(get("/openapi.json")).await;
    let doc = res.expect(StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("application/json"));
    doc
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_document_is_openapi_with_the_security_schemes() {
    let app = TestApp::new();
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["info"]["title"], "auth-rs JSON API");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for scheme in ["bearer", "api_key", "cookie"] {
        assert!(schemes.contains_key(scheme), "{scheme}");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // Every operation documents its answers.
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_route_is_documented_and_nothing_else() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let registered = registered_routes();
    assert_eq!(registered.len(), ROUTES, "{registered:#?}");
    assert_eq!(documented(&doc), registered);
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let ops = documented(&doc);
    assert_eq!(ops.len(), ROUTES);
    for (method, path) in ops {
        let concrete: String = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') && part.ends_with('}') {
                    unknown_id()
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = app.send(req(method.clone(), &concrete)).await;
        assert_ne!(
            res.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(
            !(res.status == StatusCode::NOT_FOUND && res.body.is_empty()),
            "{method} {path} is not routed"
        );
        // Without credentials or a body, each answers with a JSON error of its own.
        let expected = if ANONYMOUS.contains(&path.as_str()) {
            (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY")
        } else {
            (StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN")
        };
        assert_eq!(res.status, expected.0, "{method} {path}: {}", res.text());
        assert_error(&res, expected.0, expected.1);
    }
}

#[tokio::test]
async fn unrouted_paths_and_methods_are_404_and_405() {
    let app = TestApp::new();
    let res = app.send(get("/auth/nothing-here")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app.send(req(Method::PUT, "/auth/me")).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn responses_carry_a_request_id_and_no_store() {
    let app = TestApp::new();
    let res = app.send(get("/auth/me")).await;
    assert!(res.header("x-request-id").is_some_and(|id| !id.is_empty()));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let res = app
        .send(get("/openapi.json").header("x-request-id", "req-42"))
        .await;
    assert_eq!(res.header("x-request-id"), Some("req-42"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
}
