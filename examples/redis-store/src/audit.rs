//! [`AuditStore`]: events as JSON under `audit:{id}`, listed through `audit:all` and,
//! per acting user, `audit:user:{id}` (both scored by time).

use async_trait::async_trait;
use auth_core::audit::{AuditEvent, AuditFilter, AuditOrder};
use auth_core::pagination::PageRequest;
use auth_core::{AuditStore, StoreError};

use crate::list::Index;
use crate::tx::{decode, encode};
use crate::{RedisStore, micros, redis_error};

#[async_trait]
impl AuditStore for RedisStore {
    /// The event and its index entries in one `MULTI`/`EXEC` (nothing to watch: append
    /// only).
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let id = event.id.to_string();
        let at = micros(event.at);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("SET")
            .arg(self.audit_key(&id))
            .arg(encode(event)?)
            .ignore();
        pipe.cmd("ZADD")
            .arg(self.audit_all_key())
            .arg(at)
            .arg(&id)
            .ignore();
        if let Some(user) = event.actor.user_id() {
            pipe.cmd("ZADD")
                .arg(self.audit_user_key(user))
                .arg(at)
                .arg(&id)
                .ignore();
        }
        pipe.exec_async(&mut self.conn()).await.map_err(redis_error)
    }

    /// Walks the acting user's set when the filter names one, else the whole log.
    async fn list_audit(
        &self,
        request: &PageRequest<AuditFilter, AuditOrder>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let zset = match request.filter.actor_user {
            Some(user) => self.audit_user_key(user),
            None => self.audit_all_key(),
        };
        self.walk(
            &zset,
            Index::Time,
            request,
            |id| self.audit_key(id),
            |json| decode::<AuditEvent>(json, "audit event"),
            |event| request.filter.matches(event),
        )
        .await
    }
}
