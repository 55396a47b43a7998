use async_trait::async_trait;
use auth_core::members::{
    KeepRole, Member, MemberChange, MemberFilter, MemberOrder, MemberPatch, MembershipLink,
};
use auth_core::pagination::PageRequest;
use auth_core::{Conflict, Entity, GroupId, MemberId, MemberStore, StoreError, UserId};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::tables::Tables;

impl Tables {
    /// Whether changing `member` into `after` (or removing it, `None`) would leave its group
    /// without an active holder of the kept role when it had one.
    fn loses_last_holder(&self, member: &Member, after: Option<&Member>, keep: &KeepRole) -> bool {
        let role = keep.role.as_str();
        let was_owner = member.is_active_with_role(role);
        let stays_owner = after.is_some_and(|m| m.is_active_with_role(role));
        if !was_owner || stays_owner {
            return false;
        }
        let owners = self
            .members
            .values()
            .filter(|m| m.group_id == member.group_id && m.is_active_with_role(role))
            .count();
        owners <= 1
    }
}

#[async_trait]
impl MemberStore for MemoryStore {
    async fn add_member(&self, member: &Member) -> Result<(), StoreError> {
        let mut t = self.write();
        if !t.groups.contains_key(&member.group_id) {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if !t.users.contains_key(&member.user_id) {
            return Err(StoreError::MissingReference(Entity::User));
        }
        if t.member_by_key
            .contains_key(&(member.group_id, member.user_id))
        {
            return Err(StoreError::Conflict(Conflict::Membership));
        }
        t.insert_member(member.clone());
        Ok(())
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
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError> {
        let mut t = self.write();
        let Some(current) = t.members.get(&id) else {
            return Ok(MemberChange::NotFound);
        };
        let mut updated = current.clone();
        patch.apply(&mut updated, now);
        if t.loses_last_holder(current, Some(&updated), keep) {
            return Ok(MemberChange::LastHolder);
        }
        t.members.insert(id, updated.clone());
        Ok(MemberChange::Done(updated))
    }

    async fn remove_member(
        &self,
        id: MemberId,
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError> {
        let mut t = self.write();
        let Some(current) = t.members.get(&id) else {
            return Ok(MemberChange::NotFound);
        };
        if t.loses_last_holder(current, None, keep) {
            return Ok(MemberChange::LastHolder);
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
                require_mfa: group.require_mfa,
                member: t
                    .member_by_key
                    .get(&(group.id, user_id))
                    .and_then(|id| t.members.get(id))
                    .cloned(),
            })
            .collect())
    }
}
