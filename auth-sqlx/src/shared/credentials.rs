// CredentialStore for both backends (a module of `query.rs`, compiled once per backend).

use super::*;

use auth_core::credentials::{EndCredentials, EndedCredentials};
use auth_core::{Account, CredentialStore, SecondFactors, UserId};

use super::sessions::revoke_sessions;
use super::users::{insert_account, lock_user};

#[async_trait::async_trait]
impl CredentialStore for Backend {
    async fn end_credentials(
        &self,
        user_id: UserId,
        end: EndCredentials,
        at: OffsetDateTime,
    ) -> Result<Option<EndedCredentials>, StoreError> {
        let mut tx = self.begin().await?;
        // The user's row lock serialises this with password changes and account links.
        if !lock_user(&mut tx, user_id).await? {
            return Ok(None);
        }
        let mut ended = EndedCredentials::default();
        if end.sign_in_methods {
            let removed =
                sqlx::query("DELETE FROM accounts WHERE user_id = $1 AND provider <> 'email'")
                    .bind(user_id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
            ended.sign_in_methods = removed.rows_affected();
            let passkeys = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            ended.passkeys = passkeys.rows_affected();
            let (emails,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM accounts WHERE user_id = $1 AND provider = 'email'",
            )
            .bind(user_id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
            if emails == 0 {
                insert_account(&mut tx, &Account::email(user_id, at)).await?;
            }
            // Second factors someone set up before the owner proved the address go too
            // (recovery codes with their factor, by cascade).
            let factors = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            ended.totp = factors.rows_affected();
        }
        if end.domains {
            let revoked = sqlx::query(
                "UPDATE api_keys SET revoked_at = $2, \
                 updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END \
                 WHERE owner_user_id = $1 AND (revoked_at IS NULL OR revoked_at > $2)",
            )
            .bind(user_id.as_uuid())
            .bind(Ts(at))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            ended.api_keys = revoked.rows_affected();
        }
        ended.session_token_hashes = revoke_sessions(&mut tx, user_id, None, at).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Some(ended))
    }

    async fn second_factors(&self, user_id: UserId) -> Result<SecondFactors, StoreError> {
        let (totp, passkey): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 \
             AND state = 'confirmed'), EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)",
        )
        .bind(user_id.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(SecondFactors::none().with_totp(totp).with_passkey(passkey))
    }

    async fn sso_required(&self, domain: &str) -> Result<bool, StoreError> {
        let (required,): (bool,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM sso_domains WHERE domain = $1 \
             AND verified_at IS NOT NULL AND require_sso)",
        )
        .bind(domain)
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(required)
    }
}
