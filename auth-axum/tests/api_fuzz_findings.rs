//! Regressions of what API fuzzing (scripts/api-fuzz.sh) and the review around it found;
//! the document's own findings are in `openapi.rs`.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

/// A key whose quota refill lay past the last representable date panicked the request
/// that found the quota used up (`refilled_at + refill_every` overflowed), dropping the
/// connection without an answer. Such refills are refused when the key is created, and
/// the longest one accepted answers `429` with its `Retry-After`.
#[tokio::test]
async fn quota_refills_are_bounded_and_the_longest_still_answers_429() {
    let app = TestApp::new();
    let user = app.sign_up("quota-refill@example.com").await;
    for quota in [
        json!({ "limit": 1, "refill_every": i64::MAX }),
        json!({ "limit": 1, "refill_every": 366 * 86_400 + 1 }),
        json!({ "limit": u64::MAX }),
    ] {
        let res = app
            .send(
                post("/auth/api-keys")
                    .bearer(&user.token)
                    .json(json!({ "name": "k", "scopes": [], "quota": quota })),
            )
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    let (_, key) = app
        .key(
            &user,
            json!({ "name": "k", "scopes": [], "quota": { "limit": 1, "refill_every": 366 * 86_400 } }),
        )
        .await;
    app.send(get("/probe").api_key(&key))
        .await
        .expect(StatusCode::OK);
    let res = app.send(get("/probe").api_key(&key)).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "QUOTA_EXCEEDED");
    assert_eq!(res.header("retry-after"), Some("31622400"));
}

/// A key expiring at `9999-12-31T23:59:59-23:59` (in UTC, a day into year 10000) panicked
/// its creation while the time was normalised to UTC, dropping the connection. It now
/// saturates to the last representable instant: the key never expires, and works.
#[tokio::test]
async fn an_expiry_beyond_year_9999_in_utc_saturates_instead_of_panicking() {
    let app = TestApp::new();
    let user = app.sign_up("far-expiry@example.com").await;
    let res = app
        .send(post("/auth/api-keys").bearer(&user.token).json(json!({
            "name": "k", "scopes": [], "expires_at": "9999-12-31T23:59:59-23:59"
        })))
        .await;
    let created = res.expect(StatusCode::CREATED);
    assert_eq!(created["key"]["expires_at"], "9999-12-31T23:59:59.999999Z");
    app.send(get("/probe").api_key(created["secret"].as_str().unwrap()))
        .await
        .expect(StatusCode::OK);
    // An invite that far out is refused for its lifetime, not a panic either.
    let group = app.group(&user, json!({ "name": "Far" })).await;
    let res = app
        .send(
            post(&format!("/auth/groups/{group}/invites"))
                .bearer(&user.token)
                .json(json!({ "expires_at": "9999-12-31T23:59:59-23:59" })),
        )
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}

/// A NUL character (`\u0000`) in app-defined JSON (a profile's, group's, membership's or
/// invite's `extend`, a key's `metadata`) was a `500 INTERNAL` on PostgreSQL, whose
/// `jsonb` cannot store it (found probing the example server on PostgreSQL). Every store
/// now refuses it alike, with `422 INVALID_INPUT`.
#[tokio::test]
async fn nul_characters_in_app_defined_json_are_422_on_every_store() {
    let app = TestApp::with_config(direct_adds());
    let owner = app.sign_up("nul-owner@example.com").await;
    let other = app.sign_up("nul-other@example.com").await;
    let group = app.group(&owner, json!({ "name": "Nul" })).await;
    let member = app.add_member(&group, &other, "member").await;
    let nul = json!({ "note": "a\u{0}b" });
    let nul_key = json!({ "a\u{0}": 1 });
    let requests = [
        patch("/auth/me").json(json!({ "extend": nul })),
        patch("/auth/me").json(json!({ "extend": nul_key })),
        post("/auth/api-keys").json(json!({ "name": "k", "scopes": [], "metadata": nul })),
        post("/auth/groups").json(json!({ "name": "G", "extend": nul })),
        patch(&format!("/auth/groups/{group}")).json(json!({ "extend": nul })),
        post(&format!("/auth/groups/{group}/invites")).json(json!({ "extend": nul })),
        patch(&format!("/auth/groups/{group}/members/{member}")).json(json!({ "extend": nul })),
    ];
    for request in requests {
        let res = app.send(request.bearer(&owner.token)).await;
        let error = assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
        assert!(
            error["message"].as_str().unwrap().contains("NUL"),
            "{error}"
        );
    }
    let (id, _) = app.key(&owner, json!({ "name": "k", "scopes": [] })).await;
    let res = app
        .send(
            patch(&format!("/auth/api-keys/{id}"))
                .bearer(&owner.token)
                .json(json!({ "metadata": nul })),
        )
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}

/// Schemathesis, on PostgreSQL, stored `-1.7976931348623157e308` in a membership's
/// `extend`: `jsonb` writes it back as a 309-digit integer serde_json cannot read, so every
/// later request that loaded the user's memberships was a `500 INTERNAL`. Such numbers are
/// now refused on every store with `422 INVALID_INPUT`.
#[tokio::test]
async fn numbers_too_large_to_read_back_are_422() {
    let app = TestApp::new();
    let user = app.sign_up("huge-number@example.com").await;
    for extend in [json!({ "n": f64::MIN }), json!({ "a": [{ "n": 1e308 }] })] {
        let res = app
            .send(
                post("/auth/groups")
                    .bearer(&user.token)
                    .json(json!({ "name": "G", "extend": extend })),
            )
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
        let res = app
            .send(
                patch("/auth/me")
                    .bearer(&user.token)
                    .json(json!({ "extend": extend })),
            )
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    let res = app
        .send(
            patch("/auth/me")
                .bearer(&user.token)
                .json(json!({ "extend": { "n": 9.9e307 } })),
        )
        .await;
    res.expect(StatusCode::OK);
}
