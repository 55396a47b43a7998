use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Ceremony, CeremonyKind};
use crate::error::StoreError;
use crate::secret::TokenHash;

/// Storage of ceremonies in progress. Object safe.
#[async_trait]
pub trait CeremonyStore: Send + Sync {
    /// Stores a new ceremony. Fails with [`Conflict::Id`](crate::Conflict::Id) if one with
    /// this handle hash exists (never in practice: handles are 256-bit random).
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError>;

    /// Removes and returns the ceremony of this kind and handle hash, expired or not (the
    /// caller tells expired from unknown). Atomic: of concurrent takers, on any node,
    /// exactly one gets it. `None` if there is none (never started, of another kind, or
    /// taken already).
    async fn take_ceremony(
        &self,
        kind: CeremonyKind,
        handle_hash: &TokenHash,
    ) -> Result<Option<Ceremony>, StoreError>;

    /// Deletes the ceremonies that expired before `before`; returns how many.
    async fn purge_ceremonies(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
