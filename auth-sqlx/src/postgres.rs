//! [`PgStore`]: PostgreSQL, the path to many app nodes. Every compound operation is one
//! transaction; concurrency is handled with row locks (`SELECT ... FOR UPDATE`) and
//! conditional updates, never with in-process locks, so it holds across nodes.

use std::str::FromStr;
use std::time::Duration;

use auth_core::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::error::store_error;

/// PostgreSQL storage. Cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// How long a call waits for a pooled connection (including opening one) before it
    /// fails with `STORE_UNAVAILABLE`, in [`PgStore::pool_options`]. While the database is
    /// down, sqlx keeps retrying a refused connection until this deadline, so it is also
    /// how long a request takes to answer 503 then: short, so an outage is answered
    /// promptly instead of piling requests up.
    pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

    /// The pool settings [`PgStore::connect`] uses: up to 16 connections, each call waiting
    /// at most [`PgStore::ACQUIRE_TIMEOUT`] for one. Start from these to change them.
    pub fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Self::ACQUIRE_TIMEOUT)
    }

    /// Connects to `url` (`postgres://user@host/db`) with [`PgStore::pool_options`].
    /// Does not migrate; call [`PgStore::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(store_error)?;
        Self::connect_with(options, Self::pool_options()).await
    }

    /// Connects with explicit connection and pool options, used as given (sqlx's own
    /// defaults wait 30 s for a connection; see [`PgStore::pool_options`]).
    pub async fn connect_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
    ) -> Result<Self, StoreError> {
        let pool = pool.connect_with(options).await.map_err(store_error)?;
        Ok(Self { pool })
    }

    /// Wraps a pool the app configured itself.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies the migrations under `migrations/postgres` that have not run yet.
    /// Idempotent, and safe to run from several nodes at once (sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e) => store_error(e),
                other => StoreError::backend(other),
            })
    }

    /// The pool, for app queries of its own.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(store_error)
    }
}

// What the SQL shared with SQLite needs to know about PostgreSQL; `shared/query.rs` imports
// these from here.
use PgStore as Backend;
type Db = Postgres;
type Connection = sqlx::PgConnection;
/// Row locks make concurrent read-check-write sequences queue per row.
const FOR_UPDATE: &str = " FOR UPDATE";
/// The larger of two values (a scalar function of any number of arguments).
const GREATEST: &str = "GREATEST";
/// A transaction-scoped advisory lock that every group move takes first, so moves queue
/// across nodes and each one's cycle check sees the moves committed before it. The key
/// is the bytes of "authmove" read as a big-endian integer.
const MOVE_LOCK: Option<&str> = Some("SELECT pg_advisory_xact_lock(7022647185815598693)");
/// The 1-based position of a substring (`strpos(haystack, needle)`), 0 when absent.
const POSITION: &str = "strpos";
/// The statement that shows a query's plan, and the column of its rows that describes it.
const EXPLAIN: (&str, &str) = ("EXPLAIN ANALYZE", "QUERY PLAN");
/// The tags of the group aliased `g` as one JSON object (`{}` when it has none).
const GROUP_TAGS: &str = "(SELECT COALESCE(jsonb_object_agg(t.key, t.value), '{}') \
     FROM group_tags t WHERE t.group_id = g.id)";

/// The store traits, from the SQL shared with SQLite: `src/shared/`, compiled here for
/// PostgreSQL.
#[path = "shared/query.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "the shared files are compiled once per backend, on purpose"
)]
mod queries;
