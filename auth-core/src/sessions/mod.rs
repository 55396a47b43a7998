//! Sessions: opaque bearer tokens (only their SHA-256 is stored) with sliding idle expiry,
//! absolute expiry, metadata, assurance level, and refresh tokens that rotate on every use.
//!
//! Validation ([`Sessions::validate`]) is the hot path: a bounded cache of recently validated
//! sessions, keyed by token hash, answers most requests without the store; revocation
//! through this process evicts at once, other processes' caches within their TTL.

mod cache;
mod model;
mod service;
mod store;

pub use model::{
    Aal, Authenticated, RefreshToken, RotationOutcome, RotationPlan, Session, SessionFilter,
    SessionOrder, SessionState, SessionView, SignedIn,
};
pub use service::Sessions;
pub use store::SessionStore;

pub(crate) use cache::SessionCache;
