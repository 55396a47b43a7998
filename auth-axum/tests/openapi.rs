//! `/openapi.json`: valid, documents exactly the routes of the domain routers (read from
//! their sources), and every documented operation is really routed.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// How many routes the domain routers register (and the document lists): the SSO
/// sign-in start with `oidc` or `saml`, the callback with `oidc`, the ACS and the SP
/// metadata with `saml`.
const ROUTES: usize =
    74 + if cfg!(any(feature = "oidc", feature = "saml")) {
        1
    } else {
        0
    } + if cfg!(feature = "oidc") { 1 } else { 0 }
        + if cfg!(feature = "saml") { 2 } else { 0 };

/// The routes that answer a browser with a redirect, whatever comes (the OIDC callback,
/// the SAML ACS), with where an empty request lands.
const REDIRECTS: [(&str, &str); 2] = [
    ("/auth/sso/oidc/callback", "/?sso_error=OIDC_STATE_INVALID"),
    (
        "/auth/sso/saml/{connection_id}/acs",
        "/?sso_error=INVALID_INPUT",
    ),
];

/// The public lookup by id (the SAML SP metadata): an unknown id is a JSON 404.
const PUBLIC_LOOKUP: &str = "/auth/sso/saml/{connection_id}/metadata";

/// The routes that take no credential (all POST with a JSON body).
const ANONYMOUS: [&str; 17] = [
    "/auth/sso/sign-in",
    "/auth/mfa/challenge",
    "/auth/mfa/challenge/passkey/start",
    "/auth/mfa/challenge/passkey/finish",
    "/auth/passkeys/sign-in/start",
    "/auth/passkeys/sign-in/finish",
    "/auth/passkeys/sign-up/start",
    "/auth/passkeys/sign-up/finish",
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
const DOMAIN_ROUTERS: &[&str] = &[
    include_str!("../src/routes/core.rs"),
    include_str!("../src/routes/groups.rs"),
    include_str!("../src/routes/api_keys.rs"),
    include_str!("../src/routes/totp.rs"),
    include_str!("../src/routes/passkeys.rs"),
    include_str!("../src/routes/sso.rs"),
    include_str!("../src/routes/scim_admin.rs"),
    #[cfg(any(feature = "oidc", feature = "saml"))]
    include_str!("../src/routes/sso_sign_in.rs"),
    #[cfg(feature = "oidc")]
    include_str!("../src/routes/sso_oidc.rs"),
    #[cfg(feature = "saml")]
    include_str!("../src/routes/sso_saml.rs"),
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
        if let Some((_, landing)) = REDIRECTS.iter().find(|(p, _)| *p == path) {
            // A refused answer goes back to the page with the code, never an error page.
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{method} {path}");
            let location = res.header("location").unwrap_or_default();
            assert_eq!(location, *landing, "{method} {path}");
            continue;
        }
        // Without credentials or a body, each answers with a JSON error of its own.
        let expected = if path == PUBLIC_LOOKUP {
            (StatusCode::NOT_FOUND, "SSO_CONNECTION_NOT_FOUND")
        } else if ANONYMOUS.contains(&path.as_str()) {
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

/// The statuses the document lists for `method path`.
fn documented_statuses(doc: &Value, method: &str, path: &str) -> BTreeSet<String> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
        .keys()
        .cloned()
        .collect()
}

/// Asserts that `res`, an answer of `method path`, has a status the document lists.
fn assert_documented(doc: &Value, method: &str, path: &str, res: &Res) {
    let statuses = documented_statuses(doc, method, path);
    assert!(
        statuses.contains(res.status.as_str()),
        "{method} {path} answered {} ({}), documented: {statuses:?}",
        res.status,
        res.text()
    );
}

/// Every operation lists what the extractors it goes through can answer: a guarded one
/// the credential refusals, one with a body the body refusals, one with parameters the
/// parameter refusal, one with an id in its path a 404, and every one a 503.
#[tokio::test]
async fn every_operation_documents_the_answers_its_extractors_give() {
    let app = TestApp::new();
    let doc = document(&app).await;
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let statuses = documented_statuses(&doc, &method, &path);
        let mut expected = vec!["503"];
        if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
            expected.extend(["401", "403", "429"]);
        }
        if op["requestBody"].is_object() {
            expected.extend(["413", "422"]);
        }
        let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
        if !parameters.is_empty() {
            expected.push("422");
        }
        for parameter in parameters.iter().filter(|p| p["in"] == "path") {
            expected.push("404");
            assert_eq!(parameter["schema"]["format"], "uuid", "{method} {path}");
        }
        for status in expected {
            assert!(statuses.contains(status), "{method} {path} lacks {status}");
        }
        // Every error answer is the JSON error body.
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
        if statuses.contains("401") {
            let response = &op["responses"]["401"];
            assert!(response["headers"]["WWW-Authenticate"].is_object());
        }
    }
}

