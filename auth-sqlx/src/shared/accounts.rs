// AccountStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::accounts::{Account, PasswordHash, RevokeSessions, UnlinkOutcome};
use auth_core::{AccountId, AccountStore, Entity, Provider, UserId};

use super::sessions::revoke_sessions;
use super::users::{insert_account, lock_user};
use crate::rows::AccountRow;

const ACCOUNT_COLUMNS: &str =
    "id, user_id, provider, provider_account_id, password_hash, created_at, updated_at";

#[async_trait::async_trait]
impl AccountStore for Backend {
    async fn get_account(
        &self,
        provider: &Provider,
        provider_account_id: &str,
    ) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE provider = $1 AND provider_account_id = $2"
        ))
        .bind(provider.as_str())
        .bind(provider_account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Account::try_from).transpose()
    }

    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        convert(rows)
    }

    async fn link_account(&self, account: &Account) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !lock_user(&mut tx, account.user_id).await? {
            return Err(StoreError::MissingReference(Entity::User));
        }
        insert_account(&mut tx, account).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn unlink_account(
        &self,
        user_id: UserId,
        account_id: AccountId,
    ) -> Result<UnlinkOutcome, StoreError> {
        let mut tx = self.begin().await?;
        // The user's row lock serialises unlinks, so two cannot both see "one left".
        if !lock_user(&mut tx, user_id).await? {
            return Ok(UnlinkOutcome::NotFound);
        }
        let (owned, total): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE id = $2), count(*) FROM accounts WHERE user_id = $1",
        )
        .bind(user_id.as_uuid())
        .bind(account_id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if owned == 0 {
            return Ok(UnlinkOutcome::NotFound);
        }
        if total <= 1 {
            return Ok(UnlinkOutcome::LastSignInMethod);
        }
        sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(account_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(UnlinkOutcome::Unlinked)
    }

    async fn set_password(
        &self,
        user_id: UserId,
        hash: &PasswordHash,
        revoke: RevokeSessions,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<TokenHash>>, StoreError> {
        let mut tx = self.begin().await?;
        if !lock_user(&mut tx, user_id).await? {
            return Ok(None);
        }
        let updated = sqlx::query(
            "UPDATE accounts SET password_hash = $2, updated_at = $3 \
             WHERE user_id = $1 AND provider = 'password'",
        )
        .bind(user_id.as_uuid())
        .bind(hash.as_str())
        .bind(Ts(now))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            insert_account(&mut tx, &Account::password(user_id, hash.clone(), now)).await?;
        }
        let revoked = match revoke {
            RevokeSessions::None => Vec::new(),
            RevokeSessions::All => revoke_sessions(&mut tx, user_id, None, now).await?,
            RevokeSessions::AllExcept(keep) => {
                revoke_sessions(&mut tx, user_id, Some(keep), now).await?
            }
        };
        tx.commit().await.map_err(store_error)?;
        Ok(Some(revoked))
    }

    async fn replace_password_hash(
        &self,
        user_id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE accounts SET password_hash = $3, updated_at = $4 \
             WHERE user_id = $1 AND provider = 'password' AND password_hash = $2",
        )
        .bind(user_id.as_uuid())
        .bind(current.as_str())
        .bind(new.as_str())
        .bind(Ts(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(updated.rows_affected() == 1)
    }
}
