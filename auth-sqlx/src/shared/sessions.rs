// SessionStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::sessions::{
    RefreshToken, RotationOutcome, RotationPlan, SessionFilter, SessionOrder, SessionState,
};
use auth_core::{Session, SessionId, SessionStore, User, UserId};

use crate::rows::{RefreshRow, SessionRow, SessionUserRow};

const SESSION_COLUMNS: &str = "id, user_id, token_hash, aal, ip, user_agent, created_at, \
     last_seen_at, idle_expires_at, expires_at, revoked_at, sso_connection_id";

async fn insert_refresh(conn: &mut Connection, refresh: &RefreshToken) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&refresh.token_hash.as_bytes()[..])
    .bind(refresh.session_id.as_uuid())
    .bind(Ts(refresh.created_at))
    .bind(Ts(refresh.expires_at))
    .bind(refresh.used_at.map(Ts))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Revokes a user's unrevoked sessions (except one) and returns their token hashes.
pub(super) async fn revoke_sessions(
    conn: &mut Connection,
    user_id: UserId,
    except: Option<SessionId>,
    now: OffsetDateTime,
) -> Result<Vec<TokenHash>, StoreError> {
    let mut query = QueryBuilder::<Db>::new("UPDATE sessions SET revoked_at = ");
    query
        .push_bind(Ts(now))
        .push(" WHERE user_id = ")
        .push_bind(user_id.as_uuid())
        .push(" AND revoked_at IS NULL");
    if let Some(keep) = except {
        query.push(" AND id <> ").push_bind(keep.as_uuid());
    }
    query.push(" RETURNING token_hash");
    let rows: Vec<(Vec<u8>,)> = query
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)?;
    token_hashes(rows)
}

#[async_trait::async_trait]
impl SessionStore for Backend {
    async fn create_session(
        &self,
        session: &Session,
        refresh: &RefreshToken,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(session.id.as_uuid())
        .bind(session.user_id.as_uuid())
        .bind(&session.token_hash.as_bytes()[..])
        .bind(session.aal.as_str())
        .bind(session.ip.as_deref())
        .bind(session.user_agent.as_deref())
        .bind(Ts(session.created_at))
        .bind(Ts(session.last_seen_at))
        .bind(Ts(session.idle_expires_at))
        .bind(Ts(session.expires_at))
        .bind(session.revoked_at.map(Ts))
        .bind(session.sso_connection_id.map(|id| id.as_uuid()))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        insert_refresh(&mut tx, refresh).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let row: Option<SessionUserRow> = sqlx::query_as(crate::SESSION_LOOKUP_SQL)
            .bind(&token_hash.as_bytes()[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(<(Session, User)>::try_from).transpose()
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Session::try_from).transpose()
    }

    async fn list_sessions(
        &self,
        request: &PageRequest<SessionFilter, SessionOrder>,
    ) -> Result<Vec<Session>, StoreError> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = "
        ));
        query.push_bind(request.filter.user_id.as_uuid());
        if let Some(t) = request.filter.active_at {
            query
                .push(" AND revoked_at IS NULL AND expires_at > ")
                .push_bind(Ts(t))
                .push(" AND idle_expires_at > ")
                .push_bind(Ts(t));
        }
        push_page(&mut query, "created_at", request);
        let rows: Vec<SessionRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // Never moves either time backwards (another node may have touched it later).
        let result = sqlx::query(
            "UPDATE sessions SET \
             last_seen_at = CASE WHEN last_seen_at < $2 THEN $2 ELSE last_seen_at END, \
             idle_expires_at = CASE WHEN idle_expires_at < $3 THEN $3 ELSE idle_expires_at END \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(Ts(last_seen_at))
        .bind(Ts(idle_expires_at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn revoke_session(
        &self,
        id: SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<TokenHash>, StoreError> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL \
             RETURNING token_hash",
        )
        .bind(id.as_uuid())
        .bind(Ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(token_hashes(row.into_iter().collect())?.pop())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        revoke_sessions(&mut conn, user_id, except, now).await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        plan: &RotationPlan,
    ) -> Result<RotationOutcome, StoreError> {
        let mut tx = self.begin().await?;
        // Lock the refresh token first: concurrent rotations of one token queue here, and
        // each later one sees `used_at` set by the first.
        let refresh: Option<RefreshRow> = sqlx::query_as(&format!(
            "SELECT token_hash, session_id, created_at, expires_at, used_at \
             FROM refresh_tokens WHERE token_hash = $1{FOR_UPDATE}"
        ))
        .bind(&presented.as_bytes()[..])
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(refresh) = refresh.map(RefreshToken::try_from).transpose()? else {
            return Ok(RotationOutcome::Unknown);
        };
        let session: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1{FOR_UPDATE}"
        ))
        .bind(refresh.session_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(mut session) = session.map(Session::try_from).transpose()? else {
            return Ok(RotationOutcome::Unknown);
        };
        if refresh.used_at.is_some() {
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(session.id.as_uuid())
                .bind(Ts(plan.now))
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            tx.commit().await.map_err(store_error)?;
            return Ok(RotationOutcome::Reused {
                session_id: session.id,
                token_hash: session.token_hash,
            });
        }
        match session.state(plan.now) {
            SessionState::Active if plan.now < refresh.expires_at => {}
            SessionState::Active => return Ok(RotationOutcome::Ended(SessionState::Expired)),
            ended => return Ok(RotationOutcome::Ended(ended)),
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1")
            .bind(&presented.as_bytes()[..])
            .bind(Ts(plan.now))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        sqlx::query(
            "UPDATE sessions SET token_hash = $2, last_seen_at = $3, idle_expires_at = $4 \
             WHERE id = $1",
        )
        .bind(session.id.as_uuid())
        .bind(&plan.new_token_hash.as_bytes()[..])
        .bind(Ts(plan.now))
        .bind(Ts(plan.idle_expires_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        insert_refresh(
            &mut tx,
            &RefreshToken {
                token_hash: plan.new_refresh_hash,
                session_id: session.id,
                created_at: plan.now,
                expires_at: session.expires_at,
                used_at: None,
            },
        )
        .await?;
        tx.commit().await.map_err(store_error)?;
        let previous_token_hash = session.token_hash;
        session.token_hash = plan.new_token_hash;
        session.last_seen_at = plan.now;
        session.idle_expires_at = plan.idle_expires_at;
        Ok(RotationOutcome::Rotated {
            session,
            previous_token_hash,
        })
    }

    async fn purge_sessions(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM sessions WHERE revoked_at < $1 OR expires_at < $1 \
             OR idle_expires_at < $1",
        )
        .bind(Ts(before))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected())
    }
}
