//! Ceremonies: the server-side state of a multi-step flow in progress (a passkey
//! registration or sign-in today; an MFA challenge, an OIDC or SAML round trip, a device
//! grant later).
//!
//! A ceremony is a TTL'd, single-use store record keyed by the SHA-256 of a random handle
//! given to the client. It lives in the store, never in a cookie or one process's memory,
//! so any node can finish what another started and two tabs never overwrite each other.
//! Taking it removes it: of concurrent finishers, across nodes, exactly one gets it, and a
//! failed attempt spends it too.

mod model;
mod service;
mod store;

pub use model::{Ceremony, CeremonyKind};
pub use service::{Ceremonies, StartedCeremony};
pub use store::CeremonyStore;
