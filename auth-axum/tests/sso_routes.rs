//! `/auth/groups/{id}/sso/connections` and `/auth/groups/{id}/domains`: an organization's
//! SSO connections and domains, by role (owner, admin, member, non-member).

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

/// The client secret the tests configure (the ledger fails any response repeating it).
const CLIENT_SECRET: &str = "oidc-client-secret-0123456789abcdef";

fn connections(group: &str) -> String {
    format!("/auth/groups/{group}/sso/connections")
}

fn connection(group: &str, id: &str) -> String {
    format!("/auth/groups/{group}/sso/connections/{id}")
}

fn domains(group: &str) -> String {
    format!("/auth/groups/{group}/domains")
}

fn domain(group: &str, id: &str) -> String {
    format!("/auth/groups/{group}/domains/{id}")
}

fn oidc_body(name: &str) -> Value {
    json!({
        "name": name,
        "config": {
            "protocol": "oidc",
            "issuer": "https://idp.example.net",
            "client_id": "client-123",
            "client_secret": CLIENT_SECRET,
            "scopes": ["email"],
            "extra_params": { "prompt": "login" },
        },
        "role_mapping": { "engineers": "member" },
    })
}

fn idp_metadata() -> String {
    r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.net/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>MIIBAA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.net/saml/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        .to_owned()
}

/// Creates an OIDC connection in `org`'s group as its owner; returns it.
async fn create_oidc(app: &TestApp, org: &Org, name: &str) -> Value {
    app.send(
        post(&connections(&org.group))
            .bearer(&org.owner.token)
            .json(oidc_body(name)),
    )
    .await
    .expect(StatusCode::CREATED)
}

/// Adds the domain `name` to `org`'s group as `by`; returns it.
async fn add_domain(app: &TestApp, org: &Org, by: &Client, name: &str) -> Value {
    app.send(
        post(&domains(&org.group))
            .bearer(&by.token)
            .json(json!({ "domain": name })),
    )
    .await
    .expect(StatusCode::CREATED)
}

fn check<'a>(readiness: &'a Value, name: &str) -> &'a Value {
    readiness["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {readiness}"))
}

