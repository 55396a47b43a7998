use async_trait::async_trait;
use auth_core::accounts::Account;
use auth_core::api_keys::KeyOwner;
use auth_core::members::KeepRole;
use auth_core::pagination::PageRequest;
use auth_core::users::{DeleteUserOutcome, Dependents, UserFilter, UserOrder, UserPatch};
use auth_core::{Conflict, Email, StoreError, User, UserId, UserStore};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::tables::Tables;

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User, accounts: &[Account]) -> Result<(), StoreError> {
        let mut t = self.write();
        t.check_new_user(user, accounts)?;
        t.insert_user(user, accounts);
        Ok(())
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.read().users.get(&id).cloned())
    }

    async fn get_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let t = self.read();
        Ok(t.user_by_email
            .get(email.as_str())
            .and_then(|id| t.users.get(id))
            .cloned())
    }

    async fn list_users(
        &self,
        request: &PageRequest<UserFilter, UserOrder>,
    ) -> Result<Vec<User>, StoreError> {
        let t = self.read();
        Ok(request.select(
            t.users
                .values()
                .filter(|u| request.filter.matches(u))
                .cloned(),
        ))
    }

    async fn update_user(
        &self,
        id: UserId,
        patch: &UserPatch,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        let mut t = self.write();
        let Some(current) = t.users.get(&id) else {
            return Ok(None);
        };
        let old_email = current.email.clone();
        if let Some(email) = &patch.email
            && *email != old_email
            && t.user_by_email.contains_key(email.as_str())
        {
            return Err(StoreError::Conflict(Conflict::UserEmail));
        }
        let mut updated = current.clone();
        patch.apply(&mut updated, now);
        if updated.email != old_email {
            t.user_by_email.remove(old_email.as_str());
            t.user_by_email
                .insert(updated.email.as_str().to_owned(), id);
        }
        t.users.insert(id, updated.clone());
        Ok(Some(updated))
    }

    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        match t.users.get_mut(&id) {
            Some(user) if user.email == *email => {
                if !user.email_verified {
                    user.email_verified = true;
                    user.updated_at = now;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_user(
        &self,
        id: UserId,
        cascade: bool,
        keep: &KeepRole,
    ) -> Result<DeleteUserOutcome, StoreError> {
        let mut t = self.write();
        let Some(user) = t.users.get(&id) else {
            return Ok(DeleteUserOutcome::NotFound);
        };
        let email = user.email.as_str().to_owned();
        let owned_alone = t
            .members
            .values()
            .filter(|m| m.user_id == id && m.is_active_with_role(&keep.role))
            .filter(|mine| {
                !t.members.values().any(|m| {
                    m.group_id == mine.group_id
                        && m.user_id != id
                        && m.is_active_with_role(&keep.role)
                })
            })
            .count() as u64;
        if owned_alone > 0 {
            return Ok(DeleteUserOutcome::LastHolder(owned_alone));
        }
        if !cascade {
            let mut dependents = Dependents::default();
            dependents.sessions = t.sessions.values().filter(|s| s.user_id == id).count() as u64;
            dependents.linked_accounts = t
                .accounts
                .values()
                .filter(|a| a.user_id == id && !a.provider.is_local())
                .count() as u64;
            dependents.memberships = t.members.values().filter(|m| m.user_id == id).count() as u64;
            dependents.api_keys = t
                .api_keys
                .values()
                .filter(|k| k.owner == KeyOwner::User(id))
                .count() as u64;
            if !dependents.is_empty() {
                return Ok(DeleteUserOutcome::HasDependents(dependents));
            }
        }
        let session_ids: Vec<_> = t
            .sessions
            .values()
            .filter(|s| s.user_id == id)
            .map(|s| s.id)
            .collect();
        let session_token_hashes = session_ids
            .into_iter()
            .filter_map(|sid| t.remove_session(sid))
            .map(|s| s.token_hash)
            .collect();
        let account_ids: Vec<_> = t
            .accounts
            .values()
            .filter(|a| a.user_id == id)
            .map(|a| a.id)
            .collect();
        for account_id in account_ids {
            if let Some(account) = t.accounts.remove(&account_id) {
                t.account_by_key.remove(&Tables::account_key(&account));
            }
        }
        t.verifications
            .retain(|_, v| v.user_id != Some(id) && v.email.as_str() != email);
        let member_ids: Vec<_> = t
            .members
            .values()
            .filter(|m| m.user_id == id)
            .map(|m| m.id)
            .collect();
        for member_id in member_ids {
            t.remove_member(member_id);
        }
        t.remove_api_keys(|k| k.owner == KeyOwner::User(id));
        let passkey_ids: Vec<_> = t
            .passkeys
            .values()
            .filter(|p| p.user_id == id)
            .map(|p| p.id)
            .collect();
        for passkey_id in passkey_ids {
            t.remove_passkey(passkey_id);
        }
        for key in t.api_keys.values_mut() {
            if key.created_by == Some(id) {
                key.created_by = None;
            }
        }
        for invite in t.invites.values_mut() {
            if invite.inviter_id == Some(id) {
                invite.inviter_id = None;
            }
            if invite.accepted_by == Some(id) {
                invite.accepted_by = None;
            }
        }
        t.totp.remove(&id);
        t.recovery_codes.remove(&id);
        t.user_by_email.remove(&email);
        t.users.remove(&id);
        t.forget_scim_orphans();
        Ok(DeleteUserOutcome::Deleted {
            session_token_hashes,
        })
    }
}
