// SsoStore for both backends (a module of `query.rs`, compiled once per backend). One
// verified claim per domain is the partial unique index `sso_domains_verified_key`: of two
// groups verifying one domain at once, on any node, the second write fails on it and
// answers `Taken`.

use super::*;

use auth_core::sso::{
    OrgDomain, SsoConnection, SsoConnectionFilter, SsoConnectionOrder, SsoStore,
    VerifyDomainOutcome,
};
use auth_core::{Conflict, Entity, GroupId, OrgDomainId, SsoConnectionId};

use super::groups::lock_group;
use crate::rows::{OrgDomainRow, SsoConnectionRow};

const CONNECTION_COLUMNS: &str = "id, group_id, name, status, protocol, config, default_role, \
     role_mapping, extend, format_version, created_at, updated_at";

const DOMAIN_COLUMNS: &str =
    "id, group_id, domain, verification_token, verified_at, require_sso, created_at";

fn config_json(connection: &SsoConnection) -> Result<Json<serde_json::Value>, StoreError> {
    serde_json::to_value(&connection.config)
        .map(Json)
        .map_err(|_| StoreError::corrupt("an SSO configuration could not be written"))
}

/// Binds `$1` to `$10` of the insert and of the update of a connection: its id, group and
/// every field but the timestamps, in [`CONNECTION_COLUMNS`]' order.
fn bind_connection<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    connection: &'q SsoConnection,
) -> Result<sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>, StoreError> {
    Ok(query
        .bind(connection.id.as_uuid())
        .bind(connection.group_id.as_uuid())
        .bind(&connection.name)
        .bind(connection.status.as_str())
        .bind(connection.config.protocol().as_str())
        .bind(config_json(connection)?)
        .bind(connection.default_role.as_deref())
        .bind(Json(&connection.role_mapping))
        .bind(Json(&connection.extend))
        .bind(i64::from(connection.format_version)))
}

fn convert_connections(rows: Vec<SsoConnectionRow>) -> Result<Vec<SsoConnection>, StoreError> {
    rows.into_iter().map(SsoConnection::try_from).collect()
}

async fn fetch_domain(
    conn: &mut Connection,
    id: OrgDomainId,
    lock: bool,
) -> Result<Option<OrgDomain>, StoreError> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: Option<OrgDomainRow> = sqlx::query_as(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM sso_domains WHERE id = $1{lock}"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(row.map(OrgDomain::from))
}

