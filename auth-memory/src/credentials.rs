use async_trait::async_trait;
use auth_core::api_keys::KeyOwner;
use auth_core::credentials::{EndCredentials, EndedCredentials};
use auth_core::totp::TotpFactor;
use auth_core::{Account, CredentialStore, Provider, SecondFactors, StoreError, UserId};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::tables::Tables;

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn end_credentials(
        &self,
        user_id: UserId,
        end: EndCredentials,
        at: OffsetDateTime,
    ) -> Result<Option<EndedCredentials>, StoreError> {
        let mut t = self.write();
        if !t.users.contains_key(&user_id) {
            return Ok(None);
        }
        let mut ended = EndedCredentials::default();
        if end.sign_in_methods {
            let doomed: Vec<Account> = t
                .accounts
                .values()
                .filter(|a| a.user_id == user_id && a.provider.as_str() != Provider::EMAIL)
                .cloned()
                .collect();
            for account in &doomed {
                t.accounts.remove(&account.id);
                t.account_by_key.remove(&Tables::account_key(account));
            }
            ended.sign_in_methods = doomed.len() as u64;
            // Second factors someone set up before the owner proved the address go too.
            if t.totp.remove(&user_id).is_some() {
                t.recovery_codes.remove(&user_id);
                ended.totp += 1;
            }
            let passkeys: Vec<_> = t
                .passkeys
                .values()
                .filter(|p| p.user_id == user_id)
                .map(|p| p.id)
                .collect();
            for id in &passkeys {
                t.remove_passkey(*id);
            }
            ended.passkeys = passkeys.len() as u64;
            let has_email = t
                .accounts
                .values()
                .any(|a| a.user_id == user_id && a.provider.as_str() == Provider::EMAIL);
            if !has_email {
                let account = Account::email(user_id, at);
                t.account_by_key
                    .insert(Tables::account_key(&account), account.id);
                t.accounts.insert(account.id, account);
            }
        }
        if end.domains {
            for key in t.api_keys.values_mut() {
                if key.owner == KeyOwner::User(user_id) && key.revoked_at.is_none_or(|r| at < r) {
                    key.revoked_at = Some(at);
                    key.updated_at = at.max(key.updated_at);
                    ended.api_keys += 1;
                }
            }
        }
        ended.session_token_hashes = t.revoke_user_sessions(user_id, None, at);
        Ok(Some(ended))
    }

    async fn second_factors(&self, user_id: UserId) -> Result<SecondFactors, StoreError> {
        let t = self.read();
        let totp = t.totp.get(&user_id).is_some_and(TotpFactor::is_confirmed);
        let passkey = t.passkeys.values().any(|p| p.user_id == user_id);
        Ok(SecondFactors::none().with_totp(totp).with_passkey(passkey))
    }

    async fn sso_required(&self, domain: &str) -> Result<bool, StoreError> {
        Ok(self
            .read()
            .domains
            .values()
            .any(|d| d.domain == domain && d.is_verified() && d.require_sso))
    }
}
