use async_trait::async_trait;
use auth_core::audit::{AuditEvent, AuditFilter, AuditOrder};
use auth_core::pagination::PageRequest;
use auth_core::{AuditStore, StoreError};

use crate::MemoryStore;

#[async_trait]
impl AuditStore for MemoryStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.write().audit.push(event.clone());
        Ok(())
    }

    async fn list_audit(
        &self,
        request: &PageRequest<AuditFilter, AuditOrder>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let t = self.read();
        Ok(request.select(
            t.audit
                .iter()
                .filter(|e| request.filter.matches(e))
                .cloned(),
        ))
    }
}
