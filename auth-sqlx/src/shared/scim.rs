// ScimStore for both backends (a module of `query.rs`, compiled once per backend). A list's
// filter becomes a WHERE clause over the (connection, field) indexes of 0010_scim.sql:
// negations are pushed down to the comparisons so that a positive comparison stays a plain
// `column op value` the planner answers from an index, and a negated one also holds on
// NULL (as `FieldFilter::matches` says). Case-insensitive fields are compared on their
// lowercased `*_key` columns; text orders bytewise (COLLATE "C" on PostgreSQL, BINARY on
// SQLite), as the in-memory store does.

use super::*;

use auth_core::groups::Group;
use auth_core::members::Member;
use auth_core::scim::query::{
    Field, FieldFilter, FieldKind, FieldValue, GroupField, ListQuery, UserField,
};
use auth_core::scim::{
    CompareOp, ScimConfig, ScimGroup, ScimMember, ScimPage, ScimSettings, ScimStore, ScimUser,
};
use auth_core::{Conflict, Entity, ScimGroupId, ScimUserId, SsoConnectionId, User, UserId};

use super::groups::{insert_group, lock_group};
use super::members::insert_member;
use super::users::{insert_user, lock_user};
use crate::rows::{ScimConfigRow, ScimGroupRow, ScimUserRow};

const CONFIG_COLUMNS: &str = "connection_id, group_id, enabled, deprovision, token_hash, token_created_at, created_at, updated_at";

const USER_COLUMNS: &str = "r.id, r.connection_id, r.user_id, r.user_name, r.external_id, \
     r.display_name, r.email, r.active, r.attributes, r.version, r.created_at, r.updated_at";

const GROUP_COLUMNS: &str = "r.id, r.connection_id, r.group_id, r.display_name, r.external_id, \
     r.attributes, r.version, r.created_at, r.updated_at";

/// A field as a column of the table aliased `r` (or a condition of its own).
trait SqlField: Field {
    /// The column compared and sorted.
    fn column(self) -> &'static str;

    /// Pushes the condition on a field that is no column (a group's members); `false`
    /// when the field is a column.
    fn push_special(
        self,
        _query: &mut QueryBuilder<'_, Db>,
        _value: Option<&FieldValue>,
        _negated: bool,
    ) -> bool {
        false
    }
}

impl SqlField for UserField {
    fn column(self) -> &'static str {
        match self {
            UserField::Id => "r.id",
            UserField::UserName => "r.user_name_key",
            UserField::ExternalId => "r.external_id",
            UserField::DisplayName => "r.display_name_key",
            UserField::Email => "r.email",
            UserField::Active => "r.active",
            UserField::Created => "r.created_at",
            UserField::LastModified => "r.updated_at",
        }
    }
}

impl SqlField for GroupField {
    fn column(self) -> &'static str {
        match self {
            GroupField::Id => "r.id",
            GroupField::DisplayName => "r.display_name_key",
            GroupField::ExternalId => "r.external_id",
            GroupField::Member => "r.id",
            GroupField::Created => "r.created_at",
            GroupField::LastModified => "r.updated_at",
        }
    }

    fn push_special(
        self,
        query: &mut QueryBuilder<'_, Db>,
        value: Option<&FieldValue>,
        negated: bool,
    ) -> bool {
        if self != GroupField::Member {
            return false;
        }
        query.push(if negated { "NOT EXISTS (" } else { "EXISTS (" });
        query.push(
            "SELECT 1 FROM members m JOIN scim_users su ON su.user_id = m.user_id \
             AND su.connection_id = r.connection_id WHERE m.group_id = r.group_id",
        );
        if let Some(FieldValue::Id(Some(id))) = value {
            query.push(" AND su.id = ").push_bind(*id);
        }
        query.push(")");
        true
    }
}

