use async_trait::async_trait;
use auth_core::invites::{
    AcceptOutcome, Acceptance, Invite, InviteChange, InviteFilter, InviteOrder, InviteStatus,
};
use auth_core::members::{Member, MemberStatus};
use auth_core::pagination::PageRequest;
use auth_core::{Conflict, Entity, InviteId, InviteStore, StoreError, TokenHash};
use time::OffsetDateTime;

use crate::MemoryStore;

#[async_trait]
impl InviteStore for MemoryStore {
    async fn create_invite(&self, invite: &Invite) -> Result<(), StoreError> {
        let mut t = self.write();
        if invite.group_id.is_some_and(|g| !t.groups.contains_key(&g)) {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if invite.email.is_some() {
            let now = invite.created_at;
            let mut live_duplicate = false;
            for other in t.invites.values_mut().filter(|o| {
                o.status == InviteStatus::Pending
                    && o.email == invite.email
                    && o.group_id == invite.group_id
            }) {
                if other.status_at(now) == InviteStatus::Expired {
                    other.status = InviteStatus::Expired;
                    other.updated_at = now;
                } else {
                    live_duplicate = true;
                }
            }
            if live_duplicate {
                return Err(StoreError::Conflict(Conflict::Invite));
            }
        }
        if t.invites.contains_key(&invite.id) || t.invite_by_token.contains_key(&invite.token_hash)
        {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        t.invite_by_token.insert(invite.token_hash, invite.id);
        t.invites.insert(invite.id, invite.clone());
        Ok(())
    }

    async fn get_invite(&self, id: InviteId) -> Result<Option<Invite>, StoreError> {
        Ok(self.read().invites.get(&id).cloned())
    }

    async fn get_invite_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<Invite>, StoreError> {
        let t = self.read();
        Ok(t.invite_by_token
            .get(token_hash)
            .and_then(|id| t.invites.get(id))
            .cloned())
    }

    async fn list_invites(
        &self,
        request: &PageRequest<InviteFilter, InviteOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<Invite>, StoreError> {
        let t = self.read();
        Ok(request.select(
            t.invites
                .values()
                .filter(|i| request.filter.matches(i, now))
                .cloned(),
        ))
    }

    async fn revoke_invite(
        &self,
        id: InviteId,
        now: OffsetDateTime,
    ) -> Result<InviteChange, StoreError> {
        let mut t = self.write();
        let Some(invite) = t.invites.get_mut(&id) else {
            return Ok(InviteChange::NotFound);
        };
        match invite.status_at(now) {
            InviteStatus::Pending => {
                invite.status = InviteStatus::Revoked;
                invite.revoked_at = Some(now);
                invite.updated_at = now;
                Ok(InviteChange::Done(invite.clone()))
            }
            InviteStatus::Expired => {
                invite.status = InviteStatus::Expired;
                invite.updated_at = now;
                Ok(InviteChange::NotPending(InviteStatus::Expired))
            }
            other => Ok(InviteChange::NotPending(other)),
        }
    }

    async fn accept_invite(&self, a: &Acceptance) -> Result<AcceptOutcome, StoreError> {
        let mut guard = self.write();
        let t = &mut *guard;
        let Some(id) = t.invite_by_token.get(&a.token_hash).copied() else {
            return Ok(AcceptOutcome::NotFound);
        };
        let Some(invite) = t.invites.get_mut(&id) else {
            return Ok(AcceptOutcome::NotFound);
        };
        match invite.status_at(a.now) {
            InviteStatus::Pending => {}
            InviteStatus::Expired => {
                invite.status = InviteStatus::Expired;
                invite.updated_at = a.now;
                return Ok(AcceptOutcome::Expired);
            }
            other => return Ok(AcceptOutcome::NotPending(other)),
        }
        if invite
            .email
            .as_ref()
            .is_some_and(|e| *e != a.user_email || !a.email_verified)
        {
            return Ok(AcceptOutcome::EmailMismatch);
        }
        let member = match invite.group_id {
            Some(group_id) => {
                if t.member_by_key.contains_key(&(group_id, a.user_id)) {
                    return Ok(AcceptOutcome::AlreadyMember);
                }
                Some(Member {
                    id: a.member_id,
                    group_id,
                    user_id: a.user_id,
                    role: invite
                        .role
                        .clone()
                        .unwrap_or_else(|| a.default_role.clone()),
                    status: MemberStatus::Active,
                    extend: serde_json::json!({}),
                    created_at: a.now,
                    updated_at: a.now,
                })
            }
            None => None,
        };
        invite.status = InviteStatus::Accepted;
        invite.accepted_by = Some(a.user_id);
        invite.accepted_at = Some(a.now);
        invite.updated_at = a.now;
        let invite = invite.clone();
        if let Some(member) = &member {
            t.insert_member(member.clone());
        }
        Ok(AcceptOutcome::Accepted { invite, member })
    }
}
