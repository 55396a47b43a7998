use auth_axum::{AuthState, HttpConfig};
use auth_core::{Auth, AuthConfig, SecretKey};
use auth_memory::MemoryStore;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn smoke() {
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .build()
        .unwrap();
    let state = AuthState::new(
        auth,
        HttpConfig::localhost("http://localhost:3000").unwrap(),
    );
    let app = state.router();
    let res = app
        .clone()
        .oneshot(
            Request::post("/auth/sign-up")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"email":"a@example.com","password":"correct horse battery","mode":"token"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    println!("{status} {}", String::from_utf8_lossy(&body));
    assert_eq!(status, StatusCode::CREATED);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let token = v["session_token"].as_str().unwrap();
    let res = app
        .clone()
        .oneshot(
            Request::get("/auth/me")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .clone()
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    println!(
        "{}",
        serde_json::to_string_pretty(&doc["paths"].as_object().unwrap().keys().collect::<Vec<_>>())
            .unwrap()
    );
    let res = app
        .clone()
        .oneshot(Request::get("/auth/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    println!("{:?}", res.headers());
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
