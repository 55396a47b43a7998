//! API keys: how machines (CI jobs, agents, workers, integrations) sign in.
//!
//! A key belongs to a user or to a group (an organization's key survives the person who
//! made it; the creator is recorded). It carries `resource:action` scopes, an optional
//! expiry, an optional per-key rate limit and an optional usage quota. The raw key is shown
//! once; the store keeps its SHA-256 and a short display prefix. Verification checks the
//! format and checksum before any lookup, answers from a short-lived cache, and applies the
//! rate limit through the store so it holds across app nodes.

mod format;
mod model;
mod service;
mod store;

pub use format::KeyFormat;
pub use model::{
    ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, KeyOwner, NewApiKey, Quota, QuotaOutcome,
    QuotaSpec, RotateOutcome, Successor, VerifiedKey,
};
pub use service::{ApiKeyConfig, ApiKeys, CreatedKey};
pub use store::ApiKeyStore;

pub use crate::rate_limit::{RateDecision, RateLimit, RateLimitStore};

pub(crate) use service::KeyCache;