/// Pushes `filter` (negated when `negated`) as a condition.
fn push_filter<F: SqlField>(
    query: &mut QueryBuilder<'_, Db>,
    filter: &FieldFilter<F>,
    negated: bool,
) {
    match filter {
        FieldFilter::And(a, b) | FieldFilter::Or(a, b) => {
            let and = matches!(filter, FieldFilter::And(..)) != negated;
            query.push("(");
            push_filter(query, a, negated);
            query.push(if and { " AND " } else { " OR " });
            push_filter(query, b, negated);
            query.push(")");
        }
        FieldFilter::Not(inner) => push_filter(query, inner, !negated),
        FieldFilter::Present(field) => {
            if field.push_special(query, None, negated) {
                return;
            }
            let column = field.column();
            let text = matches!(field.kind(), FieldKind::ExactText | FieldKind::FoldedText);
            query.push(match (negated, text) {
                (false, true) => format!("({column} IS NOT NULL AND {column} <> '')"),
                (true, true) => format!("({column} IS NULL OR {column} = '')"),
                (false, false) => format!("{column} IS NOT NULL"),
                (true, false) => format!("{column} IS NULL"),
            });
        }
        FieldFilter::Compare { field, op, value } => {
            // `ne` is the negation of `eq`.
            let (op, negated) = match op {
                CompareOp::Ne => (CompareOp::Eq, !negated),
                op => (*op, negated),
            };
            if let FieldValue::Id(None) = value {
                // An id this server never issued equals nothing (a member's too).
                query.push(if negated { "1 = 1" } else { "1 = 0" });
                return;
            }
            if field.push_special(query, Some(value), negated) {
                return;
            }
            let column = field.column();
            if negated {
                query.push(format!("({column} IS NULL OR NOT ("));
            }
            push_comparison(query, *field, column, op, value);
            if negated {
                query.push("))");
            }
        }
    }
}

/// `column op value`, for a positive comparison.
fn push_comparison<F: Field>(
    query: &mut QueryBuilder<'_, Db>,
    field: F,
    column: &str,
    op: CompareOp,
    value: &FieldValue,
) {
    let symbol = match op {
        CompareOp::Eq | CompareOp::Ne => "=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let FieldValue::Text(text) = value else {
                query.push("1 = 0");
                return;
            };
            push_substring(query, field.kind(), column, op, text);
            return;
        }
    };
    query.push(format!("{column} {symbol} "));
    push_value(query, value);
}

/// `co`, `sw`, `ew` on text: LIKE on lowercased columns (an index serves a prefix), exact
/// positions on case-sensitive ones (SQLite's LIKE ignores ASCII case).
fn push_substring(
    query: &mut QueryBuilder<'_, Db>,
    kind: FieldKind,
    column: &str,
    op: CompareOp,
    text: &str,
) {
    if kind == FieldKind::FoldedText {
        let escaped = escape_like(text);
        let pattern = match op {
            CompareOp::Sw => format!("{escaped}%"),
            CompareOp::Ew => format!("%{escaped}"),
            _ => format!("%{escaped}%"),
        };
        query.push(format!("{column} LIKE "));
        query.push_bind(pattern);
        query.push(" ESCAPE '\\'");
        return;
    }
    match op {
        CompareOp::Sw => {
            query.push(format!("substr({column}, 1, length("));
            query.push_bind(text.to_owned());
            query.push(")) = ");
            query.push_bind(text.to_owned());
        }
        CompareOp::Ew => {
            query.push(format!("(length({column}) >= length("));
            query.push_bind(text.to_owned());
            query.push(format!(") AND substr({column}, length({column}) - length("));
            query.push_bind(text.to_owned());
            query.push(") + 1) = ");
            query.push_bind(text.to_owned());
            query.push(")");
        }
        _ => {
            query.push(format!("{POSITION}({column}, "));
            query.push_bind(text.to_owned());
            query.push(") > 0");
        }
    }
}

/// `text` with LIKE's wildcards and the escape character escaped.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn push_value(query: &mut QueryBuilder<'_, Db>, value: &FieldValue) {
    match value {
        FieldValue::Id(id) => query.push_bind(id.unwrap_or_default()),
        FieldValue::Text(text) => query.push_bind(text.clone()),
        FieldValue::Bool(b) => query.push_bind(*b),
        FieldValue::Time(t) => query.push_bind(Ts(*t)),
    };
}

/// `WHERE r.connection_id = ... [AND filter]`.
fn push_where<F: SqlField>(
    query: &mut QueryBuilder<'_, Db>,
    connection: SsoConnectionId,
    list: &ListQuery<F>,
) {
    query
        .push(" WHERE r.connection_id = ")
        .push_bind(connection.as_uuid());
    if let Some(filter) = &list.filter {
        query.push(" AND ");
        push_filter(query, filter, false);
    }
}

/// `ORDER BY ... LIMIT ... OFFSET ...`: the sort field (absent values first ascending,
/// last descending), then creation and id.
fn push_order<F: SqlField>(query: &mut QueryBuilder<'_, Db>, list: &ListQuery<F>) {
    query.push(" ORDER BY ");
    if let Some(field) = list.sort.by {
        let column = field.column();
        query.push(if list.sort.descending {
            format!("{column} DESC NULLS LAST, ")
        } else {
            format!("{column} ASC NULLS FIRST, ")
        });
    }
    query.push("r.created_at, r.id LIMIT ");
    query.push_bind(i64::try_from(list.count).unwrap_or(i64::MAX));
    query.push(" OFFSET ");
    query.push_bind(i64::try_from(list.offset).unwrap_or(i64::MAX));
}

