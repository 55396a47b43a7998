use async_trait::async_trait;
use auth_core::verification::{AttemptReservation, LinkConsumption, Purpose, Verification};
use auth_core::{Email, StoreError, TokenHash, VerificationId, VerificationStore};
use time::OffsetDateTime;

use crate::MemoryStore;

#[async_trait]
impl VerificationStore for MemoryStore {
    async fn replace_verification(&self, verification: &Verification) -> Result<(), StoreError> {
        let mut t = self.write();
        t.verifications.retain(|_, v| {
            !(v.consumed_at.is_none()
                && v.email == verification.email
                && v.purpose == verification.purpose)
        });
        t.verifications
            .insert(verification.id, verification.clone());
        Ok(())
    }

    async fn active_verification(
        &self,
        email: &Email,
        purpose: Purpose,
    ) -> Result<Option<Verification>, StoreError> {
        let t = self.read();
        Ok(t.verifications
            .values()
            .filter(|v| v.consumed_at.is_none() && v.email == *email && v.purpose == purpose)
            .max_by_key(|v| (v.created_at, v.id))
            .cloned())
    }

    async fn reserve_code_attempt(
        &self,
        email: &Email,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<AttemptReservation, StoreError> {
        let mut t = self.write();
        let newest = t
            .verifications
            .values_mut()
            .filter(|v| v.consumed_at.is_none() && v.email == *email && v.purpose == purpose)
            .max_by_key(|v| (v.created_at, v.id));
        let Some(v) = newest else {
            return Ok(AttemptReservation::NoneActive);
        };
        if now >= v.expires_at {
            return Ok(AttemptReservation::Expired);
        }
        if v.attempts >= v.max_attempts {
            return Ok(AttemptReservation::Exhausted);
        }
        v.attempts += 1;
        Ok(AttemptReservation::Reserved(v.clone()))
    }

    async fn consume_verification(
        &self,
        id: VerificationId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        match t.verifications.get_mut(&id) {
            Some(v) if v.consumed_at.is_none() && now < v.expires_at => {
                v.consumed_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn consume_link(
        &self,
        purpose: Purpose,
        link_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<LinkConsumption, StoreError> {
        let mut t = self.write();
        let found = t
            .verifications
            .values_mut()
            .find(|v| v.consumed_at.is_none() && v.purpose == purpose && v.link_hash == *link_hash);
        match found {
            None => Ok(LinkConsumption::Unknown),
            Some(v) if now >= v.expires_at => Ok(LinkConsumption::Expired),
            Some(v) => {
                v.consumed_at = Some(now);
                Ok(LinkConsumption::Consumed(v.clone()))
            }
        }
    }

    async fn purge_verifications(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut t = self.write();
        let len = t.verifications.len();
        t.verifications
            .retain(|_, v| v.expires_at >= before && v.consumed_at.is_none_or(|c| c >= before));
        Ok((len - t.verifications.len()) as u64)
    }
}