/// The runtime expression of a link parameter, resolved against a response body.
fn resolve<'a>(expression: &str, body: &'a Value) -> &'a Value {
    let pointer = expression
        .strip_prefix("$response.body#")
        .unwrap_or_else(|| panic!("{expression} is not a response body expression"));
    body.pointer(pointer)
        .unwrap_or_else(|| panic!("{expression} is not in {body}"))
}

/// Every link names an operation of the document and fills path parameters it has.
#[tokio::test]
async fn links_name_operations_and_their_path_parameters() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let mut operations = std::collections::BTreeMap::new();
    for (method, path) in documented(&doc) {
        let op = doc["paths"][&path][&method].clone();
        operations.insert(op["operationId"].as_str().unwrap().to_owned(), op);
    }
    let mut links = 0;
    for op in operations.values() {
        for response in op["responses"].as_object().unwrap().values() {
            for link in response["links"].as_object().into_iter().flatten() {
                let (name, link) = link;
                let target = &operations[link["operationId"].as_str().unwrap()];
                for (parameter, expression) in link["parameters"].as_object().into_iter().flatten()
                {
                    let declared = target["parameters"].as_array().unwrap();
                    assert!(
                        declared
                            .iter()
                            .any(|p| p["in"] == "path" && p["name"] == *parameter),
                        "link {name}: {parameter}"
                    );
                    assert!(expression.as_str().unwrap().starts_with("$response.body#/"));
                }
                for (field, expression) in link["requestBody"].as_object().into_iter().flatten() {
                    let schema =
                        target["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                            .as_str()
                            .unwrap()
                            .trim_start_matches("#/components/schemas/");
                    let properties = &doc["components"]["schemas"][schema]["properties"];
                    assert!(properties[field].is_object(), "link {name}: {field}");
                    assert!(expression.as_str().unwrap().starts_with("$response.body#/"));
                }
                links += 1;
            }
        }
    }
    assert!(links >= 20, "{links} links");
}

