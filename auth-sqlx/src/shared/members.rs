// MemberStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::members::{
    KeepRole, MemberChange, MemberFilter, MemberOrder, MemberPatch, MemberStatus, MembershipLink,
};
use auth_core::{Conflict, Entity, GroupId, Member, MemberId, MemberStore, UserId};

use super::groups::{ID_CHAIN_CTE, lock_group};
use super::users::lock_user;
use crate::rows::{MemberRow, MembershipLinkRow};

const MEMBER_COLUMNS: &str = "id, group_id, user_id, role, status, extend, created_at, updated_at";

/// Inserts a membership unless the user is a member of the group already (`false`: nothing
/// inserted). Race-free: a concurrent insert of the same pair makes this one do nothing.
pub(super) async fn insert_member(
    conn: &mut Connection,
    member: &Member,
) -> Result<bool, StoreError> {
    let result = sqlx::query(&format!(
        "INSERT INTO members ({MEMBER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (group_id, user_id) DO NOTHING"
    ))
    .bind(member.id.as_uuid())
    .bind(member.group_id.as_uuid())
    .bind(member.user_id.as_uuid())
    .bind(member.role.as_str())
    .bind(member.status.as_str())
    .bind(Json(&member.extend))
    .bind(Ts(member.created_at))
    .bind(Ts(member.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(result.rows_affected() > 0)
}

async fn fetch_member(
    conn: &mut Connection,
    id: MemberId,
    lock: bool,
) -> Result<Option<Member>, StoreError> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1{lock}"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    row.map(Member::try_from).transpose()
}

/// Reads the membership for a change with the last-owner guard: locks its group's row first
/// (so changes to one group's owners queue), then reads it again under that lock. `None` if
/// it does not exist.
async fn lock_member(conn: &mut Connection, id: MemberId) -> Result<Option<Member>, StoreError> {
    let Some(member) = fetch_member(conn, id, false).await? else {
        return Ok(None);
    };
    if !lock_group(conn, member.group_id).await? {
        return Ok(None);
    }
    fetch_member(conn, id, true).await
}

/// Whether taking `before` to `after` (`None`: removing it) would leave a group that had
/// active members with the kept role without any.
async fn removes_last_holder(
    conn: &mut Connection,
    before: &Member,
    after: Option<&Member>,
    keep: &KeepRole,
) -> Result<bool, StoreError> {
    let role = keep.role.as_str();
    if !before.is_active_with_role(role) || after.is_some_and(|m| m.is_active_with_role(role)) {
        return Ok(false);
    }
    let (owners,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM members WHERE group_id = $1 AND role = $2 AND status = $3",
    )
    .bind(before.group_id.as_uuid())
    .bind(role)
    .bind(MemberStatus::Active.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(owners <= 1)
}

#[async_trait::async_trait]
impl MemberStore for Backend {
    async fn add_member(&self, member: &Member) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if !lock_group(&mut tx, member.group_id).await? {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if !lock_user(&mut tx, member.user_id).await? {
            return Err(StoreError::MissingReference(Entity::User));
        }
        if !insert_member(&mut tx, member).await? {
            return Err(StoreError::Conflict(Conflict::Membership));
        }
        tx.commit().await.map_err(store_error)
    }

    async fn get_member(&self, id: MemberId) -> Result<Option<Member>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        fetch_member(&mut conn, id, false).await
    }

    async fn get_member_by_user(
        &self,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        let row: Option<MemberRow> = sqlx::query_as(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE group_id = $1 AND user_id = $2"
        ))
        .bind(group_id.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Member::try_from).transpose()
    }

    async fn list_members(
        &self,
        request: &PageRequest<MemberFilter, MemberOrder>,
    ) -> Result<Vec<Member>, StoreError> {
        let filter = &request.filter;
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {MEMBER_COLUMNS} FROM members WHERE TRUE"));
        if let Some(group) = filter.group_id {
            query.push(" AND group_id = ").push_bind(group.as_uuid());
        }
        if let Some(user) = filter.user_id {
            query.push(" AND user_id = ").push_bind(user.as_uuid());
        }
        if let Some(role) = &filter.role {
            query.push(" AND role = ").push_bind(role.clone());
        }
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        push_page(&mut query, "created_at", request);
        let rows: Vec<MemberRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }

    async fn update_member(
        &self,
        id: MemberId,
        patch: &MemberPatch,
        now: OffsetDateTime,
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.begin().await?;
        let Some(before) = lock_member(&mut tx, id).await? else {
            return Ok(MemberChange::NotFound);
        };
        let mut member = before.clone();
        patch.apply(&mut member, now);
        if removes_last_holder(&mut tx, &before, Some(&member), keep).await? {
            return Ok(MemberChange::LastHolder);
        }
        sqlx::query(
            "UPDATE members SET role = $2, status = $3, extend = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(member.role.as_str())
        .bind(member.status.as_str())
        .bind(Json(&member.extend))
        .bind(Ts(member.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(MemberChange::Done(member))
    }

    async fn remove_member(
        &self,
        id: MemberId,
        keep: &KeepRole,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.begin().await?;
        let Some(member) = lock_member(&mut tx, id).await? else {
            return Ok(MemberChange::NotFound);
        };
        if removes_last_holder(&mut tx, &member, None, keep).await? {
            return Ok(MemberChange::LastHolder);
        }
        sqlx::query("DELETE FROM members WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(MemberChange::Done(member))
    }

    async fn membership_chain(
        &self,
        user_id: UserId,
        group_id: GroupId,
        max_depth: u32,
    ) -> Result<Vec<MembershipLink>, StoreError> {
        // Only ids travel up the recursion (the hot path of every permission check); the
        // membership is joined once per level at the end.
        let rows: Vec<MembershipLinkRow> = sqlx::query_as(&format!(
            "{ID_CHAIN_CTE} SELECT c.id AS group_id, c.parent_id, c.require_mfa, c.depth, \
             m.id AS m_id, m.user_id AS m_user_id, m.role AS m_role, m.status AS m_status, \
             m.extend AS m_extend, m.created_at AS m_created_at, m.updated_at AS m_updated_at \
             FROM chain c LEFT JOIN members m ON m.group_id = c.id AND m.user_id = $3 \
             ORDER BY c.depth"
        ))
        .bind(group_id.as_uuid())
        .bind(i64::from(max_depth))
        .bind(user_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        convert(rows)
    }
}
