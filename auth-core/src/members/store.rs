use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    KeepRole, Member, MemberChange, MemberFilter, MemberOrder, MemberPatch, MembershipLink,
};
use crate::error::StoreError;
use crate::ids::{GroupId, MemberId, UserId};
use crate::pagination::PageRequest;

/// Storage of memberships.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Inserts a membership. Fails with [`Conflict::Membership`](crate::Conflict::Membership)
    /// if the user is a member of the group already, and with
    /// [`StoreError::MissingReference`] `(Entity::Group)` or `(Entity::User)` if the group or
    /// the user does not exist.
    async fn add_member(&self, member: &Member) -> Result<(), StoreError>;

    /// The membership with this id.
    async fn get_member(&self, id: MemberId) -> Result<Option<Member>, StoreError>;

    /// The user's membership of the group.
    async fn get_member_by_user(
        &self,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError>;

    /// Memberships matching the filter, sorted by `(created_at, id)`, strictly after
    /// `request.after`, at most `request.fetch_limit()`.
    async fn list_members(
        &self,
        request: &PageRequest<MemberFilter, MemberOrder>,
    ) -> Result<Vec<Member>, StoreError>;

    /// Applies `patch`, atomically refusing ([`MemberChange::LastHolder`]) if the group had
    /// active members with the role `keep` names and would have none after it.
    async fn update_member(
        &self,
        id: MemberId,
        patch: &MemberPatch,
        now: OffsetDateTime,
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError>;

    /// Removes a membership, with the same guard as [`Self::update_member`].
    async fn remove_member(
        &self,
        id: MemberId,
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError>;

    /// The chain from `group_id` up through its parents (depth 0 first, at most
    /// `max_depth + 1` rows, rows repeating on a cycle), each level with `user_id`'s
    /// membership there. ONE query on SQL stores.
    async fn membership_chain(
        &self,
        user_id: UserId,
        group_id: GroupId,
        max_depth: u32,
    ) -> Result<Vec<MembershipLink>, StoreError>;
}
