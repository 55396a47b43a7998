//! [`AccountStore`] and [`CredentialStore`]: accounts as JSON under `account:{id}`, found by
//! `account-of:{provider}:{id}`, listed per user by `user:{id}:accounts`.

use async_trait::async_trait;
use auth_core::accounts::{PasswordHash, RevokeSessions, UnlinkOutcome};
use auth_core::credentials::{EndCredentials, EndedCredentials};
use auth_core::mfa::SecondFactors;
use auth_core::{
    Account, AccountId, AccountStore, Conflict, CredentialStore, Entity, Provider, StoreError,
    TokenHash, UserId,
};
use time::OffsetDateTime;

use crate::records::AccountRecord;
use crate::tx::{MAX_ATTEMPTS, Tx, contention, decode, encode};
use crate::{RedisStore, micros, redis_error};

impl RedisStore {
    /// Watches the user's account set and accounts, and reads them, oldest first.
    async fn watch_accounts(&self, tx: &mut Tx, user: UserId) -> Result<Vec<Account>, StoreError> {
        let set = self.user_accounts_key(user);
        tx.watch(&[&set]).await?;
        let ids: Vec<String> = tx
            .query(redis::cmd("ZRANGE").arg(&set).arg(0).arg(-1))
            .await?;
        let keys: Vec<String> = ids
            .iter()
            .map(|id| self.key(format_args!("account:{id}")))
            .collect();
        tx.watch(&keys).await?;
        Ok(tx
            .get_many_json::<AccountRecord>(&keys, "account")
            .await?
            .into_iter()
            .flatten()
            .map(Account::from)
            .collect())
    }

    /// Queues the write of `account` and its indexes.
    fn queue_account_write(
        &self,
        pipe: &mut redis::Pipeline,
        account: &Account,
    ) -> Result<(), StoreError> {
        let id = account.id.to_string();
        pipe.cmd("SET")
            .arg(self.account_key(account.id))
            .arg(encode(&AccountRecord::from(account))?)
            .ignore();
        pipe.cmd("SET")
            .arg(self.account_of_key(&account.provider, &account.provider_account_id))
            .arg(&id)
            .ignore();
        pipe.cmd("ZADD")
            .arg(self.user_accounts_key(account.user_id))
            .arg(micros(account.created_at))
            .arg(&id)
            .ignore();
        Ok(())
    }
}

