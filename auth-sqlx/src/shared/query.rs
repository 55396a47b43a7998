// The SQL shared by both backends: this module, declared with `#[path]` in `sqlite.rs` and
// `postgres.rs`, is compiled once per backend. Its parent defines `Backend`, `Db`,
// `Connection` and the SQL that differs (`FOR_UPDATE`, `MOVE_LOCK`, `GROUP_TAGS`). It holds
// the imports and helpers every store module uses; each store module (the files next to
// this one) takes them with `use super::*`.

use super::{
    Backend, Connection, Db, EXPLAIN, FOR_UPDATE, GREATEST, GROUP_TAGS, MOVE_LOCK, POSITION,
};

use auth_core::pagination::{Direction, PageRequest, SortField, SortValue};
use auth_core::{StoreError, TokenHash};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::store_error;
use crate::rows::convert;
use crate::types::Ts;

mod accounts;
mod api_keys;
mod audit;
mod ceremonies;
mod credentials;
mod groups;
mod invites;
mod members;
mod passkeys;
mod scim;
mod sessions;
mod sso;
mod totp;
mod users;
mod verification;

/// Appends the keyset condition (rows strictly after the cursor in the request's direction)
/// and `ORDER BY <column>, id ... LIMIT fetch_limit`. The WHERE clause must be open.
fn push_page<F, O: SortField>(
    query: &mut QueryBuilder<'_, Db>,
    column: &str,
    request: &PageRequest<F, O>,
) {
    let (op, dir) = match request.direction {
        Direction::Asc => (">", "ASC"),
        Direction::Desc => ("<", "DESC"),
    };
    if let Some(position) = &request.after {
        query.push(format!(" AND ({column}, id) {op} ("));
        match &position.value {
            SortValue::Time(t) => query.push_bind(crate::types::Ts(*t)),
            SortValue::Text(s) => query.push_bind(s.clone()),
        };
        query.push(", ").push_bind(position.id).push(")");
    }
    query.push(format!(" ORDER BY {column} {dir}, id {dir} LIMIT "));
    query.push_bind(i64::try_from(request.fetch_limit()).unwrap_or(i64::MAX));
}

/// A LIKE pattern matching `needle` anywhere, ASCII case-insensitively when compared with
/// `lower(column)`; `%`, `_` and `\` in the needle match themselves (`ESCAPE '\'`).
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Reads a column of token hashes.
fn token_hashes(rows: Vec<(Vec<u8>,)>) -> Result<Vec<TokenHash>, StoreError> {
    rows.into_iter()
        .map(|(bytes,)| {
            TokenHash::from_slice(&bytes)
                .ok_or_else(|| StoreError::corrupt("a token hash is not 32 bytes"))
        })
        .collect()
}
