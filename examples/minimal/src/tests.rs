//! The minimal app answers signed-in users only.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn hello_needs_a_signed_in_user() {
    let app = super::app().unwrap();
    let get = || Request::get("/hello").body(Body::empty()).unwrap();
    assert_eq!(
        app.clone().oneshot(get()).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let sign_up = Request::post("/auth/sign-up")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"email":"me@example.com","password":"correct horse battery"}"#,
        ))
        .unwrap();
    let response = app.clone().oneshot(sign_up).await.unwrap();
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let mut request = get();
    request
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello, me@example.com\n");
}
