//! Storage behaviour beyond the conformance suite: migrations, pragmas, query plans,
//! connection failures and recovery.

mod common;

use std::str::FromStr;
use std::time::Duration;

use auth_core::{StoreError, TokenHash, UserId, UserStore};
use auth_sqlx::{PgStore, SESSION_LOOKUP_SQL, SqliteStore};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn sqlite_migrating_twice_is_a_no_op() {
    let store = common::sqlite_file().await;
    let count = || async {
        sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .0
    };
    let before = count().await;
    assert!(before >= 1);
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(count().await, before);
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let store = common::sqlite_file().await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let (timeout,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(timeout, 5000);
}

#[tokio::test]
async fn sqlite_session_lookup_uses_the_token_index() {
    let store = common::sqlite_file().await;
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(&format!("EXPLAIN QUERY PLAN {SESSION_LOOKUP_SQL}"))
            .bind(&[0u8; 32][..])
            .fetch_all(store.pool())
            .await
            .unwrap();
    let plan: Vec<String> = plan.into_iter().map(|r| r.3).collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("sessions_token_hash_key")),
        "{plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.starts_with("SCAN")),
        "{plan:?}"
    );
}

#[tokio::test]
async fn sqlite_unopenable_file_is_an_error_not_a_panic() {
    let err = SqliteStore::connect("sqlite:/nonexistent-dir/sub/auth.db")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_) | StoreError::Backend(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn postgres_migrating_twice_is_a_no_op() {
    if !common::postgres_available("postgres_migrating_twice_is_a_no_op") {
        return;
    }
    let store = common::postgres().await;
    let count = || async {
        sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .0
    };
    let before = count().await;
    store.migrate().await.unwrap();
    // Two nodes migrating at once: sqlx's advisory lock serialises them.
    let peer = common::postgres_peer(store.clone()).await;
    let (a, b) = tokio::join!(store.migrate(), peer.migrate());
    a.unwrap();
    b.unwrap();
    assert_eq!(count().await, before);
}

#[tokio::test]
async fn postgres_session_lookup_is_one_index_scan() {
    if !common::postgres_available("postgres_session_lookup_is_one_index_scan") {
        return;
    }
    let store = common::postgres().await;
    // Enough rows that the planner would prefer a sequential scan if it could.
    sqlx::query(
        "INSERT INTO users (id, email, email_verified, extend, created_at, updated_at) \
         SELECT gen_random_uuid(), 'u' || i || '@example.com', false, '{}', now(), now() \
         FROM generate_series(1, 2000) i",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, token_hash, aal, created_at, last_seen_at, \
         idle_expires_at, expires_at) \
         SELECT gen_random_uuid(), u.id, sha256(convert_to(u.email || s, 'UTF8')), 'aal1', \
         now(), now(), now() + interval '1 day', now() + interval '30 days' \
         FROM users u, generate_series(1, 10) s",
    )
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    let plan: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {SESSION_LOOKUP_SQL}"))
        .bind(&TokenHash::of("x").as_bytes()[..])
        .fetch_all(store.pool())
        .await
        .unwrap();
    let plan: String = plan.into_iter().map(|r| r.0 + "\n").collect();
    assert!(
        plan.contains("Index Scan using sessions_token_hash_key"),
        "{plan}"
    );
    assert!(plan.contains("Index Scan using users_pkey"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
}

#[tokio::test]
async fn postgres_refused_connection_is_unavailable() {
    let options = PgConnectOptions::from_str("postgres://postgres@127.0.0.1:1/postgres").unwrap();
    let err = PgStore::connect_with(
        options.clone(),
        PgPoolOptions::new().acquire_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // A lazily connected pool fails its calls the same way.
    let store = PgStore::from_pool(
        PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(500))
            .connect_lazy_with(options),
    );
    let err = store.get_user(UserId::new()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let auth_err = auth_core::AuthError::from(err);
    assert_eq!(auth_err.code(), auth_core::ErrorCode::StoreUnavailable);
    assert!(!auth_err.public_message().contains("127.0.0.1"));
}

#[tokio::test]
async fn postgres_store_recovers_after_its_backends_are_terminated() {
    if !common::postgres_available("postgres_store_recovers_after_its_backends_are_terminated") {
        return;
    }
    let app_name = format!("auth-recover-{}", uuid::Uuid::new_v4().simple());
    let admin_options = common::pg_schema_options().await;
    let options = admin_options.clone().application_name(&app_name);
    // No ping before handing out a connection: the first call after the kill meets the
    // dead connection, as a busy pool would.
    let store = PgStore::connect_with(
        options.clone(),
        PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    assert!(store.get_user(UserId::new()).await.unwrap().is_none());

    let mut admin = PgConnection::connect_with(&admin_options).await.unwrap();
    let (killed,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1) k",
    )
    .bind(&app_name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, 1);

    let failed = store.get_user(UserId::new()).await.unwrap_err();
    assert!(matches!(failed, StoreError::Unavailable(_)), "{failed:?}");
    // The pool drops the dead connection and opens a new one.
    let mut recovered = false;
    for _ in 0..10 {
        if store.get_user(UserId::new()).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the store did not recover");
}

/// Creates an organization and an OIDC connection with a client secret through the
/// service; returns the secret.
async fn connection_with_secret<S: auth_core::SsoDomain + Clone>(store: S) -> &'static str {
    use auth_core::sso::{NewSsoConnection, OidcInput, ProtocolInput};
    use auth_core::{Auth, Caller, RequestMeta, Secret, SecretKey};
    const SECRET: &str = "raw-row-client-secret-0123456789";
    let auth = Auth::builder(store)
        .secret_key(SecretKey::generate())
        .build()
        .unwrap();
    let meta = RequestMeta::none();
    let group = auth
        .groups()
        .create(
            &Caller::System,
            auth_core::groups::NewGroup {
                name: "Acme".into(),
                ..Default::default()
            },
            &meta,
        )
        .await
        .unwrap();
    auth.sso()
        .create_connection(
            &Caller::System,
            NewSsoConnection {
                group_id: group.id,
                name: "Okta".into(),
                config: ProtocolInput::Oidc(OidcInput {
                    issuer: "https://idp.example.net".into(),
                    client_id: "c".into(),
                    client_secret: Some(Secret::new(SECRET)),
                    ..OidcInput::default()
                }),
                status: None,
                default_role: None,
                role_mapping: Default::default(),
                extend: None,
            },
            &meta,
        )
        .await
        .unwrap();
    SECRET
}

fn assert_sealed(raw: &str, secret: &str) {
    assert!(!raw.contains(secret), "{raw}");
    let config: serde_json::Value = serde_json::from_str(raw).unwrap();
    let sealed = config["client_secret"].as_str().unwrap();
    assert!(sealed.starts_with("v1."), "{sealed}");
}

#[tokio::test]
async fn sqlite_sso_client_secret_is_sealed_in_the_raw_row() {
    let store = common::sqlite_file().await;
    let secret = connection_with_secret(store.clone()).await;
    let (raw,): (String,) = sqlx::query_as("SELECT config FROM sso_connections")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_sealed(&raw, secret);
}

#[tokio::test]
async fn postgres_sso_client_secret_is_sealed_in_the_raw_row() {
    if !common::postgres_available("postgres_sso_client_secret_is_sealed_in_the_raw_row") {
        return;
    }
    let store = common::postgres().await;
    let secret = connection_with_secret(store.clone()).await;
    let (raw,): (String,) = sqlx::query_as("SELECT config::text FROM sso_connections")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_sealed(&raw, secret);
}

#[tokio::test]
async fn sqlite_sso_domain_lookup_uses_an_index() {
    let store = common::sqlite_file().await;
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM sso_domains WHERE domain = $1 \
         AND verified_at IS NOT NULL AND require_sso)",
    )
    .bind("example.com")
    .fetch_all(store.pool())
    .await
    .unwrap();
    let plan: Vec<String> = plan.into_iter().map(|r| r.3).collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("USING INDEX sso_domains_")
                || step.contains("USING COVERING INDEX sso_domains_")),
        "{plan:?}"
    );
}