#[async_trait]
impl AccountStore for RedisStore {
    async fn get_account(
        &self,
        provider: &Provider,
        provider_account_id: &str,
    ) -> Result<Option<Account>, StoreError> {
        let mut conn = self.conn();
        let id: Option<String> = redis::cmd("GET")
            .arg(self.account_of_key(provider, provider_account_id))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let Some(id) = id else {
            return Ok(None);
        };
        let key = self.key(format_args!("account:{id}"));
        let json: Option<String> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(json
            .map(|json| decode::<AccountRecord>(&json, "account"))
            .transpose()?
            .map(Account::from))
    }

    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<Account>, StoreError> {
        let mut conn = self.conn();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.user_accounts_key(user_id))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| self.key(format_args!("account:{id}")))
            .collect();
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        values
            .into_iter()
            .flatten()
            .map(|json| decode::<AccountRecord>(&json, "account").map(Account::from))
            .collect()
    }

    /// A transaction watching the user and the provider identity.
    async fn link_account(&self, account: &Account) -> Result<(), StoreError> {
        let user_key = self.user_key(account.user_id);
        let of = self.account_of_key(&account.provider, &account.provider_account_id);
        let key = self.account_key(account.id);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&user_key, &of, &key]).await?;
            if !tx.exists(&user_key).await? {
                tx.unwatch().await?;
                return Err(StoreError::MissingReference(Entity::User));
            }
            if tx.exists(&of).await? || tx.exists(&key).await? {
                tx.unwatch().await?;
                return Err(StoreError::Conflict(Conflict::Account));
            }
            let mut pipe = redis::pipe();
            self.queue_account_write(&mut pipe, account)?;
            if tx.exec(&mut pipe).await? {
                return Ok(());
            }
        }
        Err(contention())
    }

    /// A transaction watching the user's account set: two concurrent unlinks of a user's
    /// last two accounts cannot both commit.
    async fn unlink_account(
        &self,
        user_id: UserId,
        account_id: AccountId,
    ) -> Result<UnlinkOutcome, StoreError> {
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let accounts = self.watch_accounts(&mut tx, user_id).await?;
            let Some(account) = accounts.iter().find(|a| a.id == account_id) else {
                tx.unwatch().await?;
                return Ok(UnlinkOutcome::NotFound);
            };
            if accounts.len() <= 1 {
                tx.unwatch().await?;
                return Ok(UnlinkOutcome::LastSignInMethod);
            }
            let mut pipe = redis::pipe();
            pipe.cmd("DEL")
                .arg(self.account_key(account.id))
                .arg(self.account_of_key(&account.provider, &account.provider_account_id))
                .ignore();
            pipe.cmd("ZREM")
                .arg(self.user_accounts_key(user_id))
                .arg(account.id.to_string())
                .ignore();
            if tx.exec(&mut pipe).await? {
                return Ok(UnlinkOutcome::Unlinked);
            }
        }
        Err(contention())
    }

    /// One transaction over the user, its accounts and (when revoking) its sessions.
    async fn set_password(
        &self,
        user_id: UserId,
        hash: &PasswordHash,
        revoke: RevokeSessions,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<TokenHash>>, StoreError> {
        let user_key = self.user_key(user_id);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&user_key]).await?;
            if !tx.exists(&user_key).await? {
                tx.unwatch().await?;
                return Ok(None);
            }
            let accounts = self.watch_accounts(&mut tx, user_id).await?;
            let account = match accounts
                .into_iter()
                .find(|a| a.provider.as_str() == Provider::PASSWORD)
            {
                Some(mut account) => {
                    account.password_hash = Some(hash.clone());
                    account.updated_at = now;
                    account
                }
                None => Account::password(user_id, hash.clone(), now),
            };
            let mut pipe = redis::pipe();
            self.queue_account_write(&mut pipe, &account)?;
            let except = match revoke {
                RevokeSessions::None => None,
                RevokeSessions::All => Some(None),
                RevokeSessions::AllExcept(id) => Some(Some(id)),
            };
            let revoked = match except {
                None => Vec::new(),
                Some(except) => {
                    self.queue_revoke_user_sessions(&mut tx, &mut pipe, user_id, except, now)
                        .await?
                }
            };
            if tx.exec(&mut pipe).await? {
                return Ok(Some(revoked));
            }
        }
        Err(contention())
    }

    /// A compare-and-set on the password account.
    async fn replace_password_hash(
        &self,
        user_id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let accounts = self.watch_accounts(&mut tx, user_id).await?;
            let Some(mut account) = accounts.into_iter().find(|a| {
                a.provider.as_str() == Provider::PASSWORD
                    && a.password_hash.as_ref() == Some(current)
            }) else {
                tx.unwatch().await?;
                return Ok(false);
            };
            account.password_hash = Some(new.clone());
            account.updated_at = now;
            let mut pipe = redis::pipe();
            self.queue_account_write(&mut pipe, &account)?;
            if tx.exec(&mut pipe).await? {
                return Ok(true);
            }
        }
        Err(contention())
    }
}

/// Ending a user's credentials: the store has only the core, so there are no domain
/// credentials; sessions and sign-in methods end in one transaction like `set_password`.
#[async_trait]
impl CredentialStore for RedisStore {
    async fn end_credentials(
        &self,
        user_id: UserId,
        end: EndCredentials,
        at: OffsetDateTime,
    ) -> Result<Option<EndedCredentials>, StoreError> {
        let user_key = self.user_key(user_id);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&user_key]).await?;
            if !tx.exists(&user_key).await? {
                tx.unwatch().await?;
                return Ok(None);
            }
            let accounts = self.watch_accounts(&mut tx, user_id).await?;
            let mut pipe = redis::pipe();
            let mut ended = EndedCredentials::default();
            if end.sign_in_methods {
                let (keep, doomed): (Vec<_>, Vec<_>) = accounts
                    .into_iter()
                    .partition(|a| a.provider.as_str() == Provider::EMAIL);
                for account in &doomed {
                    pipe.cmd("DEL")
                        .arg(self.account_key(account.id))
                        .arg(self.account_of_key(&account.provider, &account.provider_account_id))
                        .ignore();
                    pipe.cmd("ZREM")
                        .arg(self.user_accounts_key(user_id))
                        .arg(account.id.to_string())
                        .ignore();
                }
                ended.sign_in_methods = doomed.len() as u64;
                if keep.is_empty() {
                    self.queue_account_write(&mut pipe, &Account::email(user_id, at))?;
                }
            }
            ended.session_token_hashes = self
                .queue_revoke_user_sessions(&mut tx, &mut pipe, user_id, None, at)
                .await?;
            if tx.exec(&mut pipe).await? {
                return Ok(Some(ended));
            }
        }
        Err(contention())
    }

    /// The store has no factor domain (TOTP, passkeys), so no user holds a second factor.
    async fn second_factors(&self, _user_id: UserId) -> Result<SecondFactors, StoreError> {
        Ok(SecondFactors::none())
    }

    /// No SSO domain here: no verified domain requires SSO.
    async fn sso_required(&self, _domain: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}
