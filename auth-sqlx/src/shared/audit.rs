// AuditStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::AuditStore;
use auth_core::audit::{AuditEvent, AuditFilter, AuditOrder};

use crate::rows::{AuditRow, actor_columns};

const AUDIT_COLUMNS: &str = "id, at, action, actor_type, actor_id, subject, ok, error_code, \
     ip, user_agent, request_id, session_id, detail";

#[async_trait::async_trait]
impl AuditStore for Backend {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let (actor_type, actor_id) = actor_columns(&event.actor);
        sqlx::query(&format!(
            "INSERT INTO audit_events ({AUDIT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(event.id.as_uuid())
        .bind(Ts(event.at))
        .bind(event.action.as_str())
        .bind(actor_type)
        .bind(actor_id)
        .bind(event.subject.as_deref())
        .bind(event.ok)
        .bind(event.error_code.as_deref())
        .bind(event.ip.as_deref())
        .bind(event.user_agent.as_deref())
        .bind(event.request_id.as_deref())
        .bind(event.session_id.map(|s| s.as_uuid()))
        .bind(Json(&event.detail))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn list_audit(
        &self,
        request: &PageRequest<AuditFilter, AuditOrder>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let filter = &request.filter;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE TRUE"
        ));
        if let Some(user) = filter.actor_user {
            query
                .push(" AND actor_type = 'user' AND actor_id = ")
                .push_bind(user.as_uuid());
        }
        if let Some(action) = &filter.action {
            query.push(" AND action = ").push_bind(action.clone());
        }
        if let Some(subject) = &filter.subject {
            query.push(" AND subject = ").push_bind(subject.clone());
        }
        if let Some(ok) = filter.ok {
            query.push(" AND ok = ").push_bind(ok);
        }
        if let Some(t) = filter.since {
            query.push(" AND at >= ").push_bind(Ts(t));
        }
        if let Some(t) = filter.until {
            query.push(" AND at < ").push_bind(Ts(t));
        }
        push_page(&mut query, "at", request);
        let rows: Vec<AuditRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }
}
