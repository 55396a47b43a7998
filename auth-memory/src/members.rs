use async_trait::async_trait;
use auth_core::members::{
    AddMemberOutcome, Member, MemberChange, MemberFilter, MemberOrder, MemberPatch, MembershipLink,
};
use auth_core::pagination::PageRequest;
use auth_core::{Conflict, GroupId, MemberId, MemberStore, StoreError, UserId};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::tables::Tables;

impl Tables {
    /// Whether changing `member` into `after` (or removing it, `None`) would leave its group
    /// without an active owner when it had one.
    fn loses_last_owner(&self, member: &Member, after: Option<&Member>, owner_role: &str) -> bool {
        let was_owner = member.is_active_with_role(owner_role);
        let stays_owner = after.is_some_and(|m| m.is_active_with_role(owner_role));
        if !was_owner || stays_owner {
            return false;
        }
        let owners = self
            .members
            .values()
            .filter(|m| m.group_id == member.group_id && m.is_active_with_role(owner_role))
            .count();
        owners <= 1
    }
}

#[async_trait]
impl MemberStore for MemoryStore {
    async fn add_member(&self, member: &Member) -> Result<AddMemberOutcome, StoreError> {
        let mut t = self.write();
        if !t.groups.contains_key(&member.group_id) {
            return Ok(AddMemberOutcome::GroupNotFound);
        }
        if !t.users.contains_key(&member.user_id) {
            return Ok(AddMemberOutcome::UserNotFound);
        }
        if t.member_by_key
            .contains_key(&(member.group_id, member.user_id))
        {
            return Err(StoreError::Conflict(Conflict::Membership));
        }
        t.insert_member(member.clone());
        Ok(AddMemberOutcome::Added)
    }

    async fn get_member(&self, id: MemberId) -> Result<Option<Member>, StoreError> {
        Ok(self.read().members.get(&id).cloned())
    }

    async fn get_member_by_user(
        &self,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        let t = self.read();
        Ok(t.member_by_key
            .get(&(group_id, user_id))
            .and_then(|id| t.members.get(id))
            .cloned())
    }

    async fn list_members(
        &self,
        request: &PageRequest<MemberFilter, MemberOrder>,
    ) -> Result<Vec<Member>, StoreError> {
        let t = self.read();
        Ok(request.select(
            t.members
                .values()
                .filter(|m| request.filter.matches(m))
                .cloned(),
        ))
    }

    async fn update_member(
        &self,
        id: MemberId,
        patch: &MemberPatch,
        now: OffsetDateTime,
        owner_role: &str,
    ) -> Result<MemberChange, StoreError> {
        let mut t = self.write();
        let Some(current) = t.members.get(&id) else {
            return Ok(MemberChange::NotFound);
        };
        let mut updated = current.clone();
        patch.apply(&mut updated, now);
        if t.loses_last_owner(current, Some(&updated), owner_role) {
            return Ok(MemberChange::LastOwner);
        }
        t.members.insert(id, updated.clone());
        Ok(MemberChange::Done(updated))
    }

    async fn remove_member(
        &self,
        id: MemberId,
        owner_role: &str,
    ) -> Result<MemberChange, StoreError> {
        let mut t = self.write();
        let Some(current) = t.members.get(&id) else {
            return Ok(MemberChange::NotFound);
        };
        if t.loses_last_owner(current, None, owner_role) {
            return Ok(MemberChange::LastOwner);
        }
        Ok(t.remove_member(id)
            .map_or(MemberChange::NotFound, MemberChange::Done))
    }

    async fn membership_chain(
        &self,
        user_id: UserId,
        group_id: GroupId,
        max_depth: u32,
    ) -> Result<Vec<MembershipLink>, StoreError> {
        let t = self.read();
        Ok(t.chain(group_id, max_depth)
            .into_iter()
            .zip(0u32..)
            .map(|(group, depth)| MembershipLink {
                group_id: group.id,
                parent_id: group.parent_id,
                depth,
                member: t
                    .member_by_key
                    .get(&(group.id, user_id))
                    .and_then(|id| t.members.get(id))
                    .cloned(),
            })
            .collect())
    }
}
