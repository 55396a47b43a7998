//! `api_key_verify`: verifying an API key from the process cache (parse, checksum,
//! SHA-256, cache hit) and on a cache miss from SQLite and PostgreSQL (one indexed lookup).
//!
//! PostgreSQL runs when `AUTH_TEST_POSTGRES_URL` is set (database `auth_bench`).
//!
//! Run: `AUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!       cargo bench -p auth-sqlx --bench api_key_verify`

mod common;

use std::hint::black_box;

use auth_core::api_keys::{KeyOwner, NewApiKey};
use auth_core::users::NewUser;
use auth_core::{Auth, AuthConfig, Caller, RequestMeta, Secret, SecretKey, Store, UserId};
use criterion::{Criterion, criterion_group, criterion_main};
use time::Duration;

fn auth<S: Store>(store: S, cache: bool) -> Auth<S> {
    let mut config = AuthConfig::insecure_for_tests();
    config.api_keys.environment = Some("live".into());
    if !cache {
        config.api_keys.cache_ttl = Duration::ZERO;
    }
    Auth::builder(store)
        .secret_key(SecretKey::generate())
        .config(config)
        .build()
        .unwrap()
}

async fn key<S: Store>(auth: &Auth<S>) -> Secret {
    let meta = RequestMeta::none();
    let user = auth
        .users()
        .create(
            &Caller::System,
            NewUser {
                email: format!("bench-{}@example.com", UserId::new()),
                ..NewUser::default()
            },
            &meta,
        )
        .await
        .unwrap();
    auth.api_keys()
        .create(
            &Caller::System,
            NewApiKey {
                owner: KeyOwner::User(user.id),
                name: "bench".into(),
                scopes: vec!["data:read".into(), "reports:*".into()],
                expires_at: None,
                rate_limit: None,
                quota: None,
                metadata: None,
            },
            &meta,
        )
        .await
        .unwrap()
        .secret
}

fn bench<S: Store>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: S,
    cache: bool,
) {
    let auth = auth(store, cache);
    let secret = rt.block_on(key(&auth));
    let meta = RequestMeta::none();
    rt.block_on(auth.api_keys().verify(secret.expose(), &meta))
        .unwrap();
    c.bench_function(&format!("api_key_verify/{name}"), |b| {
        b.to_async(rt).iter(|| async {
            black_box(
                auth.api_keys()
                    .verify(black_box(secret.expose()), &meta)
                    .await
                    .unwrap(),
            )
        })
    });
}

fn api_key_verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (sqlite, path) = rt.block_on(common::sqlite());
    bench(c, &rt, "cache_hit", sqlite.clone(), true);
    bench(c, &rt, "cache_miss_sqlite", sqlite, false);
    let _ = std::fs::remove_file(&path);
    match std::env::var("AUTH_TEST_POSTGRES_URL") {
        Ok(url) => {
            let pg = rt.block_on(common::postgres(&url, "bench_api_keys"));
            bench(c, &rt, "cache_miss_postgres", pg, false);
        }
        Err(_) => {
            eprintln!("SKIPPED api_key_verify/cache_miss_postgres: set AUTH_TEST_POSTGRES_URL")
        }
    }
}

criterion_group!(benches, api_key_verify);
criterion_main!(benches);
