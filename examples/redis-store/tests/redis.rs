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
async fn rate_limits_hold_across_connections_and_expire_with_the_window() {
    needs_redis!("rate_limits_hold_across_connections_and_expire_with_the_window");
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

    let key = format!(
        "{}rate:{}:bucket",
        a.prefix(),
        limit.window_start(now).unix_timestamp()
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw().await)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 60_000,
        "expires with its window, PTTL {ttl}"
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
