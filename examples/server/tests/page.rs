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