/// Following the links of a created key, group and membership reaches them.
#[tokio::test]
async fn following_the_links_of_created_resources_reaches_them() {
    let app = TestApp::with_config(direct_adds());
    let doc = document(&app).await;
    let owner = app.sign_up("links-owner@example.com").await;
    let other = app.sign_up("links-other@example.com").await;
    let link = |path: &str, method: &str, status: &str, target: &str| {
        doc["paths"][path][method]["responses"][status]["links"][target].clone()
    };

    let created = app
        .send(
            post("/auth/api-keys")
                .bearer(&owner.token)
                .json(serde_json::json!({ "name": "k", "scopes": ["data:read"] })),
        )
        .await
        .expect(StatusCode::CREATED);
    let to_key = link("/auth/api-keys", "post", "201", "get_key");
    let id = resolve(to_key["parameters"]["id"].as_str().unwrap(), &created);
    let res = app
        .send(get(&format!("/auth/api-keys/{}", str_of(id))).bearer(&owner.token))
        .await;
    assert_eq!(res.expect(StatusCode::OK)["id"], *id);

    let group = app
        .send(
            post("/auth/groups")
                .bearer(&owner.token)
                .json(serde_json::json!({ "name": "Linked" })),
        )
        .await
        .expect(StatusCode::CREATED);
    let to_group = link("/auth/groups", "post", "201", "add_member");
    let group_id = str_of(resolve(
        to_group["parameters"]["id"].as_str().unwrap(),
        &group,
    ));
    let member = app
        .send(
            post(&format!("/auth/groups/{group_id}/members"))
                .bearer(&owner.token)
                .json(serde_json::json!({ "user_id": other.id, "role": "member" })),
        )
        .await
        .expect(StatusCode::CREATED);
    let to_member = link("/auth/groups/{id}/members", "post", "201", "remove_member");
    let params = &to_member["parameters"];
    let path = format!(
        "/auth/groups/{}/members/{}",
        str_of(resolve(params["id"].as_str().unwrap(), &member)),
        str_of(resolve(params["member_id"].as_str().unwrap(), &member)),
    );
    let res = app.send(delete(&path).bearer(&owner.token)).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());

    let invite = app
        .send(
            post(&format!("/auth/groups/{group_id}/invites"))
                .bearer(&owner.token)
                .json(serde_json::json!({ "role": "member" })),
        )
        .await
        .expect(StatusCode::CREATED);
    let to_accept = link("/auth/groups/{id}/invites", "post", "201", "accept_invite");
    let token = resolve(to_accept["requestBody"]["token"].as_str().unwrap(), &invite);
    let res = app
        .send(
            post("/auth/invites/accept")
                .bearer(&other.token)
                .json(serde_json::json!({ "token": token })),
        )
        .await;
    assert_eq!(
        res.expect(StatusCode::OK)["member"]["group_id"],
        group_id.as_str()
    );
}

/// Schemathesis found these answers missing from the document: an unknown group in the
/// key list's `group_id` and in a new group's `parent_id` is a 404.
#[tokio::test]
async fn an_unknown_group_is_a_documented_404() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let user = app.sign_up("unknown-group@example.com").await;
    let group = unknown_id();

    let res = app
        .send(get(&format!("/auth/api-keys?group_id={group}")).bearer(&user.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    assert_documented(&doc, "get", "/auth/api-keys", &res);

    let res = app
        .send(
            post("/auth/groups")
                .bearer(&user.token)
                .json(serde_json::json!({ "name": "Sub", "parent_id": group })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    assert_documented(&doc, "post", "/auth/groups", &res);
}

/// Schemathesis found these answers missing from the document: a guarded operation
/// refuses a malformed bearer token (401), and one that needs a session refuses an API
/// key (403); a body that is not JSON is a 422 on every operation with a body.
#[tokio::test]
async fn credential_and_body_refusals_are_documented() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let user = app.sign_up("refusals@example.com").await;
    let (_, key) = app
        .key(
            &user,
            serde_json::json!({ "name": "k", "scopes": ["data:read"] }),
        )
        .await;
    let res = app.send(get("/auth/sessions").bearer("not a token")).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
    assert_documented(&doc, "get", "/auth/sessions", &res);
    let res = app.send(get("/auth/groups").api_key(&key)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_documented(&doc, "get", "/auth/groups", &res);
    let res = app
        .send(post("/auth/refresh").raw("text/plain", "refresh"))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    assert_documented(&doc, "post", "/auth/refresh", &res);
}

#[tokio::test]
async fn tagged_unions_are_objects_a_client_can_build() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let union = &doc["components"]["schemas"]["ProtocolInput"]["oneOf"];
    let branches = union.as_array().expect("ProtocolInput is a oneOf");
    let mut tags = Vec::new();
    for branch in branches {
        // One closed object per protocol, its tag among its own properties.
        assert_eq!(branch["type"], "object", "{branch:#}");
        assert_eq!(branch["additionalProperties"], false, "{branch:#}");
        assert!(
            branch["required"]
                .as_array()
                .unwrap()
                .contains(&"protocol".into())
        );
        tags.push(branch["properties"]["protocol"]["enum"][0].clone());
    }
    assert_eq!(tags, ["oidc", "saml"]);
}
