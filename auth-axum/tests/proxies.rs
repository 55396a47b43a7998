//! The client address behind trusted proxies: `X-Forwarded-For` is believed only from a
//! trusted peer, and then only its right-most untrusted hop, so a client can neither pick
//! a fresh address per request to dodge the limits, nor pose as its victim, nor forge the
//! address of audit rows.

mod common;

use auth_axum::HttpConfig;
use auth_core::AuthConfig;
use auth_core::api_keys::RateLimit;
use axum::http::StatusCode;
use common::*;
use serde_json::json;
use time::Duration;

fn behind_load_balancer(config: AuthConfig) -> TestApp {
    let http = HttpConfig::localhost(ORIGIN)
        .unwrap()
        .behind_proxy(["10.0.0.0/8", "fd00::/8"])
        .unwrap();
    TestApp::build(config, http)
}

/// The client address recorded on the session a sign-up answered with.
fn session_ip(res: &Res) -> String {
    str_of(&res.expect(StatusCode::CREATED)["session"]["ip"])
}

fn sign_up(email: &str) -> Req {
    post("/auth/sign-up").json(json!({ "email": email, "password": PASSWORD, "mode": "token" }))
}

#[tokio::test]
async fn the_client_is_the_right_most_hop_the_trusted_proxy_did_not_write() {
    let app = behind_load_balancer(AuthConfig::insecure_for_tests());
    // The client wrote "6.6.6.6"; the load balancer appended the address it saw.
    let res = app
        .send(
            sign_up("a@example.com")
                .peer("10.0.0.2:40000")
                .header("x-forwarded-for", "6.6.6.6, 203.0.113.5"),
        )
        .await;
    assert_eq!(session_ip(&res), "203.0.113.5");
    // A direct client is not believed, whatever it claims.
    let res = app
        .send(
            sign_up("b@example.com")
                .peer("198.51.100.7:5000")
                .header("x-forwarded-for", "203.0.113.5"),
        )
        .await;
    assert_eq!(session_ip(&res), "198.51.100.7");
    // Garbage stops the walk at the last good hop (here the proxy itself).
    let res = app
        .send(
            sign_up("c@example.com")
                .peer("[::ffff:10.0.0.2]:40000")
                .header("x-forwarded-for", "203.0.113.5")
                .header("x-forwarded-for", "unknown"),
        )
        .await;
    assert_eq!(session_ip(&res), "10.0.0.2");
}

#[tokio::test]
async fn a_fresh_forged_address_per_request_does_not_dodge_the_limit() {
    let mut config = AuthConfig::insecure_for_tests();
    config.sign_in_ip_limit = Some(RateLimit {
        max: 3,
        window: Duration::minutes(15),
    });
    let app = behind_load_balancer(config);
    let attempt = |n: u32| {
        post("/auth/sign-in")
            .peer("10.0.0.2:40000")
            .header("x-forwarded-for", format!("192.0.2.{n}, 203.0.113.5"))
            .json(json!({ "email": format!("u{n}@example.com"), "password": "guess 12345" }))
    };
    for n in 0..3 {
        let res = app.send(attempt(n)).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    }
    let res = app.send(attempt(3)).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: i64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // The victim, whose address the attacker wrote, is not locked out.
    let res = app
        .send(
            post("/auth/sign-in")
                .peer("10.0.0.3:40000")
                .header("x-forwarded-for", "192.0.2.1")
                .json(json!({ "email": "u9@example.com", "password": "guess 12345" })),
        )
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
}

#[test]
fn behind_proxy_needs_valid_addresses_or_networks() {
    let base = || HttpConfig::new("https://app.example.com").unwrap();
    assert!(base().behind_proxy(["10.0.0.1", "10.1.0.0/16"]).is_ok());
    assert!(base().behind_proxy(["lb.internal"]).is_err());
    assert!(base().behind_proxy(Vec::<&str>::new()).is_err());
    assert!(base().trusted_proxies.is_empty());
}

#[tokio::test]
async fn sign_ups_from_one_client_are_limited_with_retry_after() {
    let app = behind_load_balancer(AuthConfig::insecure_for_tests());
    let from = |email: &str, client: &str| {
        sign_up(email)
            .peer("10.0.0.2:40000")
            .header("x-forwarded-for", client)
    };
    for i in 0..10 {
        app.send(from(&format!("s{i}@example.com"), "203.0.113.5"))
            .await
            .expect(StatusCode::CREATED);
    }
    let res = app.send(from("s10@example.com", "203.0.113.5")).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: i64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=360).contains(&retry), "{retry}");
    // Another client behind the same proxy is not affected.
    app.send(from("s10@example.com", "203.0.113.6"))
        .await
        .expect(StatusCode::CREATED);
}
