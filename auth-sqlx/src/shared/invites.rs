// InviteStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::invites::{
    AcceptOutcome, Acceptance, InviteChange, InviteFilter, InviteOrder, InviteStatus,
};
use auth_core::members::MemberStatus;
use auth_core::{Entity, Invite, InviteId, InviteStore, Member};

use super::groups::lock_group;
use super::members::insert_member;
use crate::rows::InviteRow;

const INVITE_COLUMNS: &str = "id, group_id, email, role, status, token_hash, inviter_id, \
     expires_at, accepted_by, accepted_at, revoked_at, extend, created_at, updated_at";

/// Which invite to read.
enum Key<'a> {
    Id(InviteId),
    Token(&'a TokenHash),
}

/// Reads an invite, locked for the rest of the transaction.
async fn lock_invite(conn: &mut Connection, key: Key<'_>) -> Result<Option<Invite>, StoreError> {
    let mut query = QueryBuilder::<Db>::new(format!("SELECT {INVITE_COLUMNS} FROM invites WHERE "));
    match key {
        Key::Id(id) => query.push("id = ").push_bind(id.as_uuid()),
        Key::Token(hash) => query
            .push("token_hash = ")
            .push_bind(hash.as_bytes().to_vec()),
    };
    query.push(FOR_UPDATE);
    let row: Option<InviteRow> = query
        .build_query_as()
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
    row.map(Invite::try_from).transpose()
}

