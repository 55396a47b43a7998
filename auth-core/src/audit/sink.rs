use std::fmt;

use async_trait::async_trait;

use super::{AuditEvent, AuditStore};
use crate::error::ErrorCode;

/// Where services send audit events. Recording never fails the action being audited: a
/// sink that cannot write logs the failure itself.
#[async_trait]
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event.
    async fn record(&self, event: AuditEvent);
}

/// Writes audit events to `tracing` at INFO, target `auth_audit`. The default sink.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAuditSink;

#[async_trait]
impl AuditSink for TracingAuditSink {
    async fn record(&self, event: AuditEvent) {
        tracing::info!(
            target: "auth_audit",
            action = %event.action,
            ok = event.ok,
            error_code = event.error_code.as_deref(),
            subject = event.subject.as_deref(),
            actor = ?event.actor,
            request_id = event.request_id.as_deref(),
            "audit"
        );
    }
}

/// Appends audit events to a store (and logs a failure to append as an error). The event
/// of an action that failed with `STORE_UNAVAILABLE` is logged at WARN instead: the store
/// is down.
#[derive(Clone)]
pub struct StoreAuditSink<S> {
    store: S,
}

impl<S> StoreAuditSink<S> {
    /// A sink writing to `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S> fmt::Debug for StoreAuditSink<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreAuditSink")
    }
}

#[async_trait]
impl<S: AuditStore + 'static> AuditSink for StoreAuditSink<S> {
    async fn record(&self, event: AuditEvent) {
        // An action that failed because the store is unavailable is logged, not appended:
        // the append would wait for the same store (the pool's whole acquire timeout)
        // only to fail too, doubling the time every request takes during an outage.
        if event.error_code.as_deref() == Some(ErrorCode::StoreUnavailable.as_str()) {
            tracing::warn!(
                target: "auth_audit",
                action = %event.action,
                error_code = event.error_code.as_deref(),
                request_id = event.request_id.as_deref(),
                "audit event not stored: the store is unavailable"
            );
            return;
        }
        if let Err(error) = self.store.append_audit(&event).await {
            tracing::error!(
                target: "auth_audit",
                action = %event.action,
                error = %error,
                "audit event could not be stored"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::audit::{Actor, AuditFilter, AuditOrder};
    use crate::error::{AuthError, StoreError};
    use crate::pagination::PageRequest;
    use crate::{RequestMeta, TestClock};

    /// Keeps the actions appended (clones share them).
    #[derive(Default, Clone)]
    struct Appended(std::sync::Arc<Mutex<Vec<String>>>);

    #[async_trait]
    impl AuditStore for Appended {
        async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
            self.0.lock().unwrap().push(event.action.clone());
            Ok(())
        }

        async fn list_audit(
            &self,
            _request: &PageRequest<AuditFilter, AuditOrder>,
        ) -> Result<Vec<AuditEvent>, StoreError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn a_failure_of_the_store_itself_is_logged_not_appended() {
        let store = Appended::default();
        let sink = StoreAuditSink::new(store.clone());
        let at = crate::Clock::now(&TestClock::new());
        let event =
            |action: &str| AuditEvent::new(action, Actor::Anonymous, at, &RequestMeta::none());
        let down = AuthError::Store(StoreError::unavailable(std::io::Error::other("refused")));
        sink.record(event("user.sign_in").failed(&down)).await;
        sink.record(event("user.sign_up").failed(&AuthError::EmailInUse))
            .await;
        sink.record(event("user.sign_out")).await;
        assert_eq!(*store.0.lock().unwrap(), ["user.sign_up", "user.sign_out"]);
    }
}
