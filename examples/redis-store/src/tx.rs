//! `WATCH`/`MULTI`/`EXEC` on a dedicated connection: how every read-decide-write method
//! stays atomic across processes.
//!
//! A method watches the keys it will decide on, reads them, computes the new values, and
//! queues its writes in one `MULTI`/`EXEC`. If any watched key changed in between (another
//! node wrote it), Redis runs nothing and the method starts again from the reads.

use std::sync::{Arc, Mutex, PoisonError};

use auth_core::StoreError;
use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, Pipeline};
use serde::de::DeserializeOwned;

use crate::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT, RedisStore, redis_error};

/// How many times a transaction is retried under contention before giving up.
pub(crate) const MAX_ATTEMPTS: usize = 100;

/// Idle dedicated connections kept for later transactions.
const MAX_IDLE: usize = 8;

/// The error after [`MAX_ATTEMPTS`] aborted transactions.
pub(crate) fn contention() -> StoreError {
    StoreError::backend("too much contention: the transaction kept being aborted")
}

/// Decodes a stored JSON record; malformed data is [`StoreError::Corrupt`], never a panic.
pub(crate) fn decode<T: DeserializeOwned>(json: &str, what: &'static str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|_| StoreError::corrupt(what))
}

/// Encodes a record as JSON.
pub(crate) fn encode<T: serde::Serialize>(record: &T) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(StoreError::backend)
}

/// One dedicated connection, borrowed for one transaction (and its retries).
pub(crate) struct Tx {
    conn: MultiplexedConnection,
    idle: Arc<Mutex<Vec<MultiplexedConnection>>>,
    /// No `WATCH` pending: the connection may go back to the idle list.
    clean: bool,
}

impl RedisStore {
    /// A dedicated connection for a transaction.
    pub(crate) async fn tx(&self) -> Result<Tx, StoreError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT));
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(redis_error)?
            }
        };
        Ok(Tx {
            conn,
            idle: Arc::clone(&self.idle),
            clean: true,
        })
    }
}

impl Tx {
    /// `WATCH`es `keys`: a later [`Tx::exec`] commits only if none of them changed.
    pub(crate) async fn watch<K: AsRef<str>>(&mut self, keys: &[K]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.clean = false;
        let keys: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
        redis::cmd("WATCH")
            .arg(&keys)
            .exec_async(&mut self.conn)
            .await
            .map_err(redis_error)
    }

    /// Ends the transaction without writing.
    pub(crate) async fn unwatch(&mut self) -> Result<(), StoreError> {
        redis::cmd("UNWATCH")
            .exec_async(&mut self.conn)
            .await
            .map_err(redis_error)?;
        self.clean = true;
        Ok(())
    }

    /// Runs a command on the transaction's connection (a read of a watched key).
    pub(crate) async fn query<T: FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
    ) -> Result<T, StoreError> {
        cmd.query_async(&mut self.conn).await.map_err(redis_error)
    }

    /// `GET key`.
    pub(crate) async fn get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.query(redis::cmd("GET").arg(key)).await
    }

    /// `GET key` decoded as a JSON record.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &mut self,
        key: &str,
        what: &'static str,
    ) -> Result<Option<T>, StoreError> {
        self.get(key)
            .await?
            .map(|json| decode(&json, what))
            .transpose()
    }

    /// `EXISTS key`.
    pub(crate) async fn exists(&mut self, key: &str) -> Result<bool, StoreError> {
        self.query(redis::cmd("EXISTS").arg(key)).await
    }

    /// `MGET keys`, decoding each present value as a JSON record.
    pub(crate) async fn get_many_json<T: DeserializeOwned>(
        &mut self,
        keys: &[String],
        what: &'static str,
    ) -> Result<Vec<Option<T>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<String>> = self.query(redis::cmd("MGET").arg(keys)).await?;
        values
            .into_iter()
            .map(|v| v.map(|json| decode(&json, what)).transpose())
            .collect()
    }

    /// Watches `key`, then reads it as a JSON record.
    pub(crate) async fn watch_json<T: DeserializeOwned>(
        &mut self,
        key: &str,
        what: &'static str,
    ) -> Result<Option<T>, StoreError> {
        self.watch(&[key]).await?;
        self.get_json(key, what).await
    }

    /// Runs `pipe` as `MULTI`/`EXEC`; `false` if a watched key changed and nothing ran.
    pub(crate) async fn exec(&mut self, pipe: &mut Pipeline) -> Result<bool, StoreError> {
        let reply: Option<redis::Value> = pipe
            .atomic()
            .query_async(&mut self.conn)
            .await
            .map_err(redis_error)?;
        // EXEC (or its abort) ends every WATCH.
        self.clean = true;
        Ok(reply.is_some())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if !self.clean {
            // A WATCH may still be pending (an error cut the method short): drop the
            // connection rather than hand its state to the next transaction.
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(self.conn.clone());
        }
    }
}
