//! `permission_check`: an inherited permission check (`auth.members().can`) for a user who
//! is a member of a root group only, asked about a group 1, 8 and 32 levels below it. The
//! walk up the tree is one recursive query, so the cost should grow little with depth.
//!
//! SQLite always runs (a file under target/); PostgreSQL when `AUTH_TEST_POSTGRES_URL` is
//! set (it creates and reuses the database `auth_bench`).
//!
//! Run: `AUTH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!       cargo bench -p auth-sqlx --bench permission_check`

mod common;

use std::hint::black_box;

use auth_core::groups::NewGroup;
use auth_core::members::NewMember;
use auth_core::users::NewUser;
use auth_core::{Auth, AuthConfig, Caller, GroupId, RequestMeta, SecretKey, Store, UserId};
use criterion::{Criterion, criterion_group, criterion_main};

const DEPTHS: [usize; 3] = [1, 8, 32];

/// A root, a chain of 32 groups below it, and a user who is an admin of the root only.
async fn seed<S: Store>(auth: &Auth<S>) -> (UserId, Vec<GroupId>) {
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
    let mut chain: Vec<GroupId> = Vec::new();
    for level in 0..=32 {
        let group = auth
            .groups()
            .create(
                &Caller::System,
                NewGroup {
                    name: format!("level {level}"),
                    parent_id: chain.last().copied(),
                    ..NewGroup::default()
                },
                &meta,
            )
            .await
            .unwrap();
        chain.push(group.id);
    }
    auth.members()
        .add(
            &Caller::System,
            NewMember {
                group_id: chain[0],
                user_id: user.id,
                role: Some("admin".into()),
                status: None,
                extend: None,
            },
            &meta,
        )
        .await
        .unwrap();
    (user.id, chain)
}

fn bench_store<S: Store>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    store: S,
) {
    let auth = Auth::builder(store)
        .secret_key(SecretKey::generate())
        .config(AuthConfig::insecure_for_tests())
        .build()
        .unwrap();
    let (user, chain) = runtime.block_on(seed(&auth));
    let mut group = c.benchmark_group(format!("permission_check/{name}"));
    for depth in DEPTHS {
        let target = chain[depth];
        // The answer is right before it is timed.
        assert!(
            runtime
                .block_on(auth.members().can(user, target, "member:add"))
                .unwrap()
        );
        group.bench_function(format!("depth_{depth}"), |b| {
            b.to_async(runtime).iter(|| async {
                black_box(
                    auth.members()
                        .can(user, target, "member:add")
                        .await
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
}

fn permission_check(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (sqlite, path) = runtime.block_on(common::sqlite());
    bench_store(c, &runtime, "sqlite", sqlite);
    let _ = std::fs::remove_file(&path);

    let Ok(url) = std::env::var("AUTH_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED permission_check/postgres: set AUTH_TEST_POSTGRES_URL to run it");
        return;
    };
    let pg = runtime.block_on(common::postgres(&url, "bench_permissions"));
    bench_store(c, &runtime, "postgres", pg);
}

criterion_group!(benches, permission_check);
criterion_main!(benches);