/// A page of `table`'s rows of the connection, and the count of every match.
async fn list_page<F: SqlField, R>(
    store: &Backend,
    table: &str,
    columns: &str,
    connection: SsoConnectionId,
    list: &ListQuery<F>,
) -> Result<(Vec<R>, u64), StoreError>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    let mut count = QueryBuilder::<Db>::new(format!("SELECT count(*) FROM {table} r"));
    push_where(&mut count, connection, list);
    let (total,): (i64,) = count
        .build_query_as()
        .fetch_one(&store.pool)
        .await
        .map_err(store_error)?;
    if list.count == 0 {
        return Ok((Vec::new(), u64::try_from(total).unwrap_or(0)));
    }
    let mut select = QueryBuilder::<Db>::new(format!("SELECT {columns} FROM {table} r"));
    push_where(&mut select, connection, list);
    push_order(&mut select, list);
    let rows: Vec<R> = select
        .build_query_as()
        .fetch_all(&store.pool)
        .await
        .map_err(store_error)?;
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}

async fn connection_exists(
    conn: &mut Connection,
    connection: SsoConnectionId,
) -> Result<bool, StoreError> {
    let found: Option<(Uuid,)> = sqlx::query_as(&format!(
        "SELECT id FROM sso_connections WHERE id = $1{FOR_UPDATE}"
    ))
    .bind(connection.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(found.is_some())
}

impl Backend {
    /// The database's plan for the page of SCIM users `query` selects (each line of
    /// `EXPLAIN QUERY PLAN` on SQLite, of `EXPLAIN ANALYZE` on PostgreSQL, which runs it):
    /// how to see that a filter is answered from an index. A diagnostic; nothing is
    /// changed.
    pub async fn explain_scim_users(
        &self,
        connection: SsoConnectionId,
        query: &ListQuery<UserField>,
    ) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        let (explain, column) = EXPLAIN;
        let mut select =
            QueryBuilder::<Db>::new(format!("{explain} SELECT {USER_COLUMNS} FROM scim_users r"));
        push_where(&mut select, connection, query);
        push_order(&mut select, query);
        let rows = select
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(|row| row.try_get::<String, _>(column).map_err(store_error))
            .collect()
    }
}

fn version(v: u32) -> i64 {
    i64::from(v)
}

