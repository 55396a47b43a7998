//! [`UserStore`]: users as JSON under `user:{id}`, found by `email:{email}`, listed
//! through `users:by-created` (scores) and `users:by-email` (lex).

use async_trait::async_trait;
use auth_core::accounts::Account;
use auth_core::members::KeepRole;
use auth_core::pagination::PageRequest;
use auth_core::sessions::Session;
use auth_core::users::{DeleteUserOutcome, Dependents, UserFilter, UserOrder, UserPatch};
use auth_core::verification::Verification;
use auth_core::{Conflict, Email, StoreError, User, UserId, UserStore};
use time::OffsetDateTime;

use crate::list::{Index, lex_member};
use crate::records::{AccountRecord, SessionRecord, VerificationRecord};
use crate::tx::{MAX_ATTEMPTS, contention, decode, encode};
use crate::{RedisStore, micros, redis_error};

#[async_trait]
impl UserStore for RedisStore {
    /// One transaction watching the user, email and provider-identity keys: refuses if
    /// any exists, else writes the user, its accounts and every index.
    async fn create_user(&self, user: &User, accounts: &[Account]) -> Result<(), StoreError> {
        let user_key = self.user_key(user.id);
        let email_key = self.email_key(&user.email);
        let json = encode(user)?;
        let mut rows = Vec::with_capacity(accounts.len());
        for a in accounts {
            rows.push((
                self.account_key(a.id),
                self.account_of_key(&a.provider, &a.provider_account_id),
                encode(&AccountRecord::from(a))?,
                a,
            ));
        }
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let mut watched = vec![user_key.clone(), email_key.clone()];
            for (key, of, _, _) in &rows {
                watched.push(key.clone());
                watched.push(of.clone());
            }
            tx.watch(&watched).await?;
            let conflict = if tx.exists(&user_key).await? {
                Some(Conflict::Id)
            } else if tx.exists(&email_key).await? {
                Some(Conflict::UserEmail)
            } else {
                let mut found = None;
                for (key, of, _, _) in &rows {
                    if tx.exists(of).await? {
                        found = Some(Conflict::Account);
                    } else if tx.exists(key).await? {
                        found = Some(Conflict::Id);
                    }
                }
                found
            };
            if let Some(conflict) = conflict {
                tx.unwatch().await?;
                return Err(StoreError::Conflict(conflict));
            }
            let id = user.id.to_string();
            let mut pipe = redis::pipe();
            pipe.cmd("SET").arg(&user_key).arg(&json).ignore();
            pipe.cmd("SET").arg(&email_key).arg(&id).ignore();
            pipe.cmd("ZADD")
                .arg(self.users_by_created_key())
                .arg(micros(user.created_at))
                .arg(&id)
                .ignore();
            pipe.cmd("ZADD")
                .arg(self.users_by_email_key())
                .arg(0)
                .arg(lex_member(user.email.as_str(), &id))
                .ignore();
            for (key, of, json, a) in &rows {
                pipe.cmd("SET").arg(key).arg(json).ignore();
                pipe.cmd("SET").arg(of).arg(a.id.to_string()).ignore();
                pipe.cmd("ZADD")
                    .arg(self.user_accounts_key(user.id))
                    .arg(micros(a.created_at))
                    .arg(a.id.to_string())
                    .ignore();
            }
            if tx.exec(&mut pipe).await? {
                return Ok(());
            }
        }
        Err(contention())
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let json: Option<String> = redis::cmd("GET")
            .arg(self.user_key(id))
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        json.map(|json| decode(&json, "user")).transpose()
    }

    async fn get_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let id: Option<String> = redis::cmd("GET")
            .arg(self.email_key(email))
            .query_async(&mut self.conn())
            .await
            .map_err(redis_error)?;
        let Some(id) = id else {
            return Ok(None);
        };
        let id: UserId = id.parse().map_err(|_| StoreError::corrupt("email index"))?;
        self.get_user(id).await
    }

    async fn list_users(
        &self,
        request: &PageRequest<UserFilter, UserOrder>,
    ) -> Result<Vec<User>, StoreError> {
        let (zset, index) = match request.order {
            UserOrder::CreatedAt => (self.users_by_created_key(), Index::Time),
            UserOrder::Email => (self.users_by_email_key(), Index::Text),
        };
        self.walk(
            &zset,
            index,
            request,
            |id| self.key(format_args!("user:{id}")),
            |json| decode::<User>(json, "user"),
            |user| request.filter.matches(user),
        )
        .await
    }

    /// A transaction on the user's key (and the new email's, when it changes).
    async fn update_user(
        &self,
        id: UserId,
        patch: &UserPatch,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        let key = self.user_key(id);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let Some(current) = tx.watch_json::<User>(&key, "user").await? else {
                tx.unwatch().await?;
                return Ok(None);
            };
            let mut updated = current.clone();
            patch.apply(&mut updated, now);
            let mut pipe = redis::pipe();
            if updated.email != current.email {
                let new_email_key = self.email_key(&updated.email);
                tx.watch(&[&new_email_key]).await?;
                if tx.exists(&new_email_key).await? {
                    tx.unwatch().await?;
                    return Err(StoreError::Conflict(Conflict::UserEmail));
                }
                let by_email = self.users_by_email_key();
                pipe.cmd("DEL").arg(self.email_key(&current.email)).ignore();
                pipe.cmd("SET")
                    .arg(&new_email_key)
                    .arg(id.to_string())
                    .ignore();
                pipe.cmd("ZREM")
                    .arg(&by_email)
                    .arg(lex_member(current.email.as_str(), id))
                    .ignore();
                pipe.cmd("ZADD")
                    .arg(&by_email)
                    .arg(0)
                    .arg(lex_member(updated.email.as_str(), id))
                    .ignore();
            }
            pipe.cmd("SET").arg(&key).arg(encode(&updated)?).ignore();
            if tx.exec(&mut pipe).await? {
                return Ok(Some(updated));
            }
        }
        Err(contention())
    }

    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let key = self.user_key(id);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let user = tx.watch_json::<User>(&key, "user").await?;
            let mut user = match user {
                Some(user) if user.email == *email => user,
                _ => {
                    tx.unwatch().await?;
                    return Ok(false);
                }
            };
            if user.email_verified {
                tx.unwatch().await?;
                return Ok(true);
            }
            user.email_verified = true;
            user.updated_at = now;
            let mut pipe = redis::pipe();
            pipe.cmd("SET").arg(&key).arg(encode(&user)?).ignore();
            if tx.exec(&mut pipe).await? {
                return Ok(true);
            }
        }
        Err(contention())
    }

    /// One transaction watching the user, its index sets and every record it will delete,
    /// so a session or code created meanwhile makes it start again. A core-only store has
    /// no memberships: `keep` never refuses.
    async fn delete_user(
        &self,
        id: UserId,
        cascade: bool,
        _keep: &KeepRole,
    ) -> Result<DeleteUserOutcome, StoreError> {
        let user_key = self.user_key(id);
        let accounts_key = self.user_accounts_key(id);
        let sessions_key = self.user_sessions_key(id);
        let codes_key = self.user_codes_key(id);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&user_key, &accounts_key, &sessions_key, &codes_key])
                .await?;
            let Some(user) = tx.get_json::<User>(&user_key, "user").await? else {
                tx.unwatch().await?;
                return Ok(DeleteUserOutcome::NotFound);
            };
            let codes_of_email = self.codes_of_email_key(&user.email);
            tx.watch(&[&codes_of_email]).await?;
            let account_ids: Vec<String> = tx
                .query(redis::cmd("ZRANGE").arg(&accounts_key).arg(0).arg(-1))
                .await?;
            let session_ids: Vec<String> = tx
                .query(redis::cmd("ZRANGE").arg(&sessions_key).arg(0).arg(-1))
                .await?;
            let code_ids: Vec<String> = tx
                .query(redis::cmd("SUNION").arg(&codes_key).arg(&codes_of_email))
                .await?;
            let account_keys: Vec<String> = account_ids
                .iter()
                .map(|a| self.key(format_args!("account:{a}")))
                .collect();
            let session_keys: Vec<String> = session_ids
                .iter()
                .map(|s| self.key(format_args!("session:{s}")))
                .collect();
            let refresh_sets: Vec<String> = session_ids
                .iter()
                .map(|s| self.key(format_args!("session:{s}:refresh")))
                .collect();
            let code_keys: Vec<String> = code_ids
                .iter()
                .map(|c| self.key(format_args!("code:{c}")))
                .collect();
            tx.watch(&account_keys).await?;
            tx.watch(&session_keys).await?;
            tx.watch(&refresh_sets).await?;
            tx.watch(&code_keys).await?;
            let accounts: Vec<Account> = tx
                .get_many_json::<AccountRecord>(&account_keys, "account")
                .await?
                .into_iter()
                .flatten()
                .map(Account::from)
                .collect();
            let sessions: Vec<Session> = tx
                .get_many_json::<SessionRecord>(&session_keys, "session")
                .await?
                .into_iter()
                .flatten()
                .map(Session::try_from)
                .collect::<Result<_, _>>()?;
            let codes: Vec<Verification> = tx
                .get_many_json::<VerificationRecord>(&code_keys, "verification")
                .await?
                .into_iter()
                .flatten()
                .map(Verification::try_from)
                .collect::<Result<_, _>>()?;
            if !cascade {
                let mut dependents = Dependents::default();
                dependents.sessions = sessions.len() as u64;
                dependents.linked_accounts =
                    accounts.iter().filter(|a| !a.provider.is_local()).count() as u64;
                if !dependents.is_empty() {
                    tx.unwatch().await?;
                    return Ok(DeleteUserOutcome::HasDependents(dependents));
                }
            }
            let mut pipe = redis::pipe();
            let uid = id.to_string();
            pipe.cmd("DEL")
                .arg(&user_key)
                .arg(self.email_key(&user.email))
                .arg(&accounts_key)
                .arg(&sessions_key)
                .arg(&codes_key)
                .arg(&codes_of_email)
                .ignore();
            pipe.cmd("ZREM")
                .arg(self.users_by_created_key())
                .arg(&uid)
                .ignore();
            pipe.cmd("ZREM")
                .arg(self.users_by_email_key())
                .arg(lex_member(user.email.as_str(), &uid))
                .ignore();
            for account in &accounts {
                pipe.cmd("DEL")
                    .arg(self.account_key(account.id))
                    .arg(self.account_of_key(&account.provider, &account.provider_account_id))
                    .ignore();
            }
            let mut session_token_hashes = Vec::with_capacity(sessions.len());
            for session in &sessions {
                let refresh_set = self.session_refresh_key(session.id);
                tx.watch(&[&refresh_set]).await?;
                let refresh: Vec<String> =
                    tx.query(redis::cmd("SMEMBERS").arg(&refresh_set)).await?;
                for hash in refresh {
                    pipe.cmd("DEL")
                        .arg(self.key(format_args!("refresh:{hash}")))
                        .ignore();
                }
                pipe.cmd("DEL")
                    .arg(self.session_key(session.id))
                    .arg(self.session_token_key(&session.token_hash))
                    .arg(&refresh_set)
                    .ignore();
                pipe.cmd("ZREM")
                    .arg(self.sessions_ends_key())
                    .arg(format!("{}:{uid}", session.id))
                    .ignore();
                session_token_hashes.push(session.token_hash);
            }
            for code in &codes {
                self.queue_code_removal(&mut tx, &mut pipe, code).await?;
            }
            if tx.exec(&mut pipe).await? {
                return Ok(DeleteUserOutcome::Deleted {
                    session_token_hashes,
                });
            }
        }
        Err(contention())
    }
}
