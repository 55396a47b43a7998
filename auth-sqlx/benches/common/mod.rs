//! Stores for the benchmarks: a temporary SQLite file, and a schema of the PostgreSQL
//! database `auth_bench` (created on first use, kept between runs).

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::str::FromStr;

use auth_core::UserId;
use auth_sqlx::{PgStore, SqliteStore};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// A migrated SQLite store in a new temporary file (delete the path when done).
pub async fn sqlite() -> (SqliteStore, PathBuf) {
    let path = std::env::temp_dir().join(format!("auth-bench-{}.db", UserId::new()));
    let store = SqliteStore::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, path)
}

/// A migrated PostgreSQL store on `schema` of the database `auth_bench` of the server
/// named by `url`.
pub async fn postgres(url: &str, schema: &str) -> PgStore {
    let server = PgConnectOptions::from_str(url).unwrap();
    let mut admin = PgConnection::connect_with(&server).await.unwrap();
    let exists: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = 'auth_bench'")
            .fetch_optional(&mut admin)
            .await
            .unwrap();
    if exists.is_none() {
        sqlx::query("CREATE DATABASE auth_bench")
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let options = server.database("auth_bench");
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let store = PgStore::connect_with(
        options.options([("search_path", schema)]),
        PgStore::pool_options().max_connections(4),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
}
