//! [`PgInvalidation`]: cache invalidation across app nodes over PostgreSQL `LISTEN`/`NOTIFY`.
//!
//! Each node publishes its evictions with `pg_notify` on one channel and keeps one
//! connection listening on it (its own one-connection pool, outside the store's pool, named
//! in `pg_stat_activity` by its `application_name`). A notification's payload is text:
//! a header line `1 <node id>` (format version, publishing node), then one
//! [`Invalidation::to_line`] per line; a batch larger than PostgreSQL's payload limit
//! (8000 bytes) is split over several notifications, sent in one statement. A node skips
//! its own notifications (it applied them before publishing).
//!
//! Whenever the listening connection is (re)established, the node clears its caches:
//! notifications sent while it was not listening are lost. A payload this node cannot read
//! (another version, a malformed line) also clears them: something was meant to be evicted.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{ConfigError, Invalidation, InvalidationBus, InvalidationSink, StoreError};
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::PgStore;
use crate::error::store_error;

/// The channel unless [`PgInvalidation::channel`] names another.
pub const DEFAULT_CHANNEL: &str = "auth_invalidation";

/// The listening connection's `application_name` unless
/// [`PgInvalidation::application_name`] names another.
pub const DEFAULT_APPLICATION_NAME: &str = "auth-invalidation";

/// The payload format this node writes and reads.
const FORMAT_VERSION: &str = "1";

/// Bytes per notification payload: PostgreSQL refuses 8000 and more.
const MAX_PAYLOAD: usize = 7900;

/// Waits between attempts to re-establish the listening connection.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The PostgreSQL [`InvalidationBus`]: give it to
/// [`AuthBuilder::invalidation`](auth_core::AuthBuilder::invalidation) on every node that
/// shares the database.
///
/// ```no_run
/// # async fn demo(key: auth_core::SecretKey) -> Result<(), Box<dyn std::error::Error>> {
/// let store = auth_sqlx::PgStore::connect("postgres://app@db.internal/app").await?;
/// let auth = auth_core::Auth::builder(store.clone())
///     .secret_key(key)
///     .invalidation(auth_sqlx::PgInvalidation::new(&store))
///     .build()?; // inside a tokio runtime: it starts the listener
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PgInvalidation {
    publisher: PgPool,
    channel: Arc<str>,
    application_name: Arc<str>,
    node: Arc<str>,
}

