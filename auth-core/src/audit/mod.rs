//! The audit log: one [`AuditEvent`] for every security-relevant change or attempt.
//!
//! Services hand events to an [`AuditSink`]. The default sink writes them to `tracing`
//! (target `auth_audit`); [`StoreAuditSink`] appends them to an [`AuditStore`] so they can be
//! listed with [`Audit::list`](service::Audit::list).

mod model;
mod service;
mod sink;
mod store;

pub use model::{Actor, AuditEvent, AuditFilter, AuditOrder};
pub use service::Audit;
pub use sink::{AuditSink, StoreAuditSink, TracingAuditSink};
pub use store::AuditStore;
