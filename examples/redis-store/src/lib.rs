//! `RedisStore`: the core storage traits of `auth-core` written from scratch on Redis.
//!
//! Records are JSON strings (`serde_json`), found through secondary index keys (email →
//! user, provider identity → account, token hash → session, refresh hash → refresh token,
//! link hash → code) and listed through sorted sets walked by keyset. Every compound
//! method is atomic across processes: a `WATCH`/`MULTI`/`EXEC` loop on a dedicated
//! connection (the new value is computed here from what was read, and written only if
//! nothing watched changed meanwhile), or a Lua script (`take_rate_limit`, the one-round-trip
//! `find_session_by_token`). No in-process lock decides anything, so any number of app
//! nodes can share one Redis. Sessions, refresh tokens and codes expire in Redis with
//! their absolute expiry (`PEXPIREAT`), rate-limit counters with their window.
//!
//! Every key starts with the prefix given to [`RedisStore::connect`], so several stores
//! (or test runs) share one server without seeing each other. The layout and the reasons
//! are in `docs/custom-store.md`.

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

mod accounts;
pub mod app;
mod audit;
mod list;
mod rate_limit;
mod records;
mod sessions;
mod tx;
mod users;
mod verification;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::verification::Purpose;
use auth_core::{
    AccountId, Email, Provider, SessionId, StoreError, TokenHash, UserId, VerificationId,
};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use time::OffsetDateTime;

