// ApiKeyStore and RateLimitStore for both backends (a module of `query.rs`, compiled once
// per backend).

use super::*;

use auth_core::api_keys::{
    ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyPatch, KeyOwner, QuotaOutcome, RateDecision,
    RateLimit, RotateOutcome, Successor,
};
use auth_core::rate_limit::micros;
use auth_core::{ApiKeyId, ApiKeyStore, Entity, RateLimitStore};

use crate::rows::{ApiKeyRow, owner_columns, quota_columns};

const API_KEY_COLUMNS: &str = "id, owner_user_id, owner_group_id, created_by, name, start, \
     key_hash, scopes, rate_limit_max, rate_limit_window_secs, quota_limit, quota_remaining, \
     quota_refill_secs, quota_refilled_at, metadata, expires_at, revoked_at, last_used_at, \
     created_at, updated_at";

async fn fetch_key(
    conn: &mut Connection,
    id: ApiKeyId,
    lock: bool,
) -> Result<Option<ApiKey>, StoreError> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1{lock}"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    row.map(ApiKey::try_from).transpose()
}

fn scope_texts(key: &ApiKey) -> Json<Vec<String>> {
    Json(key.scopes.iter().map(ToString::to_string).collect())
}

async fn insert_key(conn: &mut Connection, key: &ApiKey) -> Result<(), StoreError> {
    let (owner_user, owner_group) = owner_columns(key.owner);
    let (quota_limit, quota_remaining, quota_refill, quota_refilled) =
        quota_columns(key.quota.as_ref());
    sqlx::query(&format!(
        "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    ))
    .bind(key.id.as_uuid())
    .bind(owner_user)
    .bind(owner_group)
    .bind(key.created_by.map(|u| u.as_uuid()))
    .bind(key.name.as_str())
    .bind(key.start.as_str())
    .bind(&key.key_hash.as_bytes()[..])
    .bind(scope_texts(key))
    .bind(key.rate_limit.map(|r| i64::from(r.max)))
    .bind(key.rate_limit.map(|r| r.window.whole_seconds()))
    .bind(quota_limit)
    .bind(quota_remaining)
    .bind(quota_refill)
    .bind(quota_refilled)
    .bind(Json(&key.metadata))
    .bind(key.expires_at.map(Ts))
    .bind(key.revoked_at.map(Ts))
    .bind(key.last_used_at.map(Ts))
    .bind(Ts(key.created_at))
    .bind(Ts(key.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Whether the key's owner exists (and stays, locked, for the transaction).
async fn lock_owner(conn: &mut Connection, owner: KeyOwner) -> Result<bool, StoreError> {
    let (table, id) = match owner {
        KeyOwner::User(id) => ("users", id.as_uuid()),
        KeyOwner::Group(id) => ("groups", id.as_uuid()),
    };
    let row: Option<(Uuid,)> =
        sqlx::query_as(&format!("SELECT id FROM {table} WHERE id = $1{FOR_UPDATE}"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
    Ok(row.is_some())
}

#[async_trait::async_trait]
impl ApiKeyStore for Backend {
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !lock_owner(&mut tx, key.owner).await? {
            return Err(StoreError::MissingReference(match key.owner {
                KeyOwner::User(_) => Entity::User,
                KeyOwner::Group(_) => Entity::Group,
            }));
        }
        insert_key(&mut tx, key).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn get_api_key(&self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        fetch_key(&mut conn, id, false).await
    }

    async fn find_api_key(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(&key_hash.as_bytes()[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn list_api_keys(
        &self,
        request: &PageRequest<ApiKeyFilter, ApiKeyOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let filter = &request.filter;
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE TRUE"));
        match filter.owner {
            Some(KeyOwner::User(id)) => {
                query.push(" AND owner_user_id = ").push_bind(id.as_uuid());
            }
            Some(KeyOwner::Group(id)) => {
                query.push(" AND owner_group_id = ").push_bind(id.as_uuid());
            }
            None => {}
        }
        // `ApiKey::is_revoked` in SQL: revoked once `revoked_at` is reached, or at once
        // when it is no later than the key's last change (not a rotation's grace).
        match filter.revoked {
            Some(true) => {
                query
                    .push(" AND revoked_at IS NOT NULL AND (revoked_at <= updated_at OR revoked_at <= ")
                    .push_bind(Ts(now))
                    .push(")");
            }
            Some(false) => {
                query
                    .push(" AND (revoked_at IS NULL OR (revoked_at > updated_at AND revoked_at > ")
                    .push_bind(Ts(now))
                    .push("))");
            }
            None => {}
        }
        if let Some(needle) = &filter.name_contains {
            query
                .push(" AND lower(name) LIKE ")
                .push_bind(contains_pattern(needle))
                .push(" ESCAPE '\\'");
        }
        if let Some(start) = &filter.start {
            query
                .push(" AND substr(start, 1, length(")
                .push_bind(start.clone())
                .push(")) = ")
                .push_bind(start.clone());
        }
        let column = match request.order {
            ApiKeyOrder::CreatedAt => "created_at",
            ApiKeyOrder::Name => "name",
        };
        push_page(&mut query, column, request);
        let rows: Vec<ApiKeyRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }

    async fn update_api_key(
        &self,
        id: ApiKeyId,
        patch: &ApiKeyPatch,
        now: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(mut key) = fetch_key(&mut tx, id, true).await? else {
            return Ok(None);
        };
        patch.apply(&mut key, now);
        sqlx::query(
            "UPDATE api_keys SET name = $2, scopes = $3, rate_limit_max = $4, \
             rate_limit_window_secs = $5, metadata = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(key.name.as_str())
        .bind(scope_texts(&key))
        .bind(key.rate_limit.map(|r| i64::from(r.max)))
        .bind(key.rate_limit.map(|r| r.window.whole_seconds()))
        .bind(Json(&key.metadata))
        .bind(Ts(key.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(Some(key))
    }

    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
            "UPDATE api_keys SET \
             updated_at = CASE WHEN revoked_at IS NULL OR revoked_at > $2 \
                 THEN (CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END) ELSE updated_at END, \
             revoked_at = CASE WHEN revoked_at IS NULL OR revoked_at > $2 THEN $2 \
                 ELSE revoked_at END \
             WHERE id = $1 RETURNING {API_KEY_COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(Ts(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn rotate_api_key(
        &self,
        old: ApiKeyId,
        successor: &Successor,
        revoke_old_at: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        let now = successor.created_at;
        let mut tx = self.begin().await?;
        let Some(mut current) = fetch_key(&mut tx, old, true).await? else {
            return Ok(RotateOutcome::NotFound);
        };
        if current.revoked_at.is_some() || current.is_expired(now) {
            return Ok(RotateOutcome::NotActive);
        }
        current.revoked_at = Some(revoke_old_at);
        current.updated_at = now;
        sqlx::query("UPDATE api_keys SET revoked_at = $2, updated_at = $3 WHERE id = $1")
            .bind(old.as_uuid())
            .bind(current.revoked_at.map(Ts))
            .bind(Ts(now))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let new = successor.of(&current);
        insert_key(&mut tx, &new).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(RotateOutcome::Rotated { old: current, new })
    }

    async fn delete_api_key(&self, id: ApiKeyId) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM api_keys WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(id.as_uuid())
        .bind(Ts(at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn take_quota(
        &self,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<QuotaOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let Some(quota) = fetch_key(&mut tx, id, true).await?.and_then(|k| k.quota) else {
            return Ok(QuotaOutcome::Unlimited);
        };
        let (after, outcome) = quota.take(now);
        let (_, remaining, _, refilled_at) = quota_columns(Some(&after));
        sqlx::query(
            "UPDATE api_keys SET quota_remaining = $2, quota_refilled_at = $3 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(remaining)
        .bind(refilled_at)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl RateLimitStore for Backend {
    async fn take_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = micros(now);
        // One statement: the upsert's row lock orders concurrent callers, and its WHERE
        // refuses (returning no row, changing nothing) when the next TAT would pass the
        // window: `RateLimit::next_tat` in SQL.
        let admitted: Option<(i64,)> = sqlx::query_as(&format!(
            "INSERT INTO rate_limits (bucket, tat) VALUES ($1, $2 + $3) \
             ON CONFLICT (bucket) DO UPDATE SET tat = {GREATEST}(rate_limits.tat, $2) + $3 \
             WHERE {GREATEST}(rate_limits.tat, $2) + $3 - $2 <= $4 \
             RETURNING tat"
        ))
        .bind(bucket)
        .bind(now)
        .bind(limit.interval_micros())
        .bind(limit.window_micros())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        if let Some((tat,)) = admitted {
            return Ok(limit.decision(true, tat, now));
        }
        let stored = self.rate_limit_tat(bucket).await?;
        Ok(limit.decision(false, stored.unwrap_or(now), now))
    }

    async fn peek_rate_limit(
        &self,
        bucket: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        Ok(limit.peek(self.rate_limit_tat(bucket).await?, micros(now)))
    }

    async fn reset_rate_limit(&self, bucket: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limits WHERE bucket = $1")
            .bind(bucket)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn purge_rate_limits(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM rate_limits WHERE tat <= $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected())
    }
}

impl Backend {
    /// The stored TAT of `bucket`, if it has one.
    async fn rate_limit_tat(&self, bucket: &str) -> Result<Option<i64>, StoreError> {
        let stored: Option<(i64,)> =
            sqlx::query_as("SELECT tat FROM rate_limits WHERE bucket = $1")
                .bind(bucket)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(stored.map(|(tat,)| tat))
    }
}
