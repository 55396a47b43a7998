use async_trait::async_trait;
use time::OffsetDateTime;

use super::{AcceptOutcome, Acceptance, Invite, InviteChange, InviteFilter, InviteOrder};
use crate::error::StoreError;
use crate::ids::InviteId;
use crate::pagination::PageRequest;
use crate::secret::TokenHash;

/// Storage of invites.
#[async_trait]
pub trait InviteStore: Send + Sync {
    /// Inserts an invite. Pending invites for the same email and group that expired by
    /// `invite.created_at` are marked expired first; a live one makes this fail with
    /// [`Conflict::Invite`](crate::Conflict::Invite). Fails with
    /// [`StoreError::MissingReference`] `(Entity::Group)` if the group does not exist.
    /// Atomic.
    async fn create_invite(&self, invite: &Invite) -> Result<(), StoreError>;

    /// The invite with this id.
    async fn get_invite(&self, id: InviteId) -> Result<Option<Invite>, StoreError>;

    /// The invite with this token hash.
    async fn get_invite_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<Invite>, StoreError>;

    /// Invites matching the filter at `now` (status is the effective one), sorted by
    /// `(created_at, id)`, strictly after `request.after`, at most `request.fetch_limit()`.
    async fn list_invites(
        &self,
        request: &PageRequest<InviteFilter, InviteOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<Invite>, StoreError>;

    /// Revokes a pending, unexpired invite.
    async fn revoke_invite(
        &self,
        id: InviteId,
        now: OffsetDateTime,
    ) -> Result<InviteChange, StoreError>;

    /// Accepts an invite in one transaction: checks it is pending and unexpired at
    /// `acceptance.now` (recording expiry if not), that a bound email matches the user's
    /// verified address, and that the user is not a member already; then marks it accepted
    /// by the user and, for a group invite, adds the membership with the invite's role (or
    /// `default_role`). Under concurrent calls with one token, at most one is accepted.
    async fn accept_invite(&self, acceptance: &Acceptance) -> Result<AcceptOutcome, StoreError>;
}
