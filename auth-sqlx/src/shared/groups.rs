// GroupStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use std::collections::BTreeMap;

use auth_core::groups::{ChainLink, GroupFilter, GroupOrder, GroupPatch, Tag, UpdateGroupOutcome};
use auth_core::{Entity, Group, GroupId, GroupStore, Member};

use super::members::insert_member;
use super::users::lock_user;
use crate::rows::{ChainRow, GroupRow};

/// How far a move's cycle check walks up from the new parent.
const MOVE_CHECK_DEPTH: i64 = 1024;

/// The columns of a group aliased `g`, its tags included (what [`GroupRow`] reads).
fn group_columns() -> String {
    format!(
        "g.id, g.name, g.slug, g.kind, g.parent_id, {GROUP_TAGS} AS tags, g.extend, \
         g.require_mfa, g.created_at, g.updated_at"
    )
}

/// `chain`: the group `$1` at depth 0 and its ancestors up to depth `$2`, each with every
/// column of `groups` (so reading them needs no second join). `UNION ALL`, so a cycle
/// repeats rows until the depth bound stops the walk.
pub(super) const CHAIN_CTE: &str = "WITH RECURSIVE chain \
     (id, name, slug, kind, parent_id, extend, require_mfa, created_at, updated_at, depth) AS ( \
     SELECT id, name, slug, kind, parent_id, extend, require_mfa, created_at, updated_at, \
     CAST(0 AS BIGINT) FROM groups WHERE id = $1 \
     UNION ALL \
     SELECT g.id, g.name, g.slug, g.kind, g.parent_id, g.extend, g.require_mfa, g.created_at, \
     g.updated_at, c.depth + 1 FROM chain c JOIN groups g ON g.id = c.parent_id \
     WHERE c.depth < $2)";

/// `CHAIN_CTE` with what access decisions read only: `id`, `parent_id`, `require_mfa` and
/// `depth` of the group `$1` and its ancestors up to depth `$2`.
pub(super) const ID_CHAIN_CTE: &str = "WITH RECURSIVE chain (id, parent_id, require_mfa, depth) \
     AS ( SELECT id, parent_id, require_mfa, CAST(0 AS BIGINT) FROM groups WHERE id = $1 \
     UNION ALL \
     SELECT g.id, g.parent_id, g.require_mfa, c.depth + 1 FROM chain c \
     JOIN groups g ON g.id = c.parent_id WHERE c.depth < $2)";

