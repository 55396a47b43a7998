// CeremonyStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::ceremonies::{Ceremony, CeremonyKind, CeremonyStore};

use crate::rows::CeremonyRow;

const CEREMONY_COLUMNS: &str = "kind, handle_hash, user_id, payload, created_at, expires_at";

#[async_trait::async_trait]
impl CeremonyStore for Backend {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO ceremonies ({CEREMONY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(ceremony.kind.as_str())
        .bind(&ceremony.handle_hash.as_bytes()[..])
        .bind(ceremony.user_id.map(|u| u.as_uuid()))
        .bind(Json(&ceremony.payload))
        .bind(Ts(ceremony.created_at))
        .bind(Ts(ceremony.expires_at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn take_ceremony(
        &self,
        kind: CeremonyKind,
        handle_hash: &TokenHash,
    ) -> Result<Option<Ceremony>, StoreError> {
        // One statement: of concurrent deletes of the row, exactly one returns it.
        let row: Option<CeremonyRow> = sqlx::query_as(&format!(
            "DELETE FROM ceremonies WHERE kind = $1 AND handle_hash = $2 \
             RETURNING {CEREMONY_COLUMNS}"
        ))
        .bind(kind.as_str())
        .bind(&handle_hash.as_bytes()[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Ceremony::try_from).transpose()
    }

    async fn purge_ceremonies(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1")
            .bind(Ts(before))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected())
    }
}
