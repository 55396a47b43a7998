use async_trait::async_trait;
use time::OffsetDateTime;

use super::{AttemptReservation, LinkConsumption, Purpose, Verification};
use crate::error::StoreError;
use crate::ids::VerificationId;
use crate::secret::TokenHash;
use crate::validate::Email;

/// Storage of one-time codes and links.
#[async_trait]
pub trait VerificationStore: Send + Sync {
    /// Stores `verification`, deleting any unused one for the same email and purpose (only
    /// the newest code works), atomically.
    async fn replace_verification(&self, verification: &Verification) -> Result<(), StoreError>;

    /// The newest unused code for `(email, purpose)`, expired or not, without counting an
    /// attempt: for checking a token that carries its own secret (an MFA challenge) before
    /// its holder spends an attempt.
    async fn active_verification(
        &self,
        email: &Email,
        purpose: Purpose,
    ) -> Result<Option<Verification>, StoreError>;

    /// Counts one attempt against the newest unused code for `(email, purpose)` and returns
    /// it, atomically, unless it expired or has no attempts left. Concurrent calls never
    /// together exceed `max_attempts`.
    async fn reserve_code_attempt(
        &self,
        email: &Email,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<AttemptReservation, StoreError>;

    /// Marks a verification used if it is still unused and unexpired; returns whether it did
    /// (exactly one of concurrent callers gets `true`).
    async fn consume_verification(
        &self,
        id: VerificationId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Finds the unused verification with this link hash and purpose and marks it used,
    /// atomically.
    async fn consume_link(
        &self,
        purpose: Purpose,
        link_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<LinkConsumption, StoreError>;

    /// Deletes verifications that expired or were used before `before`; returns how many.
    async fn purge_verifications(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
