//! The demo page's security headers, and no inline code for its CSP to forbid.

use auth_axum::AuthState;
use auth_core::SecretKey;
use auth_sqlx::SqliteStore;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use example_server::{CONTENT_SECURITY_POLICY, app, auth, http_config};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ORIGIN: &str = "http://127.0.0.1:3000";

async fn demo() -> axum::Router {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let auth = auth(store, SecretKey::generate(), ORIGIN).unwrap();
    app(AuthState::new(auth, http_config(ORIGIN, &[]).unwrap())).unwrap()
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = demo().await;
    for path in [
        "/",
        "/app.js",
        "/sso-admin.js",
        "/app.css",
        "/api/public",
        "/auth/me",
        "/nowhere",
    ] {
        let (_, headers, _) = get(&app, path).await;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(
            header("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY),
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(header("x-frame-options"), Some("DENY"), "{path}");
    }
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(CONTENT_SECURITY_POLICY.contains(directive), "{directive}");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
}

#[tokio::test]
async fn the_page_has_no_inline_code_and_its_files_are_served() {
    let app = demo().await;
    let (status, _, page) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("<style"), "inline styles would be blocked");
    assert!(
        !page.contains(" style="),
        "inline style attributes would be blocked"
    );
    let handler = page.split(" on").skip(1).find(|rest| {
        let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    });
    assert!(handler.is_none(), "inline event handler: on{handler:.40?}");
    for script in page.split("<script").skip(1) {
        assert!(
            script.trim_start().starts_with("src="),
            "inline script: <script{script:.60}"
        );
    }
    let (status, headers, css) = get(&app, "/app.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.contains(":root"));
}

#[tokio::test]
async fn link_tokens_travel_in_the_fragment() {
    // The page reads tokens from the fragment, and builds invitation links with one.
    let script = include_str!("../static/app.js");
    assert!(script.contains("location.hash"));
    assert!(script.contains("/#invite="));
    assert!(!script.contains("location.search).get("));
}

/// Passkeys are served; on the default IP-address origin their relying party is the
/// `localhost` twin (WebAuthn refuses IP addresses), which the HTTP origin check allows.
#[tokio::test]
async fn passkeys_are_served_on_the_localhost_twin_of_an_ip_origin() {
    let config = example_server::passkey_config(ORIGIN).unwrap();
    assert_eq!(config.rp_id, "localhost");
    assert_eq!(config.origins, vec!["http://localhost:3000".to_owned()]);
    let named = example_server::passkey_config("https://auth.example.com").unwrap();
    assert_eq!(named.rp_id, "auth.example.com");
    assert_eq!(named.origins, vec!["https://auth.example.com".to_owned()]);
    assert!(
        http_config(ORIGIN, &[])
            .unwrap()
            .is_allowed_origin("http://localhost:3000")
    );
    let app = demo().await;
    let response = app
        .clone()
        .oneshot(
            Request::post("/auth/passkeys/sign-in/start")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["options"]["publicKey"]["rpId"], "localhost");
}

/// The SSO admin panel's script is served, loaded after `app.js` (whose helpers it uses),
/// and puts server data only into text (no `innerHTML`).
#[tokio::test]
async fn the_sso_panel_script_is_served_and_writes_no_html() {
    let app = demo().await;
    let (status, headers, script) = get(&app, "/sso-admin.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.contains("/sso/connections") && script.contains("/require-sso"));
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
    ] {
        assert!(!script.contains(sink), "{sink}");
    }
    let (_, _, page) = get(&app, "/").await;
    let app_js = page.find("src=\"/app.js\"").unwrap();
    let sso_js = page.find("src=\"/sso-admin.js\"").unwrap();
    assert!(app_js < sso_js, "sso-admin.js uses app.js's helpers");
    for id in [
        "sso-panel",
        "sso-connection-form",
        "sso-domain-form",
        "sso-readiness",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
}
