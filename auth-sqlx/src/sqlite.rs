//! [`SqliteStore`]: the embedded default. One file (or memory), WAL mode, foreign keys on,
//! a busy timeout, and `BEGIN IMMEDIATE` for every writing transaction so that concurrent
//! writers queue on SQLite's lock instead of failing.

use std::str::FromStr;
use std::time::Duration;

use auth_core::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::error::store_error;

/// How long a writer waits for SQLite's lock before giving up with `STORE_UNAVAILABLE`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite storage. Cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`: `sqlite:auth.db`,
    /// `sqlite:///var/lib/app/auth.db` or `sqlite::memory:`. Does not migrate; call
    /// [`SqliteStore::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(store_error)?
            .create_if_missing(true);
        Self::connect_with(options).await
    }

    /// Opens a database with explicit options; WAL, foreign keys and the busy timeout are
    /// added to them. An in-memory database gets a single connection (so every caller sees
    /// the same data and writes never contend).
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let in_memory = options.get_filename().to_string_lossy().contains("memory");
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        }
        .connect_with(options)
        .await
        .map_err(store_error)?;
        Ok(Self { pool })
    }

    /// Wraps a pool the app configured itself. It must have foreign keys on.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Applies the migrations under `migrations/sqlite` that have not run yet. Idempotent.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e) => store_error(e),
                other => StoreError::backend(other),
            })
    }

    /// The pool, for app queries of its own.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Begins a writing transaction, taking SQLite's write lock at once.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)
    }
}

// What the SQL shared with PostgreSQL needs to know about SQLite; `shared/query.rs` imports
// these from here.
use SqliteStore as Backend;
type Db = Sqlite;
type Connection = sqlx::SqliteConnection;
/// SQLite has no row locks; `BEGIN IMMEDIATE` already serialises writers.
const FOR_UPDATE: &str = "";
/// The larger of two values (a scalar function of any number of arguments).
const GREATEST: &str = "MAX";
/// Nothing to take: `BEGIN IMMEDIATE` already serialises group moves with every writer.
const MOVE_LOCK: Option<&str> = None;
/// The 1-based position of a substring (`instr(haystack, needle)`), 0 when absent.
const POSITION: &str = "instr";
/// The statement that shows a query's plan, and the column of its rows that describes it.
const EXPLAIN: (&str, &str) = ("EXPLAIN QUERY PLAN", "detail");
/// The tags of the group aliased `g` as one JSON object (`{}` when it has none).
const GROUP_TAGS: &str = "(SELECT json_group_object(t.key, t.value) FROM group_tags t \
     WHERE t.group_id = g.id)";

/// The store traits, from the SQL shared with PostgreSQL: `src/shared/`, compiled here
/// for SQLite.
#[path = "shared/query.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "the shared files are compiled once per backend, on purpose"
)]
mod queries;