/// Records that a pending invite expired.
async fn mark_expired(
    conn: &mut Connection,
    invite: &Invite,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE invites SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(invite.id.as_uuid())
        .bind(InviteStatus::Expired.as_str())
        .bind(Ts(now))
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Appends the condition "the effective status at `now` is `status`".
fn push_status(query: &mut QueryBuilder<'_, Db>, status: InviteStatus, now: OffsetDateTime) {
    match status {
        InviteStatus::Pending => {
            query
                .push(" AND status = 'pending' AND (expires_at IS NULL OR expires_at > ")
                .push_bind(Ts(now))
                .push(")");
        }
        InviteStatus::Expired => {
            query
                .push(" AND (status = 'expired' OR (status = 'pending' AND expires_at <= ")
                .push_bind(Ts(now))
                .push("))");
        }
        other => {
            query.push(" AND status = ").push_bind(other.as_str());
        }
    }
}

#[async_trait::async_trait]
impl InviteStore for Backend {
    async fn create_invite(&self, invite: &Invite) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if let Some(group) = invite.group_id
            && !lock_group(&mut tx, group).await?
        {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if let Some(email) = &invite.email {
            // Pending invites for this email and group that have run out make way.
            let mut expire = QueryBuilder::<Db>::new("UPDATE invites SET status = 'expired', ");
            expire
                .push("updated_at = ")
                .push_bind(Ts(invite.created_at))
                .push(" WHERE status = 'pending' AND email = ")
                .push_bind(email.as_str())
                .push(" AND expires_at <= ")
                .push_bind(Ts(invite.created_at));
            match invite.group_id {
                Some(group) => expire.push(" AND group_id = ").push_bind(group.as_uuid()),
                None => expire.push(" AND group_id IS NULL"),
            };
            expire
                .build()
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        sqlx::query(&format!(
            "INSERT INTO invites ({INVITE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(invite.id.as_uuid())
        .bind(invite.group_id.map(|g| g.as_uuid()))
        .bind(invite.email.as_ref().map(|e| e.as_str()))
        .bind(invite.role.as_deref())
        .bind(invite.status.as_str())
        .bind(&invite.token_hash.as_bytes()[..])
        .bind(invite.inviter_id.map(|u| u.as_uuid()))
        .bind(invite.expires_at.map(Ts))
        .bind(invite.accepted_by.map(|u| u.as_uuid()))
        .bind(invite.accepted_at.map(Ts))
        .bind(invite.revoked_at.map(Ts))
        .bind(Json(&invite.extend))
        .bind(Ts(invite.created_at))
        .bind(Ts(invite.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn get_invite(&self, id: InviteId) -> Result<Option<Invite>, StoreError> {
        let row: Option<InviteRow> = sqlx::query_as(&format!(
            "SELECT {INVITE_COLUMNS} FROM invites WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Invite::try_from).transpose()
    }

    async fn get_invite_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<Invite>, StoreError> {
        let row: Option<InviteRow> = sqlx::query_as(&format!(
            "SELECT {INVITE_COLUMNS} FROM invites WHERE token_hash = $1"
        ))
        .bind(&token_hash.as_bytes()[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(Invite::try_from).transpose()
    }

    async fn list_invites(
        &self,
        request: &PageRequest<InviteFilter, InviteOrder>,
        now: OffsetDateTime,
    ) -> Result<Vec<Invite>, StoreError> {
        let filter = &request.filter;
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {INVITE_COLUMNS} FROM invites WHERE TRUE"));
        if let Some(group) = filter.group_id {
            query.push(" AND group_id = ").push_bind(group.as_uuid());
        }
        if let Some(status) = filter.status {
            push_status(&mut query, status, now);
        }
        if let Some(email) = &filter.email {
            query
                .push(" AND email = ")
                .push_bind(email.as_str().to_owned());
        }
        if let Some(inviter) = filter.inviter_id {
            query
                .push(" AND inviter_id = ")
                .push_bind(inviter.as_uuid());
        }
        if let Some(role) = &filter.role {
            query.push(" AND role = ").push_bind(role.clone());
        }
        push_page(&mut query, "created_at", request);
        let rows: Vec<InviteRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }

    async fn revoke_invite(
        &self,
        id: InviteId,
        now: OffsetDateTime,
    ) -> Result<InviteChange, StoreError> {
        let mut tx = self.begin().await?;
        let Some(mut invite) = lock_invite(&mut tx, Key::Id(id)).await? else {
            return Ok(InviteChange::NotFound);
        };
        match invite.status_at(now) {
            InviteStatus::Pending => {}
            InviteStatus::Expired if invite.status == InviteStatus::Pending => {
                mark_expired(&mut tx, &invite, now).await?;
                tx.commit().await.map_err(store_error)?;
                return Ok(InviteChange::NotPending(InviteStatus::Expired));
            }
            other => return Ok(InviteChange::NotPending(other)),
        }
        sqlx::query(
            "UPDATE invites SET status = $2, revoked_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(InviteStatus::Revoked.as_str())
        .bind(Ts(now))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        invite.status = InviteStatus::Revoked;
        invite.revoked_at = Some(now);
        invite.updated_at = now;
        Ok(InviteChange::Done(invite))
    }

    async fn accept_invite(&self, acceptance: &Acceptance) -> Result<AcceptOutcome, StoreError> {
        let now = acceptance.now;
        let mut tx = self.begin().await?;
        // The row lock makes concurrent acceptances of one token queue; each later one sees
        // the invite accepted.
        let Some(mut invite) = lock_invite(&mut tx, Key::Token(&acceptance.token_hash)).await?
        else {
            return Ok(AcceptOutcome::NotFound);
        };
        if invite.status != InviteStatus::Pending {
            return Ok(AcceptOutcome::NotPending(invite.status));
        }
        if invite.status_at(now) == InviteStatus::Expired {
            mark_expired(&mut tx, &invite, now).await?;
            tx.commit().await.map_err(store_error)?;
            return Ok(AcceptOutcome::Expired);
        }
        if invite
            .email
            .as_ref()
            .is_some_and(|e| *e != acceptance.user_email || !acceptance.email_verified)
        {
            return Ok(AcceptOutcome::EmailMismatch);
        }
        let member = match invite.group_id {
            None => None,
            Some(group_id) => {
                let member = Member {
                    id: acceptance.member_id,
                    group_id,
                    user_id: acceptance.user_id,
                    role: invite
                        .role
                        .clone()
                        .unwrap_or_else(|| acceptance.default_role.clone()),
                    status: MemberStatus::Active,
                    extend: serde_json::json!({}),
                    created_at: now,
                    updated_at: now,
                };
                if !insert_member(&mut tx, &member).await? {
                    return Ok(AcceptOutcome::AlreadyMember);
                }
                Some(member)
            }
        };
        sqlx::query(
            "UPDATE invites SET status = $2, accepted_by = $3, accepted_at = $4, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(invite.id.as_uuid())
        .bind(InviteStatus::Accepted.as_str())
        .bind(acceptance.user_id.as_uuid())
        .bind(Ts(now))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        invite.status = InviteStatus::Accepted;
        invite.accepted_by = Some(acceptance.user_id);
        invite.accepted_at = Some(now);
        invite.updated_at = now;
        Ok(AcceptOutcome::Accepted { invite, member })
    }
}
