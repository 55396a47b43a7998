use async_trait::async_trait;
use auth_core::accounts::{PasswordHash, RevokeSessions, UnlinkOutcome};
use auth_core::{
    Account, AccountId, AccountStore, Conflict, Entity, Provider, StoreError, TokenHash, UserId,
};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::tables::Tables;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn get_account(
        &self,
        provider: &Provider,
        provider_account_id: &str,
    ) -> Result<Option<Account>, StoreError> {
        let t = self.read();
        let key = (provider.as_str().to_owned(), provider_account_id.to_owned());
        Ok(t.account_by_key
            .get(&key)
            .and_then(|id| t.accounts.get(id))
            .cloned())
    }

    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<Account>, StoreError> {
        let t = self.read();
        let mut accounts: Vec<Account> = t
            .accounts
            .values()
            .filter(|a| a.user_id == user_id)
            .cloned()
            .collect();
        accounts.sort_by_key(|a| (a.created_at, a.id));
        Ok(accounts)
    }

    async fn link_account(&self, account: &Account) -> Result<(), StoreError> {
        let mut t = self.write();
        if !t.users.contains_key(&account.user_id) {
            return Err(StoreError::MissingReference(Entity::User));
        }
        let key = Tables::account_key(account);
        if t.account_by_key.contains_key(&key) || t.accounts.contains_key(&account.id) {
            return Err(StoreError::Conflict(Conflict::Account));
        }
        t.account_by_key.insert(key, account.id);
        t.accounts.insert(account.id, account.clone());
        Ok(())
    }

    async fn unlink_account(
        &self,
        user_id: UserId,
        account_id: AccountId,
    ) -> Result<UnlinkOutcome, StoreError> {
        let mut t = self.write();
        match t.accounts.get(&account_id) {
            Some(a) if a.user_id == user_id => {}
            _ => return Ok(UnlinkOutcome::NotFound),
        }
        let count = t.accounts.values().filter(|a| a.user_id == user_id).count();
        if count <= 1 {
            return Ok(UnlinkOutcome::LastSignInMethod);
        }
        if let Some(account) = t.accounts.remove(&account_id) {
            t.account_by_key.remove(&Tables::account_key(&account));
        }
        Ok(UnlinkOutcome::Unlinked)
    }

    async fn set_password(
        &self,
        user_id: UserId,
        hash: &PasswordHash,
        revoke: RevokeSessions,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<TokenHash>>, StoreError> {
        let mut t = self.write();
        if !t.users.contains_key(&user_id) {
            return Ok(None);
        }
        let existing = t
            .accounts
            .values_mut()
            .find(|a| a.user_id == user_id && a.provider.as_str() == Provider::PASSWORD);
        match existing {
            Some(account) => {
                account.password_hash = Some(hash.clone());
                account.updated_at = now;
            }
            None => {
                let account = Account::password(user_id, hash.clone(), now);
                t.account_by_key
                    .insert(Tables::account_key(&account), account.id);
                t.accounts.insert(account.id, account);
            }
        }
        let except = match revoke {
            RevokeSessions::None => return Ok(Some(Vec::new())),
            RevokeSessions::All => None,
            RevokeSessions::AllExcept(id) => Some(id),
        };
        Ok(Some(t.revoke_user_sessions(user_id, except, now)))
    }

    async fn replace_password_hash(
        &self,
        user_id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        let account = t.accounts.values_mut().find(|a| {
            a.user_id == user_id
                && a.provider.as_str() == Provider::PASSWORD
                && a.password_hash.as_ref() == Some(current)
        });
        Ok(account.is_some_and(|account| {
            account.password_hash = Some(new.clone());
            account.updated_at = now;
            true
        }))
    }
}
