use async_trait::async_trait;
use time::OffsetDateTime;

use super::{ChainLink, Group, GroupFilter, GroupOrder, GroupPatch, UpdateGroupOutcome};
use crate::error::StoreError;
use crate::ids::GroupId;
use crate::members::Member;
use crate::pagination::PageRequest;

/// Storage of groups.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Inserts a group (with its tags) and, when given, its first member (the owner),
    /// atomically. Fails with [`Conflict::GroupSlug`](crate::Conflict::GroupSlug) if the
    /// slug is taken, with [`StoreError::MissingReference`] `(Entity::Group)` if the parent
    /// does not exist and `(Entity::User)` if the first member's user does not.
    async fn create_group(&self, group: &Group, owner: Option<&Member>) -> Result<(), StoreError>;

    /// The group with this id.
    async fn get_group(&self, id: GroupId) -> Result<Option<Group>, StoreError>;

    /// The group with this slug.
    async fn get_group_by_slug(&self, slug: &str) -> Result<Option<Group>, StoreError>;

    /// The groups with these ids that exist, in any order.
    async fn get_groups(&self, ids: &[GroupId]) -> Result<Vec<Group>, StoreError>;

    /// Groups matching the filter, sorted by `(order key, id)` (a missing slug sorts as
    /// the empty string), strictly after `request.after`, at most `request.fetch_limit()`.
    async fn list_groups(
        &self,
        request: &PageRequest<GroupFilter, GroupOrder>,
    ) -> Result<Vec<Group>, StoreError>;

    /// Applies `patch` atomically. A new parent must exist (else
    /// [`StoreError::MissingReference`] `(Entity::Group)`) and must not be the group or one
    /// of its descendants ([`UpdateGroupOutcome::WouldCycle`]); concurrent moves are
    /// serialised so that two moves cannot together make a cycle.
    async fn update_group(
        &self,
        id: GroupId,
        patch: &GroupPatch,
        now: OffsetDateTime,
    ) -> Result<UpdateGroupOutcome, StoreError>;

    /// Deletes the group, its descendants, and their members and invites (and every later
    /// domain's records of those groups) in one transaction. Returns how many groups were
    /// deleted, or `None` if there was no such group.
    async fn delete_group(&self, id: GroupId) -> Result<Option<u64>, StoreError>;

    /// The chain from the group up through its parents: the group itself at depth 0, its
    /// parent at 1, ... at most `max_depth + 1` rows, nearest first. ONE query. Does not
    /// stop at a cycle (rows repeat until the depth limit); callers detect it.
    async fn group_chain(&self, id: GroupId, max_depth: u32) -> Result<Vec<ChainLink>, StoreError>;

    /// The group and what lies below it: the group at depth 0, children at 1, ... down to
    /// `max_depth`, at most `limit` rows, ordered by depth. Rows may repeat on a cycle.
    async fn group_subtree(
        &self,
        id: GroupId,
        max_depth: u32,
        limit: u32,
    ) -> Result<Vec<ChainLink>, StoreError>;
}