/// Locks the group's row for the rest of the transaction; `false` if there is no such group.
/// Inserts a group and its tags (the parent checked by the caller).
pub(super) async fn insert_group(conn: &mut Connection, group: &Group) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO groups (id, name, slug, kind, parent_id, extend, require_mfa, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(group.id.as_uuid())
    .bind(group.name.as_str())
    .bind(group.slug.as_deref())
    .bind(group.kind.as_str())
    .bind(group.parent_id.map(|p| p.as_uuid()))
    .bind(Json(&group.extend))
    .bind(group.require_mfa)
    .bind(Ts(group.created_at))
    .bind(Ts(group.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    insert_tags(conn, group.id, &group.tags).await
}

pub(super) async fn lock_group(conn: &mut Connection, id: GroupId) -> Result<bool, StoreError> {
    let row: Option<(Uuid,)> =
        sqlx::query_as(&format!("SELECT id FROM groups WHERE id = $1{FOR_UPDATE}"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
    Ok(row.is_some())
}

async fn fetch_group(
    conn: &mut Connection,
    id: GroupId,
    lock: bool,
) -> Result<Option<Group>, StoreError> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: Option<GroupRow> = sqlx::query_as(&format!(
        "SELECT {} FROM groups g WHERE g.id = $1{lock}",
        group_columns()
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    row.map(Group::try_from).transpose()
}

async fn insert_tags(
    conn: &mut Connection,
    id: GroupId,
    tags: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Db>::new("INSERT INTO group_tags (group_id, key, value) ");
    query.push_values(tags, |mut row, (key, value)| {
        row.push_bind(id.as_uuid())
            .push_bind(key.as_str())
            .push_bind(value.as_str());
    });
    query
        .build()
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Whether moving `id` under `parent` is allowed: the parent exists (locked, so it stays)
/// and walking up from it does not reach `id` (bounded, so a planted cycle ends the walk).
async fn check_move(
    conn: &mut Connection,
    id: GroupId,
    parent: GroupId,
) -> Result<Option<UpdateGroupOutcome>, StoreError> {
    if !lock_group(conn, parent).await? {
        return Err(StoreError::MissingReference(Entity::Group));
    }
    let (hits,): (i64,) = sqlx::query_as(&format!(
        "{CHAIN_CTE} SELECT count(*) FROM chain WHERE id = $3"
    ))
    .bind(parent.as_uuid())
    .bind(MOVE_CHECK_DEPTH)
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok((hits > 0).then_some(UpdateGroupOutcome::WouldCycle))
}

/// Appends `AND g.id IN (groups carrying one of these tags)`.
fn push_tags(query: &mut QueryBuilder<'_, Db>, tags: &[Tag]) {
    query.push(" AND g.id IN (SELECT group_id FROM group_tags WHERE ");
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            query.push(" OR ");
        }
        query
            .push("(key = ")
            .push_bind(tag.key.clone())
            .push(" AND value = ")
            .push_bind(tag.value.clone())
            .push(")");
    }
    query.push(")");
}

#[async_trait::async_trait]
impl GroupStore for Backend {
    async fn create_group(&self, group: &Group, owner: Option<&Member>) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if let Some(parent) = group.parent_id
            && !lock_group(&mut tx, parent).await?
        {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if let Some(owner) = owner
            && !lock_user(&mut tx, owner.user_id).await?
        {
            return Err(StoreError::MissingReference(Entity::User));
        }
        insert_group(&mut tx, group).await?;
        if let Some(owner) = owner {
            // The group is new, so its first member cannot exist yet.
            insert_member(&mut tx, owner).await?;
        }
        tx.commit().await.map_err(store_error)
    }

    async fn get_group(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        fetch_group(&mut conn, id, false).await
    }

    async fn get_group_by_slug(&self, slug: &str) -> Result<Option<Group>, StoreError> {
        let row: Option<GroupRow> = sqlx::query_as(&format!(
            "SELECT {} FROM groups g WHERE g.slug = $1",
            group_columns()
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Group::try_from).transpose()
    }

    async fn get_groups(&self, ids: &[GroupId]) -> Result<Vec<Group>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {} FROM groups g WHERE g.id IN (",
            group_columns()
        ));
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(id.as_uuid());
        }
        query.push(")");
        let rows: Vec<GroupRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }

    async fn list_groups(
        &self,
        request: &PageRequest<GroupFilter, GroupOrder>,
    ) -> Result<Vec<Group>, StoreError> {
        let filter = &request.filter;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {} FROM groups g WHERE TRUE",
            group_columns()
        ));
        if let Some(slug) = &filter.slug {
            query.push(" AND g.slug = ").push_bind(slug.clone());
        }
        if let Some(kind) = &filter.kind {
            query.push(" AND g.kind = ").push_bind(kind.clone());
        }
        if let Some(parent) = filter.parent_id {
            query
                .push(" AND g.parent_id = ")
                .push_bind(parent.as_uuid());
        }
        if filter.root_only {
            query.push(" AND g.parent_id IS NULL");
        }
        if let Some(needle) = &filter.name_contains {
            query
                .push(" AND lower(g.name) LIKE ")
                .push_bind(contains_pattern(needle))
                .push(" ESCAPE '\\'");
        }
        for tag in &filter.tags_all {
            push_tags(&mut query, std::slice::from_ref(tag));
        }
        if !filter.tags_any.is_empty() {
            push_tags(&mut query, &filter.tags_any);
        }
        let column = match request.order {
            GroupOrder::CreatedAt => "g.created_at",
            GroupOrder::Name => "g.name",
            GroupOrder::Slug => "COALESCE(g.slug, '')",
            GroupOrder::Kind => "g.kind",
        };
        push_page(&mut query, column, request);
        let rows: Vec<GroupRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }

    async fn update_group(
        &self,
        id: GroupId,
        patch: &GroupPatch,
        now: OffsetDateTime,
    ) -> Result<UpdateGroupOutcome, StoreError> {
        let new_parent = patch.parent_id.flatten();
        let mut tx = self.begin().await?;
        if let (Some(_), Some(lock)) = (new_parent, MOVE_LOCK) {
            sqlx::query(lock)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        let Some(mut group) = fetch_group(&mut tx, id, true).await? else {
            return Ok(UpdateGroupOutcome::NotFound);
        };
        if let Some(parent) = new_parent
            && let Some(refused) = check_move(&mut tx, id, parent).await?
        {
            return Ok(refused);
        }
        patch.apply(&mut group, now);
        sqlx::query(
            "UPDATE groups SET name = $2, slug = $3, kind = $4, parent_id = $5, extend = $6, \
             require_mfa = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(group.name.as_str())
        .bind(group.slug.as_deref())
        .bind(group.kind.as_str())
        .bind(group.parent_id.map(|p| p.as_uuid()))
        .bind(Json(&group.extend))
        .bind(group.require_mfa)
        .bind(Ts(group.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if let Some(tags) = &patch.tags {
            sqlx::query("DELETE FROM group_tags WHERE group_id = $1")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            insert_tags(&mut tx, id, tags).await?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(UpdateGroupOutcome::Updated(group))
    }

    async fn delete_group(&self, id: GroupId) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin().await?;
        if !lock_group(&mut tx, id).await? {
            return Ok(None);
        }
        // `UNION` keeps each group once, so the walk ends even on a planted cycle; it counts
        // exactly the groups the cascade below removes.
        let (count,): (i64,) = sqlx::query_as(
            "WITH RECURSIVE tree (id) AS ( \
             SELECT id FROM groups WHERE id = $1 \
             UNION SELECT g.id FROM tree w JOIN groups g ON g.parent_id = w.id) \
             SELECT count(*) FROM tree",
        )
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        // Descendants, members, invites and tags go by ON DELETE CASCADE.
        sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(Some(u64::try_from(count).unwrap_or(0)))
    }

    async fn group_chain(&self, id: GroupId, max_depth: u32) -> Result<Vec<ChainLink>, StoreError> {
        let rows: Vec<ChainRow> = sqlx::query_as(&format!(
            "{CHAIN_CTE} SELECT {}, g.depth AS depth FROM chain g ORDER BY g.depth",
            group_columns()
        ))
        .bind(id.as_uuid())
        .bind(i64::from(max_depth))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        convert(rows)
    }

    async fn group_subtree(
        &self,
        id: GroupId,
        max_depth: u32,
        limit: u32,
    ) -> Result<Vec<ChainLink>, StoreError> {
        // Like `CHAIN_CTE`, downwards: `UNION ALL` bounded by depth, so a planted cycle
        // repeats rows but never loops.
        let rows: Vec<ChainRow> = sqlx::query_as(&format!(
            "WITH RECURSIVE tree \
             (id, name, slug, kind, parent_id, extend, require_mfa, created_at, updated_at, \
             depth) AS ( \
             SELECT id, name, slug, kind, parent_id, extend, require_mfa, created_at, \
             updated_at, CAST(0 AS BIGINT) FROM groups WHERE id = $1 \
             UNION ALL \
             SELECT g.id, g.name, g.slug, g.kind, g.parent_id, g.extend, g.require_mfa, \
             g.created_at, g.updated_at, w.depth + 1 FROM tree w \
             JOIN groups g ON g.parent_id = w.id \
             WHERE w.depth < $2) \
             SELECT {}, g.depth AS depth FROM tree g \
             ORDER BY g.depth, g.created_at, g.id LIMIT $3",
            group_columns()
        ))
        .bind(id.as_uuid())
        .bind(i64::from(max_depth))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        convert(rows)
    }
}
