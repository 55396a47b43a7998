use async_trait::async_trait;
use auth_core::secret::SealedSecret;
use auth_core::totp::{ConfirmOutcome, FactorState, PutPendingOutcome, TotpFactor};
use auth_core::{Entity, StoreError, TokenHash, TotpStore, UserId};
use time::OffsetDateTime;

use crate::MemoryStore;

#[async_trait]
impl TotpStore for MemoryStore {
    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<PutPendingOutcome, StoreError> {
        let mut t = self.write();
        if !t.users.contains_key(&factor.user_id) {
            return Err(StoreError::MissingReference(Entity::User));
        }
        if t.totp
            .get(&factor.user_id)
            .is_some_and(TotpFactor::is_confirmed)
        {
            return Ok(PutPendingOutcome::AlreadyConfirmed);
        }
        let mut pending = factor.clone();
        pending.state = FactorState::Pending;
        t.totp.insert(factor.user_id, pending);
        Ok(PutPendingOutcome::Stored)
    }

    async fn get_totp(&self, user_id: UserId) -> Result<Option<TotpFactor>, StoreError> {
        Ok(self.read().totp.get(&user_id).cloned())
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<ConfirmOutcome, StoreError> {
        let mut t = self.write();
        let Some(factor) = t
            .totp
            .get_mut(&user_id)
            .filter(|f| f.state == FactorState::Pending && &f.seed == seed)
        else {
            return Ok(ConfirmOutcome::NotPending);
        };
        factor.state = FactorState::Confirmed;
        factor.confirmed_at = Some(at);
        factor.last_step = Some(step);
        factor.last_used_at = Some(at);
        t.recovery_codes
            .insert(user_id, codes.iter().map(|h| (*h, None)).collect());
        Ok(ConfirmOutcome::Confirmed)
    }

    async fn accept_totp_step(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        let Some(factor) = t.totp.get_mut(&user_id).filter(|f| {
            f.is_confirmed() && &f.seed == seed && f.last_step.is_none_or(|last| last < step)
        }) else {
            return Ok(false);
        };
        factor.last_step = Some(step);
        factor.last_used_at = Some(at);
        Ok(true)
    }

    async fn consume_recovery_code(
        &self,
        user_id: UserId,
        code_hash: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        match t
            .recovery_codes
            .get_mut(&user_id)
            .and_then(|codes| codes.get_mut(code_hash))
        {
            Some(used @ None) => {
                *used = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[TokenHash],
        _at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        if !t.totp.get(&user_id).is_some_and(TotpFactor::is_confirmed) {
            return Ok(false);
        }
        t.recovery_codes
            .insert(user_id, codes.iter().map(|h| (*h, None)).collect());
        Ok(true)
    }

    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        let t = self.read();
        let unused = t.recovery_codes.get(&user_id).map_or(0, |codes| {
            codes.values().filter(|used| used.is_none()).count()
        });
        Ok(u32::try_from(unused).unwrap_or(u32::MAX))
    }

    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        let mut t = self.write();
        t.recovery_codes.remove(&user_id);
        Ok(t.totp.remove(&user_id).is_some())
    }

    async fn purge_pending_totp(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut t = self.write();
        let len = t.totp.len();
        t.totp
            .retain(|_, f| f.is_confirmed() || f.created_at >= before);
        Ok((len - t.totp.len()) as u64)
    }
}
