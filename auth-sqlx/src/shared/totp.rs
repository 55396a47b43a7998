// TotpStore for both backends (a module of `query.rs`, compiled once per backend). The
// replay guard and single-use recovery codes are conditional UPDATEs: one statement each,
// whose WHERE is re-checked under the row lock, so of concurrent callers (on any node)
// exactly one changes the row.

use super::*;

use auth_core::secret::SealedSecret;
use auth_core::totp::{ConfirmOutcome, PutPendingOutcome, TotpFactor};
use auth_core::{Entity, TotpStore, UserId};

use crate::rows::TotpRow;

const TOTP_COLUMNS: &str = "user_id, format_version, seed, algorithm, digits, period, state, \
     created_at, confirmed_at, last_step, last_used_at";

/// Replaces the user's recovery codes with `codes` (inside the caller's transaction).
async fn install_codes(
    conn: &mut Connection,
    user_id: UserId,
    codes: &[TokenHash],
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    if codes.is_empty() {
        return Ok(());
    }
    let mut query =
        QueryBuilder::<Db>::new("INSERT INTO recovery_codes (user_id, code_hash, created_at) ");
    query.push_values(codes, |mut row, hash| {
        row.push_bind(user_id.as_uuid())
            .push_bind(hash.as_bytes().to_vec())
            .push_bind(Ts(at));
    });
    query
        .build()
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

#[async_trait::async_trait]
impl TotpStore for Backend {
    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<PutPendingOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let user: Option<(Uuid,)> =
            sqlx::query_as(&format!("SELECT id FROM users WHERE id = $1{FOR_UPDATE}"))
                .bind(factor.user_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
        if user.is_none() {
            return Err(StoreError::MissingReference(Entity::User));
        }
        // A pending factor is replaced (its own recovery codes: none); a confirmed one
        // stays, and the WHERE makes the upsert change nothing.
        let result = sqlx::query(&format!(
            "INSERT INTO totp_factors ({TOTP_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, NULL, NULL, NULL) \
             ON CONFLICT (user_id) DO UPDATE SET format_version = excluded.format_version, \
             seed = excluded.seed, algorithm = excluded.algorithm, digits = excluded.digits, \
             period = excluded.period, state = 'pending', created_at = excluded.created_at, \
             confirmed_at = NULL, last_step = NULL, last_used_at = NULL \
             WHERE totp_factors.state = 'pending'"
        ))
        .bind(factor.user_id.as_uuid())
        .bind(i64::from(factor.format_version))
        .bind(factor.seed.to_text())
        .bind(factor.params.algorithm.as_str())
        .bind(i64::from(factor.params.digits))
        .bind(i64::from(factor.params.period))
        .bind(Ts(factor.created_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(if result.rows_affected() == 1 {
            PutPendingOutcome::Stored
        } else {
            PutPendingOutcome::AlreadyConfirmed
        })
    }

    async fn get_totp(&self, user_id: UserId) -> Result<Option<TotpFactor>, StoreError> {
        let row: Option<TotpRow> = sqlx::query_as(&format!(
            "SELECT {TOTP_COLUMNS} FROM totp_factors WHERE user_id = $1"
        ))
        .bind(user_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(TotpFactor::try_from).transpose()
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<ConfirmOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let result = sqlx::query(
            "UPDATE totp_factors SET state = 'confirmed', confirmed_at = $3, last_step = $4, \
             last_used_at = $3 WHERE user_id = $1 AND seed = $2 AND state = 'pending'",
        )
        .bind(user_id.as_uuid())
        .bind(seed.to_text())
        .bind(Ts(at))
        .bind(step)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if result.rows_affected() != 1 {
            return Ok(ConfirmOutcome::NotPending);
        }
        install_codes(&mut tx, user_id, codes, at).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(ConfirmOutcome::Confirmed)
    }

    async fn accept_totp_step(
        &self,
        user_id: UserId,
        seed: &SealedSecret,
        step: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE totp_factors SET last_step = $3, last_used_at = $4 \
             WHERE user_id = $1 AND seed = $2 AND state = 'confirmed' \
             AND (last_step IS NULL OR last_step < $3)",
        )
        .bind(user_id.as_uuid())
        .bind(seed.to_text())
        .bind(step)
        .bind(Ts(at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn consume_recovery_code(
        &self,
        user_id: UserId,
        code_hash: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user_id.as_uuid())
        .bind(&code_hash.as_bytes()[..])
        .bind(Ts(at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let state: Option<(String,)> = sqlx::query_as(&format!(
            "SELECT state FROM totp_factors WHERE user_id = $1{FOR_UPDATE}"
        ))
        .bind(user_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        if state.is_none_or(|(s,)| s != "confirmed") {
            return Ok(false);
        }
        install_codes(&mut tx, user_id, codes, at).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn count_recovery_codes(&self, user_id: UserId) -> Result<u32, StoreError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn delete_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let result = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn purge_pending_totp(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let result =
            sqlx::query("DELETE FROM totp_factors WHERE state = 'pending' AND created_at < $1")
                .bind(Ts(before))
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(result.rows_affected())
    }
}
