//! `api_key_verify`: the cost of authenticating a request by API key on the in-memory
//! store, from a cache hit (the common case) and with the cache off, next to SHA-256 of the
//! key alone (the floor). Run: `cargo bench -p auth-memory --bench api_key_verify`.

use std::hint::black_box;

use auth_core::api_keys::{KeyOwner, NewApiKey};
use auth_core::{
    Auth, AuthConfig, Caller, RequestMeta, Secret, SecretKey, SignUp, SignUpOutcome, TokenHash,
};
use auth_memory::MemoryStore;
use criterion::{Criterion, criterion_group, criterion_main};

/// An app with other users' keys in the store, and one key to verify.
fn with_key(runtime: &tokio::runtime::Runtime, cache: bool) -> (Auth<MemoryStore>, Secret) {
    let mut config = AuthConfig::insecure_for_tests();
    if !cache {
        config.api_keys.cache_ttl = time::Duration::ZERO;
    }
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .config(config)
        .build()
        .unwrap();
    let secret = runtime.block_on(async {
        for i in 0..1_000 {
            create_key(&auth, &format!("user{i}@example.com")).await;
        }
        create_key(&auth, "bench@example.com").await
    });
    (auth, secret)
}

async fn create_key(auth: &Auth<MemoryStore>, email: &str) -> Secret {
    let meta = RequestMeta::none();
    let signed_in = match auth
        .password()
        .sign_up(
            SignUp {
                email: email.into(),
                password: Secret::new("benchmark password"),
                name: None,
                extend: None,
            },
            &meta,
        )
        .await
        .unwrap()
    {
        SignUpOutcome::SignedIn(s) => s,
        SignUpOutcome::VerificationRequired(_) => unreachable!(),
    };
    let caller: Caller = signed_in.caller();
    auth.api_keys()
        .create(
            &caller,
            NewApiKey {
                owner: KeyOwner::User(signed_in.user.id),
                name: "bench".into(),
                scopes: vec!["data:read".into()],
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

fn api_key_verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let meta = RequestMeta::none();
    let mut group = c.benchmark_group("api_key_verify");

    let (auth, key) = with_key(&runtime, true);
    group.bench_function("cache_hit", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(auth.api_keys().verify(black_box(key.expose()), &meta).await).unwrap()
        })
    });
    // What auth-axum's fast path calls: the same hit, without a future.
    group.bench_function("cache_hit_sync", |b| {
        b.iter(|| black_box(auth.api_keys().verify_cached(black_box(key.expose()))).unwrap())
    });

    let (auth, key) = with_key(&runtime, false);
    group.bench_function("cache_miss_memory_store", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(auth.api_keys().verify(black_box(key.expose()), &meta).await).unwrap()
        })
    });

    group.bench_function("sha256_of_key", |b| {
        b.iter(|| black_box(TokenHash::of(black_box(key.expose()))))
    });
    group.finish();
}

criterion_group!(benches, api_key_verify);
criterion_main!(benches);
