//! A fresh store per test, under a random prefix, on the server of `AUTH_TEST_REDIS_URL`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use example_redis_store::RedisStore;

/// The variable naming the test server.
pub const VAR: &str = "AUTH_TEST_REDIS_URL";

/// Prefixes of test stores: `auth-test:{unix seconds}:{run}:{random}:`, where `{run}` is
/// `AUTH_TEST_RUN` (set by `scripts/test.sh`, which deletes only its own run's keys) or
/// `local`.
const TEST_PREFIX: &str = "auth-test:";

/// How long a test store's keys are kept before a later run deletes them (the conformance
/// suite's clock is in 2030, so its keys would otherwise live until then).
const KEEP_SECS: u64 = 600;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether this test binary swept old keys already.
static SWEPT: AtomicBool = AtomicBool::new(false);

/// A store under a new prefix. The first call of a test binary also deletes the keys of
/// test stores older than ten minutes (earlier runs), so the server does not fill up.
pub async fn fresh_store() -> RedisStore {
    let url = std::env::var(VAR).expect("checked by the caller");
    let run = std::env::var("AUTH_TEST_RUN").unwrap_or_else(|_| "local".to_owned());
    let prefix = format!(
        "{TEST_PREFIX}{}:{run}:{}:",
        now_secs(),
        uuid::Uuid::new_v4().simple()
    );
    let store = RedisStore::connect(&url, &prefix)
        .await
        .expect("the test Redis server answers");
    if !SWEPT.swap(true, Ordering::SeqCst) {
        sweep_old(&url).await;
    }
    store
}

/// Deletes the keys of test prefixes older than [`KEEP_SECS`].
async fn sweep_old(url: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut cursor: u64 = 0;
    let cutoff = now_secs().saturating_sub(KEEP_SECS);
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{TEST_PREFIX}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        let old: Vec<&String> = keys
            .iter()
            .filter(|k| {
                k.strip_prefix(TEST_PREFIX)
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|secs| secs.parse::<u64>().ok())
                    .is_some_and(|secs| secs < cutoff)
            })
            .collect();
        if !old.is_empty() {
            let _: u64 = redis::cmd("UNLINK")
                .arg(&old)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}
