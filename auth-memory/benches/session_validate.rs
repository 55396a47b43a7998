//! `session_validate`: the cost of authenticating a request by session token on the
//! in-memory store, from a cache hit (the common case) and with the cache off (every
//! validation reads the store), next to SHA-256 of the token alone (the floor).
//! Run: `cargo bench -p auth-memory --bench session_validate`.

use std::hint::black_box;

use auth_core::{
    Auth, AuthConfig, RequestMeta, Secret, SecretKey, SignUp, SignUpOutcome, TokenHash,
};
use auth_memory::MemoryStore;
use criterion::{Criterion, criterion_group, criterion_main};
use time::Duration;

fn signed_in(runtime: &tokio::runtime::Runtime, cache: bool) -> (Auth<MemoryStore>, Secret) {
    let mut config = AuthConfig::insecure_for_tests();
    if !cache {
        config.session.cache_ttl = Duration::ZERO;
    }
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(config)
        .build()
        .unwrap();
    let token = runtime.block_on(async {
        // Other users' sessions in the store, so the lookups are not trivially small.
        for i in 0..10_000 {
            sign_up(&auth, &format!("user{i}@example.com")).await;
        }
        sign_up(&auth, "bench@example.com").await
    });
    (auth, token)
}

async fn sign_up(auth: &Auth<MemoryStore>, email: &str) -> Secret {
    match auth
        .password()
        .sign_up(
            SignUp {
                email: email.into(),
                password: Secret::new("benchmark password"),
                name: Some("Bench".into()),
                extend: None,
            },
            &RequestMeta::none(),
        )
        .await
        .unwrap()
    {
        SignUpOutcome::SignedIn(s) => s.session_token,
        SignUpOutcome::VerificationRequired(_) => unreachable!(),
    }
}

fn session_validate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("session_validate");

    let (auth, token) = signed_in(&runtime, true);
    group.bench_function("cache_hit", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(auth.sessions().validate(black_box(token.expose())).await).unwrap()
        })
    });

    // What auth-axum's fast path calls: the same hit, without a future.
    group.bench_function("cache_hit_sync", |b| {
        b.iter(|| black_box(auth.sessions().validate_cached(black_box(token.expose()))).unwrap())
    });

    let (auth, token) = signed_in(&runtime, false);
    group.bench_function("cache_miss_memory_store", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(auth.sessions().validate(black_box(token.expose())).await).unwrap()
        })
    });

    // The floor: hashing the token alone.
    group.bench_function("sha256_of_token", |b| {
        b.iter(|| black_box(TokenHash::of(black_box(token.expose()))))
    });
    group.finish();
}

criterion_group!(benches, session_validate);
criterion_main!(benches);
