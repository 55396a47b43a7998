//! What the conformance suite cannot see from outside: keys and their expiry, rate limits
//! shared by two connections, malformed data read back as an error. Skipped (saying so)
//! without `AUTH_TEST_REDIS_URL`.

mod common;

use auth_core::rate_limit::{RateLimit, RateLimitStore};
use auth_core::{StoreError, UserId, UserStore};
use time::{Duration, OffsetDateTime};

macro_rules! needs_redis {
    ($name:literal) => {
        if std::env::var_os(common::VAR).is_none() {
            eprintln!("SKIPPED redis::{}: set {} to run it", $name, common::VAR);
            return;
        }
    };
}

async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(std::env::var(common::VAR).unwrap())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_connections_and_expire_when_whole() {
    needs_redis!("rate_limits_hold_across_connections_and_expire_when_whole");
    let a = common::fresh_store().await;
    let b = a.reconnect().await.unwrap();
    let limit = RateLimit {
        max: 5,
        window: Duration::minutes(1),
    };
    let now = OffsetDateTime::now_utc();
    let mut calls = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        calls.push(tokio::spawn(async move {
            store.take_rate_limit("bucket", &limit, now).await.unwrap()
        }));
    }
    let mut allowed = 0;
    for call in calls {
        if call.await.unwrap().allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5, "exactly max admitted over two connections");

    let key = format!("{}rate:bucket", a.prefix());
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 60_002,
        "expires when its allowance is whole again, PTTL {ttl}"
    );

    // Purged once the window ended.
    assert_eq!(
        a.purge_rate_limits(now + Duration::minutes(2))
            .await
            .unwrap(),
        1
    );
    a.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_are_corrupt_not_a_panic() {
    needs_redis!("malformed_records_are_corrupt_not_a_panic");
    let store = common::fresh_store().await;
    let id = UserId::new();
    let _: () = redis::cmd("SET")
        .arg(format!("{}user:{id}", store.prefix()))
        .arg("{not json")
        .query_async(&mut raw().await)
        .await
        .unwrap();
    let error = store.get_user(id).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    assert!(store.clear().await.unwrap() >= 1);
    assert!(store.get_user(id).await.unwrap().is_none());
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Nothing listens on port 1.
    let error = example_redis_store::RedisStore::connect("redis://127.0.0.1:1", "x:")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_leaves_no_key_that_names_them() {
    use auth_core::{
        Auth, AuthConfig, Caller, Provider, RecordingMailer, RequestMeta, Secret, SecretKey,
        SignUp, SignUpOutcome,
    };
    needs_redis!("deleting_a_user_leaves_no_key_that_names_them");
    let store = common::fresh_store().await;
    let auth = Auth::builder(store.clone())
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .mailer(RecordingMailer::new())
        .outbox(auth_core::verification::InlineOutbox)
        .build()
        .unwrap();
    let meta = RequestMeta::none();
    let SignUpOutcome::SignedIn(signed_in) = auth
        .password()
        .sign_up(
            SignUp {
                email: "gone@example.com".into(),
                password: Secret::new("correct horse battery"),
                name: None,
                extend: None,
            },
            &meta,
        )
        .await
        .unwrap()
    else {
        panic!("signed in at once");
    };
    let id = signed_in.user.id;
    auth.sessions()
        .refresh(signed_in.refresh_token.expose(), &meta)
        .await
        .unwrap();
    auth.accounts()
        .link(
            &Caller::System,
            id,
            Provider::oidc("https://idp.example").unwrap(),
            "sub-1",
            &meta,
        )
        .await
        .unwrap();
    auth.email().send_verification(id, &meta).await.unwrap();

    auth.users()
        .delete(&Caller::System, id, true, &meta)
        .await
        .unwrap();

    // What is left is rate-limit counters (their buckets may name the address; they go
    // with their window) and records that name neither the user nor the address.
    let mut conn = raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", store.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let id = id.to_string();
    let rate = format!("{}rate:", store.prefix());
    for key in keys.iter().filter(|k| !k.starts_with(&rate)) {
        assert!(!key.contains(&id) && !key.contains("gone@"), "left: {key}");
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if kind == "string" {
            let value: String = redis::cmd("GET")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(!value.contains(&id), "{key} still names the user");
        } else {
            panic!("left: {key} ({kind})");
        }
    }
    store.clear().await.unwrap();
}