impl PgInvalidation {
    /// A bus over `store`'s database: publishes through the store's pool; listens on
    /// [`DEFAULT_CHANNEL`] once subscribed. The node id is random per instance.
    pub fn new(store: &PgStore) -> Self {
        Self {
            publisher: store.pool().clone(),
            channel: DEFAULT_CHANNEL.into(),
            application_name: DEFAULT_APPLICATION_NAME.into(),
            node: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// Another channel (1 to 63 of `[a-z0-9_]`, starting with a letter), for apps that
    /// share one database but not their users.
    pub fn channel(mut self, name: &str) -> Result<Self, ConfigError> {
        let valid = (1..=63).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(ConfigError::Invalid {
                setting: "invalidation channel",
                reason: "1 to 63 of [a-z0-9_], starting with a letter",
            });
        }
        self.channel = name.into();
        Ok(self)
    }

    /// The listening connection's `application_name` (up to 63 printable ASCII
    /// characters), to tell the nodes' listeners apart in `pg_stat_activity`.
    pub fn application_name(mut self, name: &str) -> Result<Self, ConfigError> {
        if name.is_empty()
            || name.len() > 63
            || !name.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        {
            return Err(ConfigError::Invalid {
                setting: "invalidation application_name",
                reason: "1 to 63 printable ASCII characters",
            });
        }
        self.application_name = name.into();
        Ok(self)
    }

    /// The listener's own pool: one connection, never recycled, named.
    fn listener_pool(&self) -> PgPool {
        let options = (*self.publisher.connect_options())
            .clone()
            .application_name(&self.application_name);
        PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(RETRY_MAX)
            .connect_lazy_with(options)
    }
}

#[async_trait]
impl InvalidationBus for PgInvalidation {
    async fn publish(&self, events: &[Invalidation]) -> Result<(), StoreError> {
        let payloads = payloads(&self.node, events);
        if payloads.is_empty() {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
            .bind(&*self.channel)
            .bind(&payloads)
            .execute(&self.publisher)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    fn subscribe(&self, sink: InvalidationSink) -> Result<(), ConfigError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::Invalid {
            setting: "invalidation",
            reason: "PgInvalidation starts its listener on the tokio runtime: build Auth inside one",
        })?;
        let listener = Listener {
            pool: self.listener_pool(),
            channel: Arc::clone(&self.channel),
            node: Arc::clone(&self.node),
            sink,
        };
        runtime.spawn(listener.run());
        Ok(())
    }
}

/// The payloads carrying `events` from `node`: as few as fit under the limit.
fn payloads(node: &str, events: &[Invalidation]) -> Vec<String> {
    let header = format!("{FORMAT_VERSION} {node}");
    let mut payloads = Vec::new();
    let mut current = header.clone();
    for line in events.iter().map(Invalidation::to_line) {
        if current.len() + 1 + line.len() > MAX_PAYLOAD && current.len() > header.len() {
            payloads.push(std::mem::replace(&mut current, header.clone()));
        }
        current.push('\n');
        current.push_str(&line);
    }
    if current.len() > header.len() {
        payloads.push(current);
    }
    payloads
}

/// What a payload asks of this node.
#[derive(Debug, PartialEq, Eq)]
enum Received {
    /// This node's own notification.
    Own,
    /// Another node's evictions.
    Events(Vec<Invalidation>),
    /// Something this node cannot read: clear everything.
    Unreadable,
}

fn parse(own_node: &str, payload: &str) -> Received {
    let mut lines = payload.split('\n');
    let header = lines.next().unwrap_or_default();
    let Some((version, node)) = header.split_once(' ') else {
        return Received::Unreadable;
    };
    if version != FORMAT_VERSION {
        return Received::Unreadable;
    }
    if node == own_node {
        return Received::Own;
    }
    lines
        .map(Invalidation::from_line)
        .collect::<Option<Vec<_>>>()
        .map_or(Received::Unreadable, Received::Events)
}

/// The task that listens for other nodes' notifications.
struct Listener {
    pool: PgPool,
    channel: Arc<str>,
    node: Arc<str>,
    sink: InvalidationSink,
}

impl Listener {
    /// Listens until the `Auth` is gone, re-establishing the connection as needed.
    async fn run(self) {
        let mut retry = RETRY_MIN;
        while !self.sink.is_closed() {
            match self.connect().await {
                Ok(mut listener) => {
                    retry = RETRY_MIN;
                    tracing::info!(channel = %self.channel, "listening for cache invalidations");
                    if !self.sink.resync() || !self.receive(&mut listener).await {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, retry_ms = retry.as_millis(), "cannot listen for cache invalidations; caches expire by their TTL meanwhile");
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.ignore_pool_close_event(true);
        listener.listen(&self.channel).await?;
        Ok(listener)
    }

    /// Applies notifications until the connection fails (`true`: connect again) or the
    /// `Auth` is gone (`false`).
    async fn receive(&self, listener: &mut PgListener) -> bool {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    let open = match parse(&self.node, notification.payload()) {
                        Received::Own => !self.sink.is_closed(),
                        Received::Events(events) => self.sink.apply(&events),
                        Received::Unreadable => {
                            tracing::warn!("unreadable cache invalidation; clearing the caches");
                            self.sink.resync()
                        }
                    };
                    if !open {
                        return false;
                    }
                }
                // The connection was lost and re-established (LISTEN again) before this
                // returned: whatever was sent meanwhile is lost.
                Ok(None) => {
                    tracing::warn!("cache invalidation listener reconnected; clearing the caches");
                    if !self.sink.resync() {
                        return false;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cache invalidation listener lost its connection");
                    return true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_core::{ApiKeyId, TokenHash, UserId};

    use super::*;

    fn sessions(n: usize) -> Vec<Invalidation> {
        (0..n)
            .map(|i| Invalidation::Session(TokenHash::of(&format!("token {i}"))))
            .collect()
    }

    #[test]
    fn a_small_batch_is_one_payload_that_other_nodes_read_back() {
        let events = vec![
            Invalidation::User(UserId::new()),
            Invalidation::ApiKey {
                id: ApiKeyId::new(),
                key_hash: TokenHash::of("key"),
            },
            Invalidation::AllApiKeys,
        ];
        let payloads = payloads("node-a", &events);
        assert_eq!(payloads.len(), 1);
        assert_eq!(parse("node-b", &payloads[0]), Received::Events(events));
        assert_eq!(parse("node-a", &payloads[0]), Received::Own);
    }

    #[test]
    fn a_large_batch_is_split_under_the_payload_limit_and_loses_nothing() {
        let events = sessions(500);
        let payloads = payloads("node-a", &events);
        assert!(payloads.len() > 1);
        let mut read = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= MAX_PAYLOAD, "{} bytes", payload.len());
            match parse("node-b", payload) {
                Received::Events(events) => read.extend(events),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(read, events);
    }

    #[test]
    fn nothing_to_send_is_no_payload() {
        assert!(payloads("node-a", &[]).is_empty());
    }

    #[test]
    fn unreadable_payloads_ask_for_a_full_clear() {
        let line = Invalidation::AllApiKeys.to_line();
        for payload in [
            String::new(),
            "1".to_owned(),
            format!("2 node-a\n{line}"),
            "1 node-a\nnonsense".to_owned(),
            format!("1 node-a\n{line}\n"),
        ] {
            assert_eq!(
                parse("node-b", &payload),
                Received::Unreadable,
                "{payload:?}"
            );
        }
    }

    #[tokio::test]
    async fn channel_and_application_names_are_checked() {
        let options = sqlx::postgres::PgConnectOptions::new();
        let store = PgStore::from_pool(PgPoolOptions::new().connect_lazy_with(options));
        let bus = PgInvalidation::new(&store);
        assert!(bus.clone().channel("auth_cache_2").is_ok());
        for bad in ["", "2auth", "Auth", "auth-cache", "a\"b", &"a".repeat(64)] {
            assert!(bus.clone().channel(bad).is_err(), "{bad:?}");
        }
        assert!(
            bus.clone()
                .application_name("auth-invalidation node-b")
                .is_ok()
        );
        assert!(bus.clone().application_name("").is_err());
        assert!(bus.application_name("tab\there").is_err());
    }
}
