//! `session_lookup`: session validation on a cache miss against PostgreSQL, at 1,000 and at
//! 1,000,000 sessions (100,000 users). The lookup must stay one indexed query, so its
//! median at 1M rows should be within 1.5x of the median at 1k rows.
//!
//! Needs `AUTH_TEST_POSTGRES_URL` (a server where it may create the database `auth_bench`).
//! The seeded schemas are kept between runs (seeding 1M rows takes a while).
//!
//! Run: `AUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!       cargo bench -p auth-sqlx --bench session_lookup`

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_core::{Auth, AuthConfig, SecretKey, SessionStore, TestClock, TokenHash};
use auth_sqlx::PgStore;
use criterion::{Criterion, criterion_group, criterion_main};

/// The token of seeded session `i`: `i` left-padded with zeros to 43 characters (the shape
/// of a real token); the seed stores its SHA-256 the same way the library does.
fn token(i: u64) -> String {
    format!("{i:043}")
}

async fn seeded_store(url: &str, sessions: u64, users: u64) -> PgStore {
    let schema = format!("bench_{sessions}");
    let store = common::postgres(url, &schema).await;
    let (have,): (i64,) = sqlx::query_as("SELECT count(*) FROM sessions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    if have != sessions as i64 {
        eprintln!("seeding {sessions} sessions for {users} users in schema {schema}...");
        for sql in [
            "TRUNCATE users CASCADE".to_owned(),
            format!(
                "INSERT INTO users (id, email, email_verified, extend, created_at, updated_at) \
                 SELECT md5('u' || i)::uuid, 'user' || i || '@example.com', true, '{{}}', \
                 now(), now() FROM generate_series(1, {users}) i"
            ),
            format!(
                "INSERT INTO sessions (id, user_id, token_hash, aal, created_at, last_seen_at, \
                 idle_expires_at, expires_at) \
                 SELECT md5('s' || i)::uuid, md5('u' || (i % {users} + 1))::uuid, \
                 sha256(convert_to(lpad(i::text, 43, '0'), 'UTF8')), 'aal1', now(), now(), \
                 now() + interval '10 years', now() + interval '10 years' \
                 FROM generate_series(1, {sessions}) i"
            ),
            "ANALYZE".to_owned(),
        ] {
            sqlx::query(&sql).execute(store.pool()).await.unwrap();
        }
    }
    store
}

fn session_lookup(c: &mut Criterion) {
    let Ok(url) = std::env::var("AUTH_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED session_lookup: set AUTH_TEST_POSTGRES_URL to run it");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("session_lookup");
    for (sessions, users) in [(1_000u64, 100u64), (1_000_000, 100_000)] {
        let store = runtime.block_on(seeded_store(&url, sessions, users));
        let next = AtomicU64::new(0);
        // Spread lookups over the whole table, so the large case is not all cache-hot.
        let pick = || (next.fetch_add(7919, Ordering::Relaxed) % sessions) + 1;
        group.bench_function(format!("find_session_by_token/{sessions}"), |b| {
            b.to_async(&runtime).iter(|| async {
                let hash = TokenHash::of(&token(pick()));
                black_box(store.find_session_by_token(&hash).await.unwrap()).unwrap()
            })
        });
        // The whole validation with the cache off: shape check, hash, the lookup above.
        let mut config = AuthConfig::insecure_for_tests();
        config.session.cache_ttl = time::Duration::ZERO;
        let auth = Auth::builder(store.clone())
            .secret_key(SecretKey::generate())
            .clock(TestClock::at(time::OffsetDateTime::now_utc()))
            .config(config)
            .build()
            .unwrap();
        group.bench_function(format!("validate_cache_off/{sessions}"), |b| {
            b.to_async(&runtime).iter(|| async {
                black_box(auth.sessions().validate(&token(pick())).await.unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, session_lookup);
criterion_main!(benches);
