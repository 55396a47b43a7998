// UserStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::accounts::Account;
use auth_core::members::{KeepRole, MemberStatus};
use auth_core::users::{DeleteUserOutcome, Dependents, UserFilter, UserOrder, UserPatch};
use auth_core::{Email, User, UserId, UserStore};

use crate::rows::UserRow;

const USER_COLUMNS: &str = "id, email, email_verified, name, image, extend, created_at, updated_at";

pub(super) async fn insert_user(conn: &mut Connection, user: &User) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, email, email_verified, name, image, extend, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user.id.as_uuid())
    .bind(user.email.as_str())
    .bind(user.email_verified)
    .bind(user.name.as_deref())
    .bind(user.image.as_deref())
    .bind(Json(&user.extend))
    .bind(Ts(user.created_at))
    .bind(Ts(user.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

pub(super) async fn insert_account(
    conn: &mut Connection,
    account: &Account,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, user_id, provider, provider_account_id, password_hash, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account.id.as_uuid())
    .bind(account.user_id.as_uuid())
    .bind(account.provider.as_str())
    .bind(account.provider_account_id.as_str())
    .bind(account.password_hash.as_ref().map(|h| h.as_str()))
    .bind(Ts(account.created_at))
    .bind(Ts(account.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Locks the user's row for the rest of the transaction; `false` if there is no such user.
pub(super) async fn lock_user(conn: &mut Connection, id: UserId) -> Result<bool, StoreError> {
    let row: Option<(Uuid,)> =
        sqlx::query_as(&format!("SELECT id FROM users WHERE id = $1{FOR_UPDATE}"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
    Ok(row.is_some())
}

async fn fetch_user(
    conn: &mut Connection,
    id: UserId,
    lock: bool,
) -> Result<Option<User>, StoreError> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1{lock}"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    row.map(User::try_from).transpose()
}

#[async_trait::async_trait]
impl UserStore for Backend {
    async fn create_user(&self, user: &User, accounts: &[Account]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_user(&mut tx, user).await?;
        for account in accounts {
            insert_account(&mut tx, account).await?;
        }
        tx.commit().await.map_err(store_error)
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        fetch_user(&mut conn, id, false).await
    }

    async fn get_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(User::try_from).transpose()
    }

    async fn list_users(
        &self,
        request: &PageRequest<UserFilter, UserOrder>,
    ) -> Result<Vec<User>, StoreError> {
        let filter = &request.filter;
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {USER_COLUMNS} FROM users WHERE TRUE"));
        if let Some(email) = &filter.email {
            query
                .push(" AND email = ")
                .push_bind(email.as_str().to_owned());
        }
        if let Some(needle) = &filter.name_contains {
            query
                .push(" AND lower(name) LIKE ")
                .push_bind(contains_pattern(needle))
                .push(" ESCAPE '\\'");
        }
        if let Some(t) = filter.created_after {
            query.push(" AND created_at >= ").push_bind(Ts(t));
        }
        if let Some(t) = filter.created_before {
            query.push(" AND created_at < ").push_bind(Ts(t));
        }
        let column = match request.order {
            UserOrder::CreatedAt => "created_at",
            UserOrder::Email => "email",
        };
        push_page(&mut query, column, request);
        let rows: Vec<UserRow> = query
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        convert(rows)
    }

    async fn update_user(
        &self,
        id: UserId,
        patch: &UserPatch,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(mut user) = fetch_user(&mut tx, id, true).await? else {
            return Ok(None);
        };
        patch.apply(&mut user, now);
        sqlx::query(
            "UPDATE users SET email = $2, email_verified = $3, name = $4, image = $5, \
             extend = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(user.email.as_str())
        .bind(user.email_verified)
        .bind(user.name.as_deref())
        .bind(user.image.as_deref())
        .bind(Json(&user.extend))
        .bind(Ts(user.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(Some(user))
    }

    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE users SET updated_at = CASE WHEN email_verified THEN updated_at ELSE $3 END, \
             email_verified = TRUE WHERE id = $1 AND email = $2",
        )
        .bind(id.as_uuid())
        .bind(email.as_str())
        .bind(Ts(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_user(
        &self,
        id: UserId,
        cascade: bool,
        keep: &KeepRole,
    ) -> Result<DeleteUserOutcome, StoreError> {
        let mut tx = self.begin().await?;
        // The groups the user owns, locked first (in id order) like any change to a
        // group's owners, so a concurrent demotion of the other owner queues behind this.
        let owned: Vec<(Uuid,)> = sqlx::query_as(&format!(
            "SELECT id FROM groups WHERE id IN (SELECT group_id FROM members \
             WHERE user_id = $1 AND role = $2 AND status = $3) ORDER BY id{FOR_UPDATE}"
        ))
        .bind(id.as_uuid())
        .bind(keep.role.as_str())
        .bind(MemberStatus::Active.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(user) = fetch_user(&mut tx, id, true).await? else {
            return Ok(DeleteUserOutcome::NotFound);
        };
        if !owned.is_empty() {
            let (alone,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM members m WHERE m.user_id = $1 AND m.role = $2 \
                 AND m.status = $3 AND NOT EXISTS (SELECT 1 FROM members o \
                 WHERE o.group_id = m.group_id AND o.user_id <> $1 AND o.role = $2 \
                 AND o.status = $3)",
            )
            .bind(id.as_uuid())
            .bind(keep.role.as_str())
            .bind(MemberStatus::Active.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
            if alone > 0 {
                return Ok(DeleteUserOutcome::LastHolder(
                    u64::try_from(alone).unwrap_or(0),
                ));
            }
        }
        if !cascade {
            let (sessions, linked, memberships, keys): (i64, i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM sessions WHERE user_id = $1), \
                 (SELECT count(*) FROM accounts WHERE user_id = $1 \
                  AND provider NOT IN ('password', 'email')), \
                 (SELECT count(*) FROM members WHERE user_id = $1), \
                 (SELECT count(*) FROM api_keys WHERE owner_user_id = $1)",
            )
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
            let mut dependents = Dependents::default();
            dependents.sessions = u64::try_from(sessions).unwrap_or(0);
            dependents.linked_accounts = u64::try_from(linked).unwrap_or(0);
            dependents.memberships = u64::try_from(memberships).unwrap_or(0);
            dependents.api_keys = u64::try_from(keys).unwrap_or(0);
            if !dependents.is_empty() {
                return Ok(DeleteUserOutcome::HasDependents(dependents));
            }
        }
        let hashes: Vec<(Vec<u8>,)> =
            sqlx::query_as("SELECT token_hash FROM sessions WHERE user_id = $1")
                .bind(id.as_uuid())
                .fetch_all(&mut *tx)
                .await
                .map_err(store_error)?;
        sqlx::query("DELETE FROM verifications WHERE user_id = $1 OR email = $2")
            .bind(id.as_uuid())
            .bind(user.email.as_str())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        // Accounts, sessions, refresh tokens, memberships and the user's API keys go by ON
        // DELETE CASCADE; invites the user sent or accepted, and group keys they created,
        // stay, their reference set to NULL.
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(DeleteUserOutcome::Deleted {
            session_token_hashes: token_hashes(hashes)?,
        })
    }
}