/// How long connecting may take before the store is unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a reply may take before the store is unavailable.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A store on one Redis server, under one key prefix. Cheap to clone: clones share the
/// connections.
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    /// Shared, auto-reconnecting connection for plain commands and scripts.
    conn: ConnectionManager,
    /// Idle dedicated connections for `WATCH` transactions (a `WATCH` belongs to a
    /// connection, so a transaction never shares one).
    idle: Arc<Mutex<Vec<MultiplexedConnection>>>,
    prefix: Arc<str>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://host:port/db`) and keeps every key
    /// under `prefix` (for example `"auth:"`).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(redis_error)?;
        Self::with_client(client, prefix).await
    }

    /// A second handle on the same server and prefix with its own connections, as another
    /// app node would hold.
    pub async fn reconnect(&self) -> Result<Self, StoreError> {
        Self::with_client(self.client.clone(), &self.prefix).await
    }

    async fn with_client(client: redis::Client, prefix: &str) -> Result<Self, StoreError> {
        // Reconnects in the background after a failure, but a server that is not there
        // at start-up is reported within seconds. A reply may take up to RESPONSE_TIMEOUT
        // (the client's default, 500 ms, is short for a loaded machine).
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(redis_error)?;
        Ok(Self {
            client,
            conn,
            idle: Arc::new(Mutex::new(Vec::new())),
            prefix: prefix.into(),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Deletes every key under the prefix (`SCAN` + `UNLINK`); returns how many. For tests
    /// and for tearing a deployment down, never for a live one.
    pub async fn clear(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}*", escape_glob(&self.prefix));
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            if !keys.is_empty() {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// The shared connection.
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A key under the prefix.
    pub(crate) fn key(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}{}", self.prefix, rest)
    }

    /// The members of the expiry index `ends` (a sorted set scored by [`micros`]) that end
    /// at or before `before`: what a purge walks.
    pub(crate) async fn ended(
        &self,
        ends: &str,
        before: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        redis::cmd("ZRANGE")
            .arg(ends)
            .arg("-inf")
            .arg(micros(before))
            .arg("BYSCORE")
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)
    }
}

/// The key layout: every key of the store, under the prefix.
impl RedisStore {
    /// `user:{id}`: the user, JSON.
    pub(crate) fn user_key(&self, id: UserId) -> String {
        self.key(format_args!("user:{id}"))
    }
    /// `user:{id}:accounts`: sorted set of the user's account ids by creation.
    pub(crate) fn user_accounts_key(&self, id: UserId) -> String {
        self.key(format_args!("user:{id}:accounts"))
    }
    /// `user:{id}:sessions`: sorted set of the user's session ids by creation.
    pub(crate) fn user_sessions_key(&self, id: UserId) -> String {
        self.key(format_args!("user:{id}:sessions"))
    }
    /// `user:{id}:codes`: set of the verification ids issued for the user.
    pub(crate) fn user_codes_key(&self, id: UserId) -> String {
        self.key(format_args!("user:{id}:codes"))
    }
    /// `email:{email}`: the id of the user with this normalised email.
    pub(crate) fn email_key(&self, email: &Email) -> String {
        self.key(format_args!("email:{email}"))
    }
    /// `users:by-created`: sorted set of user ids, scored by creation time.
    pub(crate) fn users_by_created_key(&self) -> String {
        self.key(format_args!("users:by-created"))
    }
    /// `users:by-email`: sorted set of `email NUL id`, all scored 0 (walked by lex order).
    pub(crate) fn users_by_email_key(&self) -> String {
        self.key(format_args!("users:by-email"))
    }
    /// `account:{id}`: the account, JSON.
    pub(crate) fn account_key(&self, id: AccountId) -> String {
        self.key(format_args!("account:{id}"))
    }
    /// `account-of:{len}:{provider}:{provider account id}`: the account id of a provider
    /// identity (the provider's length keeps the two parts apart).
    pub(crate) fn account_of_key(&self, provider: &Provider, provider_account_id: &str) -> String {
        let provider = provider.as_str();
        self.key(format_args!(
            "account-of:{}:{provider}:{provider_account_id}",
            provider.len()
        ))
    }
    /// `session:{id}`: the session, JSON; expires with the session.
    pub(crate) fn session_key(&self, id: SessionId) -> String {
        self.key(format_args!("session:{id}"))
    }
    /// `session:{id}:refresh`: set of the session's refresh token hashes; expires with it.
    pub(crate) fn session_refresh_key(&self, id: SessionId) -> String {
        self.key(format_args!("session:{id}:refresh"))
    }
    /// `session-token:{hash}`: the id of the session with this token hash.
    pub(crate) fn session_token_key(&self, hash: &TokenHash) -> String {
        self.key(format_args!("session-token:{}", hash.to_base64()))
    }
    /// `refresh:{hash}`: the refresh token, JSON; expires with its session.
    pub(crate) fn refresh_key(&self, hash: &TokenHash) -> String {
        self.key(format_args!("refresh:{}", hash.to_base64()))
    }
    /// `sessions:ends`: sorted set of `session id:user id`, scored by when the session
    /// ends (the earliest of revocation, idle and absolute expiry); what purges walk.
    pub(crate) fn sessions_ends_key(&self) -> String {
        self.key(format_args!("sessions:ends"))
    }
    /// `code:{id}`: the verification, JSON; expires with the code.
    pub(crate) fn code_key(&self, id: VerificationId) -> String {
        self.key(format_args!("code:{id}"))
    }
    /// `code-active:{purpose}:{email}`: the id of the one unused code for them.
    pub(crate) fn code_active_key(&self, purpose: Purpose, email: &Email) -> String {
        self.key(format_args!("code-active:{}:{email}", purpose.as_str()))
    }
    /// `code-link:{purpose}:{hash}`: the id of the unused code with this link hash.
    pub(crate) fn code_link_key(&self, purpose: Purpose, hash: &TokenHash) -> String {
        self.key(format_args!(
            "code-link:{}:{}",
            purpose.as_str(),
            hash.to_base64()
        ))
    }
    /// `codes-of:{email}`: set of the verification ids sent to this address.
    pub(crate) fn codes_of_email_key(&self, email: &Email) -> String {
        self.key(format_args!("codes-of:{email}"))
    }
    /// `codes:ends`: sorted set of verification ids, scored by expiry or use.
    pub(crate) fn codes_ends_key(&self) -> String {
        self.key(format_args!("codes:ends"))
    }
    /// `audit:{id}`: the event, JSON.
    pub(crate) fn audit_key(&self, id: &str) -> String {
        self.key(format_args!("audit:{id}"))
    }
    /// `audit:all`: sorted set of every event id by time.
    pub(crate) fn audit_all_key(&self) -> String {
        self.key(format_args!("audit:all"))
    }
    /// `audit:user:{id}`: sorted set of the ids of the events a user did, by time.
    pub(crate) fn audit_user_key(&self, id: UserId) -> String {
        self.key(format_args!("audit:user:{id}"))
    }
    /// `rate:{window start}:{bucket}`: a counter; expires with its window.
    pub(crate) fn rate_key(&self, bucket: &str) -> String {
        self.key(format_args!("rate:{bucket}"))
    }
    /// `rate:ends`: sorted set of bucket keys by the time their allowance is whole again.
    pub(crate) fn rate_ends_key(&self) -> String {
        self.key(format_args!("rate:ends"))
    }
}

/// Escapes `*?[]\` so a prefix matches itself in a `SCAN MATCH` pattern.
fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Maps a Redis error: connectivity to [`StoreError::unavailable`], anything else to
/// [`StoreError::backend`].
pub(crate) fn redis_error(error: redis::RedisError) -> StoreError {
    if error.is_io_error()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_timeout()
    {
        StoreError::unavailable(error)
    } else {
        StoreError::backend(error)
    }
}

/// Microseconds since the Unix epoch: sorted-set scores (exact in an `f64` until 2255).
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// Milliseconds since the Unix epoch, rounded up: `PEXPIREAT` arguments, so a key never
/// disappears before the instant it stands for.
pub(crate) fn millis_ceil(t: OffsetDateTime) -> i64 {
    let nanos = t.unix_timestamp_nanos();
    i64::try_from((nanos + 999_999).div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

/// The docs of `docs/custom-store.md`, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/custom-store.md")]
pub struct CustomStoreDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_themselves_in_scan_patterns() {
        assert_eq!(escape_glob("auth:"), "auth:");
        assert_eq!(escape_glob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn expiry_never_comes_early_and_scores_are_microseconds() {
        let t = time::macros::datetime!(2030-01-01 0:00:00.000_000_001 UTC);
        assert_eq!(millis_ceil(t), 1_893_456_000_001);
        assert_eq!(micros(t), 1_893_456_000_000_000);
        let exact = time::macros::datetime!(2030-01-01 0:00 UTC);
        assert_eq!(millis_ceil(exact), 1_893_456_000_000);
    }
}
