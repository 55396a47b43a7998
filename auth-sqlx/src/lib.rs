//! # auth-sqlx
//!
//! SQLite (embedded default) and PostgreSQL (production, many nodes) storage for
//! `auth-core`, built on sqlx with runtime-checked queries (no database needed to build).
//!
//! ```no_run
//! # async fn demo() -> Result<(), auth_core::StoreError> {
//! # #[cfg(feature = "sqlite")] {
//! let store = auth_sqlx::SqliteStore::connect("sqlite:auth.db").await?;
//! store.migrate().await?;
//! # }
//! # #[cfg(feature = "postgres")] {
//! let pg = auth_sqlx::PgStore::connect("postgres://app@db.internal/app").await?;
//! pg.migrate().await?;
//! # }
//! # Ok(()) }
//! ```
//!
//! Both stores implement every repository trait with the same SQL (`src/shared/`, compiled
//! once per backend): compound operations are single transactions, PostgreSQL serialises
//! contended rows with `SELECT ... FOR UPDATE`, SQLite with `BEGIN IMMEDIATE`. Timestamps
//! are `timestamptz` on PostgreSQL and integer microseconds on SQLite. Connection failures
//! surface as [`StoreError::Unavailable`](auth_core::StoreError::Unavailable).
//!
//! With several app nodes on one PostgreSQL database, [`PgInvalidation`] carries each
//! node's cache evictions (revoked sessions and keys) to the others over `LISTEN`/`NOTIFY`.

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod error;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub mod postgres_invalidation;
mod rows;
#[cfg(feature = "sqlite")]
mod sqlite;
mod types;

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "postgres")]
pub use postgres_invalidation::PgInvalidation;

/// The session lookup on the request path (a cache miss): ONE query on the unique
/// token-hash index, joined with the user. Public so operators can `EXPLAIN` it.
pub const SESSION_LOOKUP_SQL: &str = "SELECT s.id, s.user_id, s.token_hash, s.aal, s.ip, \
     s.user_agent, s.created_at, s.last_seen_at, s.idle_expires_at, s.expires_at, \
     s.revoked_at, s.sso_connection_id, u.email AS u_email, u.email_verified AS u_email_verified, \
     u.name AS u_name, u.image AS u_image, u.extend AS u_extend, \
     u.created_at AS u_created_at, u.updated_at AS u_updated_at \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1";
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
