//! The demo's SSO administration over SQLite: a connection's readiness, and a domain
//! verified through the records file `AUTH_DNS_TXT_FILE` names.

use auth_axum::AuthState;
use auth_core::SecretKey;
use auth_sqlx::SqliteStore;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use example_server::{DemoDns, app, auth_builder, http_config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ORIGIN: &str = "http://127.0.0.1:3000";

struct Demo {
    app: axum::Router,
    token: String,
}

impl Demo {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let response = self
            .app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

async fn demo(records: &std::path::Path) -> Demo {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let auth = auth_builder(store, SecretKey::generate(), ORIGIN)
        .domain_verifier(DemoDns::new(Some(records.to_owned())).unwrap())
        .build()
        .unwrap();
    let app = app(AuthState::new(auth, http_config(ORIGIN, &[]).unwrap())).unwrap();
    let mut demo = Demo {
        app,
        token: String::new(),
    };
    let (status, body) = demo
        .call(
            "POST",
            "/auth/sign-up",
            Some(
                json!({ "email": "admin@acme.example", "password": "correct horse battery",
                         "mode": "token" }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    demo.token = body["session_token"].as_str().unwrap().to_owned();
    demo
}

#[tokio::test]
async fn an_admin_sets_up_sso_and_proves_a_domain_through_the_records_file() {
    let dir = std::env::temp_dir().join(format!("sso-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let records = dir.join("txt-records");
    let demo = demo(&records).await;
    let (status, group) = demo
        .call("POST", "/auth/groups", Some(json!({ "name": "Acme" })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let base = format!("/auth/groups/{}", group["id"].as_str().unwrap());

    let (status, connection) = demo
        .call(
            "POST",
            &format!("{base}/sso/connections"),
            Some(json!({ "name": "Okta", "config": {
                "protocol": "oidc", "issuer": "https://acme.okta.example", "client_id": "0oa1",
                "client_secret": "from-the-okta-app-0123456789" } })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    assert!(!connection.to_string().contains("from-the-okta-app"));
    let connection_path = format!(
        "{base}/sso/connections/{}",
        connection["id"].as_str().unwrap()
    );
    let (status, _) = demo
        .call(
            "PATCH",
            &connection_path,
            Some(json!({ "status": "active" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, domain) = demo
        .call(
            "POST",
            &format!("{base}/domains"),
            Some(json!({ "domain": "acme.example" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{domain}");
    let verify = format!("{base}/domains/{}/verify", domain["id"].as_str().unwrap());
    let (status, refused) = demo.call("POST", &verify, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "DOMAIN_VERIFICATION_FAILED");
    std::fs::write(
        &records,
        format!(
            "{} \"{}\"\n",
            domain["txt_name"].as_str().unwrap(),
            domain["txt_value"].as_str().unwrap()
        ),
    )
    .unwrap();
    let (status, verified) = demo.call("POST", &verify, None).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert!(verified["verified_at"].is_string());

    let (status, readiness) = demo
        .call("GET", &format!("{connection_path}/readiness"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(readiness["routable"], true, "{readiness}");
    assert!(
        readiness["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
