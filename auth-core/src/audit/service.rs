use super::{AuditEvent, AuditFilter, AuditOrder, AuditStore};
use crate::auth::Auth;
use crate::error::AuthError;
use crate::pagination::{ListQuery, Page};

/// Reading the audit log: `auth.audit()`.
pub struct Audit<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: AuditStore + 'static> Auth<S> {
    /// The audit log.
    pub fn audit(&self) -> Audit<'_, S> {
        Audit { auth: self }
    }
}

impl<S: AuditStore + 'static> Audit<'_, S> {
    /// Lists events, oldest first by default.
    #[tracing::instrument(name = "audit.list", skip_all)]
    pub async fn list(
        &self,
        query: ListQuery<AuditFilter, AuditOrder>,
    ) -> Result<Page<AuditEvent>, AuthError> {
        let request = query.validate()?;
        let rows = self.auth.store().list_audit(&request).await?;
        Ok(Page::from_fetched(rows, &request))
    }
}
