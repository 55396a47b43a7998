use async_trait::async_trait;
use auth_core::ceremonies::{Ceremony, CeremonyKind, CeremonyStore};
use auth_core::{Conflict, StoreError, TokenHash};
use time::OffsetDateTime;

use crate::MemoryStore;

#[async_trait]
impl CeremonyStore for MemoryStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        let mut t = self.write();
        let key = (ceremony.kind.as_str(), ceremony.handle_hash);
        if t.ceremonies.contains_key(&key) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        t.ceremonies.insert(key, ceremony.clone());
        Ok(())
    }

    async fn take_ceremony(
        &self,
        kind: CeremonyKind,
        handle_hash: &TokenHash,
    ) -> Result<Option<Ceremony>, StoreError> {
        Ok(self
            .write()
            .ceremonies
            .remove(&(kind.as_str(), *handle_hash)))
    }

    async fn purge_ceremonies(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut t = self.write();
        let count = t.ceremonies.len();
        t.ceremonies.retain(|_, c| c.expires_at >= before);
        Ok((count - t.ceremonies.len()) as u64)
    }
}
