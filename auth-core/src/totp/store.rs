use async_trait::async_trait;
use time::OffsetDateTime;

use super::{ConfirmOutcome, PutPendingOutcome, TotpFactor};
use crate::error::StoreError;
use crate::ids::UserId;
use crate::secret::{SealedSecret, TokenHash};

/// Storage of TOTP factors (at most one per user) and recovery codes (as SHA-256 hashes).
/// Each method is atomic on its own (one transaction or one locked section), across nodes.
/// Deleting a user deletes both (the domain's part of
/// [`UserStore::delete_user`](crate::UserStore::delete_user)); ending a user's credentials
/// on recovery leaves both alone: a second factor survives an emailed password reset.
#[async_trait]
pub trait TotpStore: Send + Sync {
    /// Stores `factor` (pending) as the user's factor, replacing a pending one; refuses
    /// with [`PutPendingOutcome::AlreadyConfirmed`] if the user has a confirmed factor.
    /// Fails with [`StoreError::MissingReference`] `(Entity::User)` if there is no such
    /// user.
    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<PutPendingOutcome, StoreError>;

    /// The user's factor, pending or confirmed.
    async fn get_totp(&self, user_id: UserId) -> Result<Option<TotpFactor>, StoreError>;

    /// In one transaction: if the user's factor is pending with exactly this `seed` (not
    /// replaced meanwhile), marks it confirmed at `at` with `last_step = step`, and
    /// replaces the user's recovery codes with `codes`; otherwise
    /// [`ConfirmOutcome::NotPending`] and nothing changes.
    async fn confirm_totp(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<ConfirmOutcome, StoreError>;

    /// Atomically, across nodes: if the user's factor is confirmed, has this `seed`, and
    /// its `last_step` is unset or before `step`, sets `last_step = step` and
    /// `last_used_at = at` and returns `true`; otherwise `false` (a replayed code, or a
    /// factor replaced meanwhile). Of concurrent calls with one step, exactly one wins.
    async fn accept_totp_step(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Atomically marks the user's unused recovery code with this hash used at `at`:
    /// `true` if there was one. Of concurrent calls with one code, exactly one wins.
    async fn consume_recovery_code(
        &self,
        user_id: UserId,
        code_hash: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// In one transaction: if the user's factor is confirmed, replaces all their recovery
    /// codes (used or not) with `codes` and returns `true`; otherwise `false`.
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// How many unused recovery codes the user has.
    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError>;

    /// In one transaction, deletes the user's factor and all their recovery codes; `false`
    /// if there was no factor.
    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError>;

    /// Deletes pending factors created before `before` (enrolments never confirmed);
    /// returns how many.
    async fn purge_pending_totp(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
