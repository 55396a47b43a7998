// VerificationStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::verification::{AttemptReservation, LinkConsumption, Purpose, Verification};
use auth_core::{Email, VerificationId, VerificationStore};

use crate::rows::VerificationRow;

const VERIFICATION_COLUMNS: &str = "id, purpose, email, user_id, code_hash, link_hash, \
     attempts, max_attempts, created_at, expires_at, consumed_at";

#[async_trait::async_trait]
impl VerificationStore for Backend {
    async fn replace_verification(&self, v: &Verification) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "DELETE FROM verifications WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL",
        )
        .bind(v.email.as_str())
        .bind(v.purpose.as_str())
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        sqlx::query(&format!(
            "INSERT INTO verifications ({VERIFICATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(v.id.as_uuid())
        .bind(v.purpose.as_str())
        .bind(v.email.as_str())
        .bind(v.user_id.map(|u| u.as_uuid()))
        .bind(&v.code_hash.as_bytes()[..])
        .bind(&v.link_hash.as_bytes()[..])
        .bind(i64::from(v.attempts))
        .bind(i64::from(v.max_attempts))
        .bind(Ts(v.created_at))
        .bind(Ts(v.expires_at))
        .bind(v.consumed_at.map(Ts))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn active_verification(
        &self,
        email: &Email,
        purpose: Purpose,
    ) -> Result<Option<Verification>, StoreError> {
        let row: Option<VerificationRow> = sqlx::query_as(&format!(
            "SELECT {VERIFICATION_COLUMNS} FROM verifications \
             WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(email.as_str())
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Verification::try_from).transpose()
    }

    async fn reserve_code_attempt(
        &self,
        email: &Email,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<AttemptReservation, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<VerificationRow> = sqlx::query_as(&format!(
            "SELECT {VERIFICATION_COLUMNS} FROM verifications \
             WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT 1{FOR_UPDATE}"
        ))
        .bind(email.as_str())
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(mut v) = row.map(Verification::try_from).transpose()? else {
            return Ok(AttemptReservation::NoneActive);
        };
        if now >= v.expires_at {
            return Ok(AttemptReservation::Expired);
        }
        if v.attempts >= v.max_attempts {
            return Ok(AttemptReservation::Exhausted);
        }
        sqlx::query("UPDATE verifications SET attempts = attempts + 1 WHERE id = $1")
            .bind(v.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        v.attempts += 1;
        Ok(AttemptReservation::Reserved(v))
    }

    async fn consume_verification(
        &self,
        id: VerificationId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE verifications SET consumed_at = $2 \
             WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2",
        )
        .bind(id.as_uuid())
        .bind(Ts(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn consume_link(
        &self,
        purpose: Purpose,
        link_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<LinkConsumption, StoreError> {
        // One statement: concurrent uses of one link cannot both succeed.
        let row: Option<VerificationRow> = sqlx::query_as(&format!(
            "UPDATE verifications SET consumed_at = $3 \
             WHERE link_hash = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > $3 \
             RETURNING {VERIFICATION_COLUMNS}"
        ))
        .bind(&link_hash.as_bytes()[..])
        .bind(purpose.as_str())
        .bind(Ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        if let Some(v) = row {
            return Ok(LinkConsumption::Consumed(Verification::try_from(v)?));
        }
        let pending: Option<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM verifications \
             WHERE link_hash = $1 AND purpose = $2 AND consumed_at IS NULL",
        )
        .bind(&link_hash.as_bytes()[..])
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(if pending.is_some() {
            LinkConsumption::Expired
        } else {
            LinkConsumption::Unknown
        })
    }

    async fn purge_verifications(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let result =
            sqlx::query("DELETE FROM verifications WHERE expires_at < $1 OR consumed_at < $1")
                .bind(Ts(before))
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(result.rows_affected())
    }
}
