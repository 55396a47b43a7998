//! Test harness: fresh SQLite files and isolated PostgreSQL schemas.
//!
//! PostgreSQL tests read the server URL from `AUTH_TEST_POSTGRES_URL` (set by
//! `scripts/test.sh`); without it they print that they were skipped. Each test binary
//! creates one database `auth_test_<unix time>_<run>_<random>` and each test one schema in
//! it, so tests run in parallel without seeing each other's rows. `<run>` is
//! `AUTH_TEST_RUN` (set by `scripts/test.sh`, which drops that run's databases at its end
//! and never another's: two runs may share a server); databases of this naming older than
//! an hour are dropped when the next run starts.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::GroupId;
use auth_sqlx::{PgStore, SqliteStore};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

/// The environment variable naming the PostgreSQL server to test against.
pub const PG_ENV: &str = "AUTH_TEST_POSTGRES_URL";

/// A fresh SQLite database file under the target directory, migrated.
pub async fn sqlite_file() -> SqliteStore {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("auth-sqlx-{}.db", uuid::Uuid::new_v4()));
    let store = SqliteStore::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("open sqlite file");
    store.migrate().await.expect("migrate sqlite");
    store
}

/// A second pool on the same SQLite file (another process's view).
pub async fn sqlite_peer(store: SqliteStore) -> SqliteStore {
    let options = (*store.pool().connect_options()).clone();
    SqliteStore::connect_with(options)
        .await
        .expect("reopen sqlite file")
}

/// A fresh in-memory SQLite database, migrated.
pub async fn sqlite_memory() -> SqliteStore {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("open memory");
    store.migrate().await.expect("migrate memory");
    store
}

fn server_options() -> PgConnectOptions {
    let url = std::env::var(PG_ENV).expect("AUTH_TEST_POSTGRES_URL is set");
    PgConnectOptions::from_str(&url).expect("AUTH_TEST_POSTGRES_URL is a postgres URL")
}

static RUN_DATABASE: OnceCell<String> = OnceCell::const_new();

/// This test binary's database, created on first use.
async fn run_database() -> &'static str {
    RUN_DATABASE
        .get_or_init(|| async {
            let mut admin = PgConnection::connect_with(&server_options())
                .await
                .expect("connect to the test server");
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let stale: Vec<(String,)> = sqlx::query_as(
                "SELECT datname FROM pg_database WHERE datname LIKE 'auth\\_test\\_%'",
            )
            .fetch_all(&mut admin)
            .await
            .unwrap();
            for (name,) in stale {
                let created = name.split('_').nth(2).and_then(|t| t.parse::<u64>().ok());
                if created.is_some_and(|t| t + 3600 < now) {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                }
            }
            let name = format!(
                "auth_test_{now}_{}_{}",
                test_run(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            );
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
                .expect("create the run database");
            name
        })
        .await
}

/// This test run's tag, `AUTH_TEST_RUN` (letters and digits, set by `scripts/test.sh`) or
/// `local`.
fn test_run() -> String {
    std::env::var("AUTH_TEST_RUN").unwrap_or_else(|_| "local".to_owned())
}

/// Connection options for a fresh, empty schema in this run's database.
pub async fn pg_schema_options() -> PgConnectOptions {
    let options = server_options().database(run_database().await);
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect_with(&options).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    options.options([("search_path", schema.as_str())])
}

/// A migrated PgStore on a fresh schema.
pub async fn postgres() -> PgStore {
    let store = PgStore::connect_with(
        pg_schema_options().await,
        PgStore::pool_options().max_connections(4),
    )
    .await
    .expect("connect");
    store.migrate().await.expect("migrate postgres");
    store
}

/// A second pool on the same schema: another app node.
pub async fn postgres_peer(store: PgStore) -> PgStore {
    let options = (*store.pool().connect_options()).clone();
    PgStore::connect_with(options, PgStore::pool_options().max_connections(4))
        .await
        .expect("connect peer")
}

/// Sets a group's parent with plain SQL, bypassing the store's cycle check (the
/// conformance suite's planted cycle).
pub async fn plant_parent_sqlite(store: SqliteStore, group: GroupId, parent: Option<GroupId>) {
    sqlx::query("UPDATE groups SET parent_id = $1 WHERE id = $2")
        .bind(parent.map(|p| p.as_uuid()))
        .bind(group.as_uuid())
        .execute(store.pool())
        .await
        .expect("plant a parent");
}

/// [`plant_parent_sqlite`] for PostgreSQL.
pub async fn plant_parent_postgres(store: PgStore, group: GroupId, parent: Option<GroupId>) {
    sqlx::query("UPDATE groups SET parent_id = $1 WHERE id = $2")
        .bind(parent.map(|p| p.as_uuid()))
        .bind(group.as_uuid())
        .execute(store.pool())
        .await
        .expect("plant a parent");
}

/// Whether PostgreSQL tests can run; prints a loud skip line when not.
pub fn postgres_available(test: &str) -> bool {
    if std::env::var_os(PG_ENV).is_some() {
        return true;
    }
    eprintln!("SKIPPED {test}: set {PG_ENV} to run it");
    false
}