#[async_trait::async_trait]
impl ScimStore for Backend {
    async fn create_scim_config(&self, config: &ScimConfig) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !connection_exists(&mut tx, config.connection_id).await? {
            return Err(StoreError::MissingReference(Entity::SsoConnection));
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO scim_configs ({CONFIG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (connection_id) DO NOTHING"
        ))
        .bind(config.connection_id.as_uuid())
        .bind(config.group_id.as_uuid())
        .bind(config.enabled)
        .bind(config.deprovision.as_str())
        .bind(config.token_hash.as_bytes().to_vec())
        .bind(Ts(config.token_created_at))
        .bind(Ts(config.created_at))
        .bind(Ts(config.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected()
            == 1;
        tx.commit().await.map_err(store_error)?;
        Ok(inserted)
    }

    async fn update_scim_settings(
        &self,
        connection: SsoConnectionId,
        settings: ScimSettings,
        at: OffsetDateTime,
    ) -> Result<Option<ScimConfig>, StoreError> {
        let row: Option<ScimConfigRow> = sqlx::query_as(&format!(
            "UPDATE scim_configs SET enabled = $2, deprovision = $3, updated_at = $4 \
             WHERE connection_id = $1 RETURNING {CONFIG_COLUMNS}"
        ))
        .bind(connection.as_uuid())
        .bind(settings.enabled)
        .bind(settings.deprovision.as_str())
        .bind(Ts(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ScimConfig::try_from).transpose()
    }

    async fn replace_scim_token(
        &self,
        connection: SsoConnectionId,
        hash: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE scim_configs SET token_hash = $2, token_created_at = $3, updated_at = $3 \
             WHERE connection_id = $1",
        )
        .bind(connection.as_uuid())
        .bind(hash.as_bytes().to_vec())
        .bind(Ts(at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_scim_config(
        &self,
        connection: SsoConnectionId,
    ) -> Result<Option<ScimConfig>, StoreError> {
        let row: Option<ScimConfigRow> = sqlx::query_as(&format!(
            "SELECT {CONFIG_COLUMNS} FROM scim_configs WHERE connection_id = $1"
        ))
        .bind(connection.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ScimConfig::try_from).transpose()
    }

    async fn scim_config_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<ScimConfig>, StoreError> {
        let row: Option<ScimConfigRow> = sqlx::query_as(&format!(
            "SELECT {CONFIG_COLUMNS} FROM scim_configs WHERE token_hash = $1"
        ))
        .bind(hash.as_bytes().to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ScimConfig::try_from).transpose()
    }

    async fn create_scim_user(
        &self,
        user: &ScimUser,
        new_user: Option<&User>,
        member: Option<&Member>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !connection_exists(&mut tx, user.connection_id).await? {
            return Err(StoreError::MissingReference(Entity::SsoConnection));
        }
        match new_user {
            Some(new_user) => insert_user(&mut tx, new_user).await?,
            None => {
                if !lock_user(&mut tx, user.user_id).await? {
                    return Err(StoreError::MissingReference(Entity::User));
                }
            }
        }
        if let Some(member) = member {
            if !lock_group(&mut tx, member.group_id).await? {
                return Err(StoreError::MissingReference(Entity::Group));
            }
            if !insert_member(&mut tx, member).await? {
                return Err(StoreError::Conflict(Conflict::Membership));
            }
        }
        sqlx::query(
            "INSERT INTO scim_users (id, connection_id, user_id, user_name, user_name_key, \
             external_id, display_name, display_name_key, email, active, attributes, version, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(user.id.as_uuid())
        .bind(user.connection_id.as_uuid())
        .bind(user.user_id.as_uuid())
        .bind(user.user_name.as_str())
        .bind(user.user_name.to_lowercase())
        .bind(user.external_id.as_deref())
        .bind(user.display_name.as_deref())
        .bind(user.display_name.as_deref().map(str::to_lowercase))
        .bind(user.email.as_str())
        .bind(user.active)
        .bind(Json(&user.attributes))
        .bind(version(user.version))
        .bind(Ts(user.created_at))
        .bind(Ts(user.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn get_scim_user(
        &self,
        connection: SsoConnectionId,
        id: ScimUserId,
    ) -> Result<Option<ScimUser>, StoreError> {
        let row: Option<ScimUserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM scim_users r WHERE r.id = $1 AND r.connection_id = $2"
        ))
        .bind(id.as_uuid())
        .bind(connection.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ScimUser::try_from).transpose()
    }

    async fn scim_user_for(
        &self,
        connection: SsoConnectionId,
        user_id: UserId,
    ) -> Result<Option<ScimUser>, StoreError> {
        let row: Option<ScimUserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM scim_users r WHERE r.connection_id = $1 AND r.user_id = $2"
        ))
        .bind(connection.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ScimUser::try_from).transpose()
    }

    async fn update_scim_user(
        &self,
        user: &ScimUser,
        expected_version: u32,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE scim_users SET user_name = $1, user_name_key = $2, external_id = $3, \
             display_name = $4, display_name_key = $5, email = $6, active = $7, attributes = $8, \
             version = $9, updated_at = $10 \
             WHERE id = $11 AND connection_id = $12 AND version = $13",
        )
        .bind(user.user_name.as_str())
        .bind(user.user_name.to_lowercase())
        .bind(user.external_id.as_deref())
        .bind(user.display_name.as_deref())
        .bind(user.display_name.as_deref().map(str::to_lowercase))
        .bind(user.email.as_str())
        .bind(user.active)
        .bind(Json(&user.attributes))
        .bind(version(user.version))
        .bind(Ts(user.updated_at))
        .bind(user.id.as_uuid())
        .bind(user.connection_id.as_uuid())
        .bind(version(expected_version))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_scim_user(
        &self,
        connection: SsoConnectionId,
        id: ScimUserId,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM scim_users WHERE id = $1 AND connection_id = $2")
            .bind(id.as_uuid())
            .bind(connection.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn list_scim_users(
        &self,
        connection: SsoConnectionId,
        query: &ListQuery<UserField>,
    ) -> Result<ScimPage<ScimUser>, StoreError> {
        let (rows, total) =
            list_page::<_, ScimUserRow>(self, "scim_users", USER_COLUMNS, connection, query)
                .await?;
        Ok(ScimPage {
            items: rows
                .into_iter()
                .map(ScimUser::try_from)
                .collect::<Result<_, _>>()?,
            total,
        })
    }

    async fn create_scim_group(
        &self,
        group: &ScimGroup,
        library: &Group,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !connection_exists(&mut tx, group.connection_id).await? {
            return Err(StoreError::MissingReference(Entity::SsoConnection));
        }
        if let Some(parent) = library.parent_id
            && !lock_group(&mut tx, parent).await?
        {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        insert_group(&mut tx, library).await?;
        sqlx::query(
            "INSERT INTO scim_groups (id, connection_id, group_id, display_name, \
             display_name_key, external_id, attributes, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(group.id.as_uuid())
        .bind(group.connection_id.as_uuid())
        .bind(group.group_id.as_uuid())
        .bind(group.display_name.as_str())
        .bind(group.display_name.to_lowercase())
        .bind(group.external_id.as_deref())
        .bind(Json(&group.attributes))
        .bind(version(group.version))
        .bind(Ts(group.created_at))
        .bind(Ts(group.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn get_scim_group(
        &self,
        connection: SsoConnectionId,
        id: ScimGroupId,
    ) -> Result<Option<ScimGroup>, StoreError> {
        let row: Option<ScimGroupRow> = sqlx::query_as(&format!(
            "SELECT {GROUP_COLUMNS} FROM scim_groups r WHERE r.id = $1 AND r.connection_id = $2"
        ))
        .bind(id.as_uuid())
        .bind(connection.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(ScimGroup::try_from).transpose()
    }

    async fn update_scim_group(
        &self,
        group: &ScimGroup,
        expected_version: u32,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let result = sqlx::query(
            "UPDATE scim_groups SET display_name = $1, display_name_key = $2, external_id = $3, \
             attributes = $4, version = $5, updated_at = $6 \
             WHERE id = $7 AND connection_id = $8 AND version = $9",
        )
        .bind(group.display_name.as_str())
        .bind(group.display_name.to_lowercase())
        .bind(group.external_id.as_deref())
        .bind(Json(&group.attributes))
        .bind(version(group.version))
        .bind(Ts(group.updated_at))
        .bind(group.id.as_uuid())
        .bind(group.connection_id.as_uuid())
        .bind(version(expected_version))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE groups SET name = $1, updated_at = $2 \
             WHERE id = (SELECT group_id FROM scim_groups WHERE id = $3)",
        )
        .bind(group.display_name.as_str())
        .bind(Ts(group.updated_at))
        .bind(group.id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn delete_scim_group(
        &self,
        connection: SsoConnectionId,
        id: ScimGroupId,
    ) -> Result<bool, StoreError> {
        // The library group's memberships, tags and this record go by ON DELETE CASCADE.
        let result = sqlx::query(
            "DELETE FROM groups WHERE id = \
             (SELECT group_id FROM scim_groups WHERE id = $1 AND connection_id = $2)",
        )
        .bind(id.as_uuid())
        .bind(connection.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn list_scim_groups(
        &self,
        connection: SsoConnectionId,
        query: &ListQuery<GroupField>,
    ) -> Result<ScimPage<ScimGroup>, StoreError> {
        let (rows, total) =
            list_page::<_, ScimGroupRow>(self, "scim_groups", GROUP_COLUMNS, connection, query)
                .await?;
        Ok(ScimPage {
            items: rows
                .into_iter()
                .map(ScimGroup::try_from)
                .collect::<Result<_, _>>()?,
            total,
        })
    }

    async fn scim_group_members(&self, group: &ScimGroup) -> Result<Vec<ScimMember>, StoreError> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT su.id, COALESCE(su.display_name, su.user_name) FROM scim_users su \
             JOIN members m ON m.user_id = su.user_id \
             WHERE m.group_id = $1 AND su.connection_id = $2 ORDER BY su.id",
        )
        .bind(group.group_id.as_uuid())
        .bind(group.connection_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, display)| ScimMember {
                id: ScimUserId::from_uuid(id),
                display,
            })
            .collect())
    }

    async fn scim_groups_of(
        &self,
        user: &ScimUser,
    ) -> Result<Vec<(ScimGroupId, String)>, StoreError> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT g.id, g.display_name FROM scim_groups g \
             JOIN members m ON m.group_id = g.group_id \
             WHERE m.user_id = $1 AND g.connection_id = $2 ORDER BY g.display_name_key, g.id",
        )
        .bind(user.user_id.as_uuid())
        .bind(user.connection_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| (ScimGroupId::from_uuid(id), name))
            .collect())
    }
}
