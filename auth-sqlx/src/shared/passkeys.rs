// PasskeyStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::passkeys::{DeletePasskeyOutcome, Passkey, PasskeyStore, PasskeyUse};
use auth_core::{Account, Entity, PasskeyId, User, UserId};

use super::users::{insert_account, insert_user, lock_user};
use crate::rows::PasskeyRow;

const PASSKEY_COLUMNS: &str = "id, user_id, credential_id, credential, format, counter, \
     backup_eligible, backup_state, transports, aaguid, name, created_at, last_used_at";

async fn insert_passkey(conn: &mut Connection, passkey: &Passkey) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO passkeys ({PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, $13)"
    ))
    .bind(passkey.id.as_uuid())
    .bind(passkey.user_id.as_uuid())
    .bind(passkey.credential_id.as_slice())
    .bind(passkey.credential.as_str())
    .bind(i32::from(passkey.format))
    .bind(i64::from(passkey.counter))
    .bind(passkey.backup_eligible)
    .bind(passkey.backup_state)
    .bind(Json(&passkey.transports))
    .bind(passkey.aaguid)
    .bind(passkey.name.as_str())
    .bind(Ts(passkey.created_at))
    .bind(passkey.last_used_at.map(Ts))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait::async_trait]
impl PasskeyStore for Backend {
    async fn create_passkey(&self, passkey: &Passkey) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !lock_user(&mut tx, passkey.user_id).await? {
            return Err(StoreError::MissingReference(Entity::User));
        }
        insert_passkey(&mut tx, passkey).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn create_user_with_passkey(
        &self,
        user: &User,
        accounts: &[Account],
        passkey: &Passkey,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_user(&mut tx, user).await?;
        for account in accounts {
            insert_account(&mut tx, account).await?;
        }
        insert_passkey(&mut tx, passkey).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn get_passkey(&self, id: PasskeyId) -> Result<Option<Passkey>, StoreError> {
        let row: Option<PasskeyRow> = sqlx::query_as(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Passkey::try_from).transpose()
    }

    async fn find_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let row: Option<PasskeyRow> = sqlx::query_as(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Passkey::try_from).transpose()
    }

    async fn list_passkeys(&self, user_id: UserId) -> Result<Vec<Passkey>, StoreError> {
        let rows: Vec<PasskeyRow> = sqlx::query_as(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(Passkey::try_from).collect()
    }

    async fn rename_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &str,
    ) -> Result<Option<Passkey>, StoreError> {
        let row: Option<PasskeyRow> = sqlx::query_as(&format!(
            "UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2 \
             RETURNING {PASSKEY_COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Passkey::try_from).transpose()
    }

    async fn record_passkey_use(
        &self,
        id: PasskeyId,
        expected_counter: u32,
        update: &PasskeyUse,
    ) -> Result<bool, StoreError> {
        // Compare-and-set in one statement: of two uses read at one counter, one writes.
        let done = sqlx::query(
            "UPDATE passkeys SET credential = $3, counter = $4, backup_eligible = $5, \
             backup_state = $6, last_used_at = $7 WHERE id = $1 AND counter = $2",
        )
        .bind(id.as_uuid())
        .bind(i64::from(expected_counter))
        .bind(update.credential.as_str())
        .bind(i64::from(update.counter))
        .bind(update.backup_eligible)
        .bind(update.backup_state)
        .bind(Ts(update.at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keep_sign_in_method: bool,
    ) -> Result<DeletePasskeyOutcome, StoreError> {
        let mut tx = self.begin().await?;
        // The user's row lock serialises this with the user's other credential changes
        // (another passkey removed, an account unlinked, recovery).
        if !lock_user(&mut tx, user_id).await? {
            return Ok(DeletePasskeyOutcome::NotFound);
        }
        if keep_sign_in_method {
            let (others,): (i64,) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM passkeys WHERE user_id = $1 AND id <> $2) \
                 + (SELECT count(*) FROM accounts WHERE user_id = $1 AND provider <> 'email')",
            )
            .bind(user_id.as_uuid())
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
            if others == 0 {
                let (mine,): (i64,) =
                    sqlx::query_as("SELECT count(*) FROM passkeys WHERE id = $1 AND user_id = $2")
                        .bind(id.as_uuid())
                        .bind(user_id.as_uuid())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(store_error)?;
                return Ok(if mine == 0 {
                    DeletePasskeyOutcome::NotFound
                } else {
                    DeletePasskeyOutcome::LastSignInMethod
                });
            }
        }
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(if done.rows_affected() == 1 {
            DeletePasskeyOutcome::Deleted
        } else {
            DeletePasskeyOutcome::NotFound
        })
    }
}
