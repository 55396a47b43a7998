use async_trait::async_trait;
use auth_core::accounts::{Account, Provider};
use auth_core::passkeys::{DeletePasskeyOutcome, Passkey, PasskeyStore, PasskeyUse};
use auth_core::{Conflict, Entity, PasskeyId, StoreError, User, UserId};

use crate::MemoryStore;
use crate::tables::Tables;

impl Tables {
    fn check_new_passkey(&self, passkey: &Passkey) -> Result<(), StoreError> {
        if self.passkeys.contains_key(&passkey.id) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        if self
            .passkey_by_credential
            .contains_key(&passkey.credential_id)
        {
            return Err(StoreError::Conflict(Conflict::PasskeyCredential));
        }
        Ok(())
    }

    fn insert_passkey(&mut self, passkey: &Passkey) {
        self.passkey_by_credential
            .insert(passkey.credential_id.clone(), passkey.id);
        self.passkeys.insert(passkey.id, passkey.clone());
    }
}

#[async_trait]
impl PasskeyStore for MemoryStore {
    async fn create_passkey(&self, passkey: &Passkey) -> Result<(), StoreError> {
        let mut t = self.write();
        if !t.users.contains_key(&passkey.user_id) {
            return Err(StoreError::MissingReference(Entity::User));
        }
        t.check_new_passkey(passkey)?;
        t.insert_passkey(passkey);
        Ok(())
    }

    async fn create_user_with_passkey(
        &self,
        user: &User,
        accounts: &[Account],
        passkey: &Passkey,
    ) -> Result<(), StoreError> {
        let mut t = self.write();
        t.check_new_user(user, accounts)?;
        t.check_new_passkey(passkey)?;
        t.insert_user(user, accounts);
        t.insert_passkey(passkey);
        Ok(())
    }

    async fn get_passkey(&self, id: PasskeyId) -> Result<Option<Passkey>, StoreError> {
        Ok(self.read().passkeys.get(&id).cloned())
    }

    async fn find_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let t = self.read();
        Ok(t.passkey_by_credential
            .get(credential_id)
            .and_then(|id| t.passkeys.get(id))
            .cloned())
    }

    async fn list_passkeys(&self, user_id: UserId) -> Result<Vec<Passkey>, StoreError> {
        let mut list: Vec<Passkey> = self
            .read()
            .passkeys
            .values()
            .filter(|p| p.user_id == user_id)
            .cloned()
            .collect();
        list.sort_by_key(|p| (p.created_at, p.id));
        Ok(list)
    }

    async fn rename_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &str,
    ) -> Result<Option<Passkey>, StoreError> {
        let mut t = self.write();
        Ok(t.passkeys
            .get_mut(&id)
            .filter(|p| p.user_id == user_id)
            .map(|p| {
                p.name = name.to_owned();
                p.clone()
            }))
    }

    async fn record_passkey_use(
        &self,
        id: PasskeyId,
        expected_counter: u32,
        update: &PasskeyUse,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        let Some(passkey) = t
            .passkeys
            .get_mut(&id)
            .filter(|p| p.counter == expected_counter)
        else {
            return Ok(false);
        };
        passkey.credential = update.credential.clone();
        passkey.counter = update.counter;
        passkey.backup_eligible = update.backup_eligible;
        passkey.backup_state = update.backup_state;
        passkey.last_used_at = Some(update.at);
        Ok(true)
    }

    async fn delete_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keep_sign_in_method: bool,
    ) -> Result<DeletePasskeyOutcome, StoreError> {
        let mut t = self.write();
        if t.passkeys.get(&id).is_none_or(|p| p.user_id != user_id) {
            return Ok(DeletePasskeyOutcome::NotFound);
        }
        if keep_sign_in_method {
            let other_passkeys = t
                .passkeys
                .values()
                .any(|p| p.user_id == user_id && p.id != id);
            let other_accounts = t
                .accounts
                .values()
                .any(|a| a.user_id == user_id && a.provider.as_str() != Provider::EMAIL);
            if !other_passkeys && !other_accounts {
                return Ok(DeletePasskeyOutcome::LastSignInMethod);
            }
        }
        t.remove_passkey(id);
        Ok(DeletePasskeyOutcome::Deleted)
    }
}