#[tokio::test]
async fn a_connection_round_trips_without_its_client_secret() {
    let app = TestApp::new();
    let org = app.org().await;
    let created = create_oidc(&app, &org, "Okta").await;
    let id = str_of(&created["id"]);
    assert_eq!(created["name"], "Okta");
    assert_eq!(created["status"], "draft");
    assert_eq!(created["group_id"], org.group.as_str());
    assert_eq!(created["config"]["protocol"], "oidc");
    assert_eq!(created["config"]["has_client_secret"], true);
    assert_eq!(created["config"]["scopes"], json!(["openid", "email"]));
    assert_eq!(created["role_mapping"], json!({ "engineers": "member" }));
    assert!(created["config"].get("client_secret").is_none());

    let read = app
        .send(get(&connection(&org.group, &id)).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(read, created);
    let page = app
        .send(get(&connections(&org.group)).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"], json!([created]));
    assert!(page["next_cursor"].is_null());

    // A new configuration without a secret keeps the stored one; activate it.
    let changed = app
        .send(
            patch(&connection(&org.group, &id))
                .bearer(&org.owner.token)
                .json(json!({
                    "name": "Okta (prod)",
                    "status": "active",
                    "config": { "protocol": "oidc", "issuer": "https://login.example.net",
                                "client_id": "client-456" },
                })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(changed["name"], "Okta (prod)");
    assert_eq!(changed["status"], "active");
    assert_eq!(changed["config"]["issuer"], "https://login.example.net");
    assert_eq!(changed["config"]["has_client_secret"], true);
    let active = app
        .send(get(&(connections(&org.group) + "?status=active")).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(active["items"].as_array().unwrap().len(), 1);
    let drafts = app
        .send(get(&(connections(&org.group) + "?status=draft")).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert!(drafts["items"].as_array().unwrap().is_empty());

    // Clearing the secret fails a check of an active connection: disable first.
    let clear = json!({ "config": { "protocol": "oidc", "issuer": "https://login.example.net",
                                    "client_id": "client-456", "clear_client_secret": true } });
    let res = app
        .send(
            patch(&connection(&org.group, &id))
                .bearer(&org.owner.token)
                .json(clear.clone()),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "SSO_CONNECTION_NOT_READY");
    app.send(
        patch(&connection(&org.group, &id))
            .bearer(&org.owner.token)
            .json(json!({ "status": "disabled" })),
    )
    .await
    .expect(StatusCode::OK);
    let cleared = app
        .send(
            patch(&connection(&org.group, &id))
                .bearer(&org.owner.token)
                .json(clear),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(cleared["config"]["has_client_secret"], false);

    let res = app
        .send(delete(&connection(&org.group, &id)).bearer(&org.owner.token))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = app
        .send(get(&connection(&org.group, &id)).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "SSO_CONNECTION_NOT_FOUND");
    let res = app
        .send(delete(&connection(&org.group, &id)).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "SSO_CONNECTION_NOT_FOUND");
    assert!(!app.log().contains(CLIENT_SECRET));
}

#[tokio::test]
async fn a_saml_connection_reads_its_metadata_and_reports_readiness() {
    let app = TestApp::new();
    let org = app.org().await;
    let draft = app
        .send(
            post(&connections(&org.group))
                .bearer(&org.owner.token)
                .json(json!({ "name": "ADFS", "config": { "protocol": "saml" } })),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = str_of(&draft["id"]);
    let readiness = app
        .send(get(&(connection(&org.group, &id) + "/readiness")).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(readiness["configured"], false);
    assert_eq!(readiness["routable"], false);
    for name in [
        "saml.idp_metadata",
        "saml.acs_url",
        "status_active",
        "verified_domain",
    ] {
        assert_eq!(check(&readiness, name)["ok"], false, "{name}: {readiness}");
    }
    let res = app
        .send(
            patch(&connection(&org.group, &id))
                .bearer(&org.owner.token)
                .json(json!({ "status": "active" })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "SSO_CONNECTION_NOT_READY");

    let configured = app
        .send(
            patch(&connection(&org.group, &id))
                .bearer(&org.owner.token)
                .json(json!({ "status": "active", "config": {
                    "protocol": "saml",
                    "idp_metadata_xml": idp_metadata(),
                    "sp_entity_id": "https://app.example.org/sso/saml",
                    "acs_url": "https://app.example.org/sso/saml/acs",
                    "attributes": { "email": "mail" },
                    "allow_idp_initiated": true,
                } })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        configured["config"]["idp_entity_id"],
        "https://idp.example.net/saml"
    );
    assert_eq!(
        configured["config"]["sso_url"],
        "https://idp.example.net/saml/sso"
    );
    assert_eq!(configured["config"]["attributes"]["email"], "mail");
    let readiness = app
        .send(get(&(connection(&org.group, &id) + "/readiness")).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(readiness["configured"], true);
    assert_eq!(check(&readiness, "status_active")["ok"], true);
    assert_eq!(check(&readiness, "verified_domain")["ok"], false);
    assert_eq!(readiness["routable"], false);
}

#[tokio::test]
async fn members_without_sso_permissions_are_refused_and_outsiders_see_nothing() {
    let app = TestApp::new();
    let org = app.org().await;
    let created = create_oidc(&app, &org, "Okta").await;
    let id = str_of(&created["id"]);
    let added = add_domain(&app, &org, &org.owner, "acme.example").await;
    let domain_id = str_of(&added["id"]);
    let requests = || {
        vec![
            get(&connections(&org.group)),
            post(&connections(&org.group)).json(oidc_body("Mine")),
            get(&connection(&org.group, &id)),
            patch(&connection(&org.group, &id)).json(json!({ "name": "Mine" })),
            delete(&connection(&org.group, &id)),
            get(&(connection(&org.group, &id) + "/readiness")),
            get(&domains(&org.group)),
            post(&domains(&org.group)).json(json!({ "domain": "evil.example" })),
            delete(&domain(&org.group, &domain_id)),
            post(&(domain(&org.group, &domain_id) + "/verify")),
            put(&(domain(&org.group, &domain_id) + "/require-sso"))
                .json(json!({ "require_sso": false })),
        ]
    };
    for req in requests() {
        let res = app.send(req.bearer(&org.member.token)).await;
        assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    for req in requests() {
        let res = app.send(req.bearer(&org.stranger.token)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
        let code = res.json()["error"]["code"].as_str().unwrap().to_owned();
        assert!(
            [
                "GROUP_NOT_FOUND",
                "SSO_CONNECTION_NOT_FOUND",
                "DOMAIN_NOT_FOUND"
            ]
            .contains(&code.as_str()),
            "{code}"
        );
    }
    for req in requests() {
        let res = app.send(req).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
    }
    // Nothing changed.
    let read = app
        .send(get(&connection(&org.group, &id)).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(read, created);
    let listed = app
        .send(get(&domains(&org.group)).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // Admins may not configure a role above their own.
    let mut body = oidc_body("Owners");
    body["default_role"] = json!("owner");
    let res = app
        .send(
            post(&connections(&org.group))
                .bearer(&org.admin.token)
                .json(body),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
}

#[tokio::test]
async fn another_groups_connection_or_domain_is_not_found() {
    let app = TestApp::new();
    let org = app.org().await;
    let theirs = create_oidc(&app, &org, "Okta").await;
    let their_id = str_of(&theirs["id"]);
    let their_domain = add_domain(&app, &org, &org.owner, "acme.example").await;
    let their_domain = str_of(&their_domain["id"]);
    // The stranger owns another group, and asks for Acme's rows through it.
    let other = app.group(&org.stranger, json!({ "name": "Other" })).await;
    let as_other = |req: Req| req.bearer(&org.stranger.token);
    for req in [
        get(&connection(&other, &their_id)),
        patch(&connection(&other, &their_id)).json(json!({ "name": "Taken" })),
        delete(&connection(&other, &their_id)),
        get(&(connection(&other, &their_id) + "/readiness")),
        get(&connection(&other, &unknown_id())),
    ] {
        let res = app.send(as_other(req)).await;
        assert_error(&res, StatusCode::NOT_FOUND, "SSO_CONNECTION_NOT_FOUND");
    }
    for req in [
        delete(&domain(&other, &their_domain)),
        post(&(domain(&other, &their_domain) + "/verify")),
        put(&(domain(&other, &their_domain) + "/require-sso")).json(json!({ "require_sso": true })),
    ] {
        let res = app.send(as_other(req)).await;
        assert_error(&res, StatusCode::NOT_FOUND, "DOMAIN_NOT_FOUND");
    }
    let res = app
        .send(get(&connections(&unknown_id())).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let read = app
        .send(get(&connection(&org.group, &their_id)).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(read["name"], "Okta");
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_stable_code() {
    let app = TestApp::new();
    let org = app.org().await;
    let url = connections(&org.group);
    let send = |req: Req| app.send(req.bearer(&org.owner.token));
    let res = send(post(&url).raw("application/json", "{\"name\": ")).await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    for body in [
        json!({ "name": "x" }),
        json!({ "name": "x", "config": { "protocol": "ldap" } }),
        json!({ "name": "x", "config": { "protocol": "oidc", "secret": "typo" } }),
        json!({ "name": "x", "config": { "protocol": "oidc" }, "group_id": org.group }),
        json!({ "name": 1, "config": { "protocol": "oidc" } }),
    ] {
        let res = send(post(&url).json(body)).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    }
    for body in [
        json!({ "name": "", "config": { "protocol": "oidc" } }),
        json!({ "name": "x", "config": { "protocol": "oidc", "issuer": "http://idp.example.net" } }),
        json!({ "name": "x", "config": { "protocol": "oidc", "extra_params": { "state": "x" } } }),
        json!({ "name": "x", "config": { "protocol": "saml", "idp_metadata_xml": "<nope" } }),
        json!({ "name": "x", "config": { "protocol": "saml",
               "idp_metadata_xml": "<!DOCTYPE x [<!ENTITY e 'e'>]><x>&e;</x>" } }),
        json!({ "name": "x", "config": { "protocol": "oidc" }, "default_role": "emperor" }),
    ] {
        let res = send(post(&url).json(body.clone())).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    // Metadata over the body limit (1 MiB) never reaches the parser.
    let huge = "x".repeat(2 << 20);
    let res = send(post(&url).json(json!({ "name": "x", "config": {
        "protocol": "saml", "idp_metadata_xml": huge } })))
    .await;
    assert_error(&res, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    // Within the body limit but over the metadata limit (512 KiB): the parser refuses.
    let big = format!("<x>{}</x>", "x".repeat(600 * 1024));
    let res = send(post(&url).json(json!({ "name": "x", "config": {
        "protocol": "saml", "idp_metadata_xml": big } })))
    .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    let res = send(get(&connection(&org.group, "not-an-id"))).await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    let res = send(get(&(url.clone() + "?status=sleeping"))).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let res = send(get(&(url.clone() + "?cursor=garbage"))).await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_CURSOR");

    let domains = domains(&org.group);
    for bad in [
        "",
        "com",
        "*.acme.example",
        "127.0.0.1",
        "user@acme.example",
        "a b.example",
    ] {
        let res = send(post(&domains).json(json!({ "domain": bad }))).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    for body in [
        json!({}),
        json!({ "domain": 5 }),
        json!({ "domain": "a.example", "x": 1 }),
    ] {
        let res = send(post(&domains).json(body)).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    }
    let added = send(post(&domains).json(json!({ "domain": "Acme.Example." })))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(added["domain"], "acme.example");
    let res = send(post(&domains).json(json!({ "domain": "acme.example" }))).await;
    assert_error(&res, StatusCode::CONFLICT, "DOMAIN_TAKEN");
    let require = domain(&org.group, &str_of(&added["id"])) + "/require-sso";
    for body in [json!({}), json!({ "require_sso": "yes" })] {
        let res = send(put(&require).json(body)).await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    }
}

#[tokio::test]
async fn a_domain_is_verified_by_its_txt_record_and_may_then_require_sso() {
    let app = TestApp::new();
    let org = app.org().await;
    let added = add_domain(&app, &org, &org.admin, "acme.example").await;
    let id = str_of(&added["id"]);
    let txt_name = str_of(&added["txt_name"]);
    let txt_value = str_of(&added["txt_value"]);
    assert_eq!(txt_name, "_auth-rs-challenge.acme.example");
    assert_eq!(
        txt_value,
        format!(
            "auth-rs-domain-verification={}",
            str_of(&added["verification_token"])
        )
    );
    assert!(added["verified_at"].is_null());
    assert_eq!(added["require_sso"], false);
    let listed = app
        .send(get(&domains(&org.group)).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed["items"], json!([added]));

    let require = domain(&org.group, &id) + "/require-sso";
    let res = app
        .send(
            put(&require)
                .bearer(&org.owner.token)
                .json(json!({ "require_sso": true })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "DOMAIN_NOT_VERIFIED");

    // Not published yet: the answer names the record to publish.
    let verify = domain(&org.group, &id) + "/verify";
    let res = app.send(post(&verify).bearer(&org.owner.token)).await;
    let error = assert_error(&res, StatusCode::BAD_REQUEST, "DOMAIN_VERIFICATION_FAILED");
    let message = str_of(&error["message"]);
    assert!(
        message.contains(&txt_name) && message.contains(&txt_value),
        "{message}"
    );
    // A wrong value is no proof.
    app.dns
        .set(&txt_name, &["auth-rs-domain-verification=wrong"]);
    let res = app.send(post(&verify).bearer(&org.owner.token)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "DOMAIN_VERIFICATION_FAILED");
    // A failing resolver is a retry, not a refusal.
    app.dns.fail(true);
    let res = app.send(post(&verify).bearer(&org.owner.token)).await;
    assert_error(&res, StatusCode::SERVICE_UNAVAILABLE, "DNS_UNAVAILABLE");
    app.dns.fail(false);

    app.dns.set(&txt_name, &["v=spf1 -all", &txt_value]);
    let verified = app
        .send(post(&verify).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert!(verified["verified_at"].is_string());
    // Verifying again answers the verified domain.
    app.dns.clear();
    let again = app
        .send(post(&verify).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["verified_at"], verified["verified_at"]);

    let on = app
        .send(
            put(&require)
                .bearer(&org.admin.token)
                .json(json!({ "require_sso": true })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(on["require_sso"], true);
    let res = app
        .send(post("/auth/sign-in").json(json!({
            "email": "someone@acme.example", "password": PASSWORD
        })))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "SSO_REQUIRED");
    let off = app
        .send(
            put(&require)
                .bearer(&org.admin.token)
                .json(json!({ "require_sso": false })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(off["require_sso"], false);

    // A verified domain makes an active connection routable.
    let created = create_oidc(&app, &org, "Okta").await;
    let cid = str_of(&created["id"]);
    app.send(
        patch(&connection(&org.group, &cid))
            .bearer(&org.owner.token)
            .json(json!({ "status": "active" })),
    )
    .await
    .expect(StatusCode::OK);
    let readiness = app
        .send(get(&(connection(&org.group, &cid) + "/readiness")).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(check(&readiness, "verified_domain")["ok"], true);
    assert_eq!(readiness["routable"], true);

    let res = app
        .send(delete(&domain(&org.group, &id)).bearer(&org.owner.token))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let listed = app
        .send(get(&domains(&org.group)).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert!(listed["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn cors_preflight_allows_put_for_require_sso() {
    let http = auth_axum::HttpConfig::localhost(ORIGIN)
        .unwrap()
        .cors("https://admin.example")
        .unwrap();
    let app = TestApp::with_http(http);
    let res = app
        .send(
            req(
                axum::http::Method::OPTIONS,
                "/auth/groups/x/domains/y/require-sso",
            )
            .header("origin", "https://admin.example")
            .header("access-control-request-method", "PUT"),
        )
        .await;
    let allowed = res
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(allowed.contains("PUT"), "{allowed}");
}

#[tokio::test]
async fn the_openapi_document_lists_the_sso_paths_and_a_write_only_secret() {
    let app = TestApp::new();
    let doc = app.send(get("/openapi.json")).await.expect(StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/auth/groups/{id}/sso/connections", &["get", "post"][..]),
        (
            "/auth/groups/{id}/sso/connections/{connection_id}",
            &["get", "patch", "delete"][..],
        ),
        (
            "/auth/groups/{id}/sso/connections/{connection_id}/readiness",
            &["get"][..],
        ),
        ("/auth/groups/{id}/domains", &["get", "post"][..]),
        ("/auth/groups/{id}/domains/{domain_id}", &["delete"][..]),
        (
            "/auth/groups/{id}/domains/{domain_id}/verify",
            &["post"][..],
        ),
        (
            "/auth/groups/{id}/domains/{domain_id}/require-sso",
            &["put"][..],
        ),
    ] {
        for method in methods {
            assert!(paths[path].get(*method).is_some(), "{method} {path}");
        }
    }
    let secret = &doc["components"]["schemas"]["OidcInput"]["properties"]["client_secret"];
    assert_eq!(secret["writeOnly"], true, "{secret}");
    let view = &doc["components"]["schemas"]["OidcView"]["properties"];
    assert!(view.get("client_secret").is_none() && view.get("has_client_secret").is_some());
}

#[tokio::test]
async fn cookie_changes_from_another_origin_are_refused() {
    let app = TestApp::new();
    let org = app.org().await;
    let added = add_domain(&app, &org, &org.owner, "acme.example").await;
    let require = domain(&org.group, &str_of(&added["id"])) + "/require-sso";
    for req in [
        post(&connections(&org.group)).json(oidc_body("Evil")),
        put(&require).json(json!({ "require_sso": false })),
        delete(&domain(&org.group, &str_of(&added["id"]))),
    ] {
        let res = app
            .send(req.cookie(&org.owner.token).origin("https://evil.example"))
            .await;
        assert_error(&res, StatusCode::FORBIDDEN, "CSRF_REJECTED");
    }
    let res = app
        .send(
            put(&require)
                .cookie(&org.owner.token)
                .origin(ORIGIN)
                .json(json!({ "require_sso": false })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}
