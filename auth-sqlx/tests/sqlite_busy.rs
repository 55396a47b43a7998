//! Fault injection, SQLite busy: many concurrent writers through one `SqliteStore` and a
//! second pool on the same file, and another connection holding the write lock. Every
//! operation either lands whole or fails with `STORE_UNAVAILABLE` (never a panic, another
//! error, or half a compound write), and the rows are counted afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::api_keys::{KeyOwner, NewApiKey};
use auth_core::groups::NewGroup;
use auth_core::{
    Auth, AuthConfig, AuthError, Caller, ErrorCode, RequestMeta, Secret, SecretKey, SignUp,
};
use auth_sqlx::SqliteStore;
use sqlx::{Connection, SqliteConnection};

/// How long `SqliteStore` lets a writer wait for the lock (its documented busy timeout).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn auth(store: SqliteStore) -> Auth<SqliteStore> {
    let mut config = AuthConfig::insecure_for_tests();
    // Every sign-up here comes from one test: no per-network limit in the way, and room
    // in the hashing queue for all the writers at once (it refuses the rest with
    // OVERLOADED by design; this test is about SQLite's lock).
    config.sign_up_limit = None;
    config.password.hashing.queue = Some(1024);
    Auth::builder(store)
        .secret_key(SecretKey::generate())
        .config(config)
        .build()
        .unwrap()
}

/// A compound sign-up (user, password account, session), then an organization it owns
/// (group and owner member) and an API key, which is verified once (its use recorded).
async fn onboard(auth: &Auth<SqliteStore>, n: usize) -> Result<(), AuthError> {
    let meta = RequestMeta::none();
    let signed_up = auth
        .password()
        .sign_up(
            SignUp {
                email: format!("writer{n}@example.com"),
                password: Secret::new("correct horse battery staple"),
                name: None,
                extend: None,
            },
            &meta,
        )
        .await?;
    let auth_core::SignUpOutcome::SignedIn(signed_in) = signed_up else {
        panic!("no verification is required here");
    };
    let user = signed_in.user.id;
    auth.groups()
        .create_owned_by(
            &Caller::System,
            NewGroup {
                name: format!("Org {n}"),
                ..NewGroup::default()
            },
            user,
            &meta,
        )
        .await?;
    let key = auth
        .api_keys()
        .create(
            &Caller::System,
            NewApiKey {
                owner: KeyOwner::User(user),
                name: "ci".into(),
                scopes: vec!["data:read".into()],
                expires_at: None,
                rate_limit: None,
                quota: None,
                metadata: None,
            },
            &meta,
        )
        .await?;
    auth.api_keys().verify(key.secret.expose(), &meta).await?;
    Ok(())
}

/// Rows per table that a whole onboarding writes one of.
async fn counts(store: &SqliteStore) -> [i64; 6] {
    let mut out = [0; 6];
    for (slot, table) in out.iter_mut().zip([
        "users", "accounts", "sessions", "groups", "members", "api_keys",
    ]) {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(store.pool())
            .await
            .unwrap();
        *slot = n;
    }
    out
}

/// Runs `count` onboardings at once, alternating between two app handles; returns each
/// outcome (by number).
async fn onboard_all(
    a: &Auth<SqliteStore>,
    b: &Auth<SqliteStore>,
    first: usize,
    count: usize,
) -> Vec<Result<(), AuthError>> {
    let tasks: Vec<_> = (first..first + count)
        .map(|n| {
            let auth = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { onboard(&auth, n).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("no writer panics"));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_pools_all_land() {
    let store = common::sqlite_file().await;
    let peer = common::sqlite_peer(store.clone()).await;
    let (a, b) = (auth(store.clone()), auth(peer));
    let outcomes = onboard_all(&a, &b, 0, 64).await;
    for outcome in &outcomes {
        // Each waits for the lock in turn (BEGIN IMMEDIATE and the busy timeout): none is
        // refused while the lock changes hands this fast.
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    assert_eq!(counts(&store).await, [64; 6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_held_write_lock_makes_writers_wait_then_fail_cleanly() {
    let store = common::sqlite_file().await;
    let peer = common::sqlite_peer(store.clone()).await;
    let (a, b) = (Arc::new(auth(store.clone())), Arc::new(auth(peer)));
    // Another process's connection takes the write lock and keeps it.
    let options = (*store.pool().connect_options()).clone();
    let mut holder = SqliteConnection::connect_with(&options).await.unwrap();

    // Held for a second (less than the busy timeout): the writers wait, then all land.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let started = Instant::now();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        holder
    });
    let outcomes = onboard_all(&a, &b, 0, 16).await;
    let mut holder = release.await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(counts(&store).await, [16; 6]);

    // Held past the busy timeout: every writer gives up with STORE_UNAVAILABLE, in about
    // the busy timeout, and nothing it began is left behind.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let started = Instant::now();
    let outcomes = onboard_all(&a, &b, 100, 8).await;
    let waited = started.elapsed();
    eprintln!("sqlite_busy: writers gave up after {waited:?} with the lock held");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    for outcome in &outcomes {
        match outcome {
            Err(error) => assert_eq!(error.code(), ErrorCode::StoreUnavailable, "{error:?}"),
            Ok(()) => panic!("a write landed while another connection held the lock"),
        }
    }
    assert!(
        waited >= BUSY_TIMEOUT - Duration::from_millis(100)
            && waited < BUSY_TIMEOUT + Duration::from_secs(5),
        "writers gave up after {waited:?}"
    );
    assert_eq!(counts(&store).await, [16; 6], "no half-done onboarding");

    // Released: the same writers land.
    let outcomes = onboard_all(&a, &b, 100, 8).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(counts(&store).await, [24; 6]);
}