#[async_trait::async_trait]
impl SsoStore for Backend {
    async fn create_sso_connection(&self, connection: &SsoConnection) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !lock_group(&mut tx, connection.group_id).await? {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        let insert = format!(
            "INSERT INTO sso_connections ({CONNECTION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        let result = bind_connection(sqlx::query(&insert), connection)?
            .bind(Ts(connection.created_at))
            .bind(Ts(connection.updated_at))
            .execute(&mut *tx)
            .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(StoreError::Conflict(Conflict::Id));
            }
            Err(other) => return Err(store_error(other)),
        }
        tx.commit().await.map_err(store_error)
    }

    async fn get_sso_connection(
        &self,
        id: SsoConnectionId,
    ) -> Result<Option<SsoConnection>, StoreError> {
        let row: Option<SsoConnectionRow> = sqlx::query_as(&format!(
            "SELECT {CONNECTION_COLUMNS} FROM sso_connections WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(SsoConnection::try_from).transpose()
    }

    async fn list_sso_connections(
        &self,
        request: &PageRequest<SsoConnectionFilter, SsoConnectionOrder>,
    ) -> Result<Vec<SsoConnection>, StoreError> {
        let filter = &request.filter;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {CONNECTION_COLUMNS} FROM sso_connections WHERE group_id = "
        ));
        query.push_bind(filter.group_id.as_uuid());
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        let column = match request.order {
            SsoConnectionOrder::CreatedAt => "created_at",
            SsoConnectionOrder::Name => "name",
        };
        push_page(&mut query, column, request);
        let rows: Vec<SsoConnectionRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert_connections(rows)
    }

    async fn update_sso_connection(&self, connection: &SsoConnection) -> Result<bool, StoreError> {
        let result = bind_connection(
            sqlx::query(
                "UPDATE sso_connections SET name = $3, status = $4, protocol = $5, config = $6, \
                 default_role = $7, role_mapping = $8, extend = $9, format_version = $10, \
                 updated_at = $11 WHERE id = $1 AND group_id = $2",
            ),
            connection,
        )?
        .bind(Ts(connection.updated_at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn delete_sso_connection(&self, id: SsoConnectionId) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM sso_connections WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn active_sso_connection_for_domain(
        &self,
        domain: &str,
    ) -> Result<Option<SsoConnection>, StoreError> {
        let columns = CONNECTION_COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row: Option<SsoConnectionRow> = sqlx::query_as(&format!(
            "SELECT {columns} FROM sso_domains d \
             JOIN sso_connections c ON c.group_id = d.group_id \
             WHERE d.domain = $1 AND d.verified_at IS NOT NULL AND c.status = 'active' \
             ORDER BY c.created_at, c.id LIMIT 1"
        ))
        .bind(domain)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(SsoConnection::try_from).transpose()
    }

    async fn add_domain(&self, domain: &OrgDomain) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !lock_group(&mut tx, domain.group_id).await? {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        // The unique indexes back this up against a concurrent claim.
        let taken: Option<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM sso_domains WHERE domain = $1 \
             AND (group_id = $2 OR verified_at IS NOT NULL OR $3) LIMIT 1",
        )
        .bind(&domain.domain)
        .bind(domain.group_id.as_uuid())
        .bind(domain.verified_at.is_some())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        if taken.is_some() {
            return Err(StoreError::Conflict(Conflict::Domain));
        }
        sqlx::query(&format!(
            "INSERT INTO sso_domains ({DOMAIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(domain.id.as_uuid())
        .bind(domain.group_id.as_uuid())
        .bind(&domain.domain)
        .bind(&domain.verification_token)
        .bind(domain.verified_at.map(Ts))
        .bind(domain.require_sso)
        .bind(Ts(domain.created_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn get_domain(&self, id: OrgDomainId) -> Result<Option<OrgDomain>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        fetch_domain(&mut conn, id, false).await
    }

    async fn list_domains(&self, group_id: GroupId) -> Result<Vec<OrgDomain>, StoreError> {
        let rows: Vec<OrgDomainRow> = sqlx::query_as(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM sso_domains WHERE group_id = $1 ORDER BY domain, id"
        ))
        .bind(group_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().map(OrgDomain::from).collect())
    }

    async fn find_domain(&self, domain: &str) -> Result<Vec<OrgDomain>, StoreError> {
        let rows: Vec<OrgDomainRow> = sqlx::query_as(&format!(
            "SELECT {DOMAIN_COLUMNS} FROM sso_domains WHERE domain = $1 \
             ORDER BY (verified_at IS NULL), created_at, id"
        ))
        .bind(domain)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().map(OrgDomain::from).collect())
    }

    async fn delete_domain(&self, id: OrgDomainId) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM sso_domains WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn mark_domain_verified(
        &self,
        id: OrgDomainId,
        at: OffsetDateTime,
    ) -> Result<VerifyDomainOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let Some(domain) = fetch_domain(&mut tx, id, true).await? else {
            return Ok(VerifyDomainOutcome::NotFound);
        };
        if domain.is_verified() {
            return Ok(VerifyDomainOutcome::Verified(domain));
        }
        let other: Option<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM sso_domains WHERE domain = $1 AND id <> $2 \
             AND verified_at IS NOT NULL LIMIT 1",
        )
        .bind(&domain.domain)
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        if other.is_some() {
            return Ok(VerifyDomainOutcome::Taken);
        }
        // A concurrent verification of another claim that committed meanwhile makes this
        // write fail on the partial unique index: the other one won.
        let updated = sqlx::query("UPDATE sso_domains SET verified_at = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(Ts(at))
            .execute(&mut *tx)
            .await
            .map_err(store_error);
        match updated {
            Ok(_) => {}
            Err(StoreError::Conflict(Conflict::Domain)) => return Ok(VerifyDomainOutcome::Taken),
            Err(other) => return Err(other),
        }
        match tx.commit().await.map_err(store_error) {
            Ok(()) => {}
            Err(StoreError::Conflict(Conflict::Domain)) => return Ok(VerifyDomainOutcome::Taken),
            Err(other) => return Err(other),
        }
        Ok(VerifyDomainOutcome::Verified(OrgDomain {
            verified_at: Some(at),
            ..domain
        }))
    }

    async fn set_domain_require_sso(
        &self,
        id: OrgDomainId,
        require_sso: bool,
    ) -> Result<Option<OrgDomain>, StoreError> {
        let mut tx = self.begin().await?;
        let result = sqlx::query("UPDATE sso_domains SET require_sso = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(require_sso)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if result.rows_affected() != 1 {
            return Ok(None);
        }
        let domain = fetch_domain(&mut tx, id, false).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(domain)
    }

    async fn revoke_sessions_outside_sso(
        &self,
        domain: &str,
        group_id: GroupId,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError> {
        // A normalised domain is [a-z0-9.-] only: nothing in it is a LIKE wildcard. The
        // address's domain follows its last `@`, and a domain holds no `@`, so the suffix
        // `@<domain>` is exactly "on the domain".
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE revoked_at IS NULL \
             AND user_id IN (SELECT id FROM users WHERE email LIKE '%@' || $2) \
             AND (sso_connection_id IS NULL OR sso_connection_id NOT IN \
                  (SELECT id FROM sso_connections WHERE group_id = $3)) \
             RETURNING token_hash",
        )
        .bind(Ts(now))
        .bind(domain)
        .bind(group_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        token_hashes(rows)
    }
}
