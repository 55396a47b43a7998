use super::{AuditEvent, AuditFilter, AuditOrder, AuditStore};
use crate::auth::Auth;
use crate::caller::Caller;
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
    /// Lists events, oldest first by default: a user's own (`filter.actor_user` set to
    /// their id), or anything for the app.
    #[tracing::instrument(name = "audit.list", skip_all)]
    pub async fn list(
        &self,
        caller: &Caller,
        query: ListQuery<AuditFilter, AuditOrder>,
    ) -> Result<Page<AuditEvent>, AuthError> {
        let own = query
            .filter
            .actor_user
            .is_some_and(|user| caller.is_self_or_system(user));
        if !own && !caller.is_system() {
            return Err(AuthError::Forbidden(
                "the audit log is the app's; a user reads their own events".into(),
            ));
        }
        let request = query.validate()?;
        let rows = self.auth.store().list_audit(&request).await?;
        Ok(Page::from_fetched(rows, &request))
    }
}
