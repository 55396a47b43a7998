use async_trait::async_trait;

use super::{AuditEvent, AuditFilter, AuditOrder};
use crate::error::StoreError;
use crate::pagination::PageRequest;

/// Storage of audit events: append-only.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one event.
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Lists events matching the filter, sorted by `(at, id)`, at most
    /// `request.fetch_limit()`, strictly after `request.after`.
    async fn list_audit(
        &self,
        request: &PageRequest<AuditFilter, AuditOrder>,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}
