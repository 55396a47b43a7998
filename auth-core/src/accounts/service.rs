use super::{Account, AccountStore, Provider, UnlinkOutcome};
use crate::audit::AuditEvent;
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity};
use crate::ids::{AccountId, UserId};
use crate::users::{User, UserStore};

/// Longest provider account id accepted.
const MAX_PROVIDER_ACCOUNT_ID: usize = 255;

/// Linked identities: `auth.accounts()`.
pub struct Accounts<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: AccountStore + UserStore + 'static> Auth<S> {
    /// Linked identities.
    pub fn accounts(&self) -> Accounts<'_, S> {
        Accounts { auth: self }
    }
}

impl<S: AccountStore + UserStore + 'static> Accounts<'_, S> {
    /// A user's accounts, oldest first (the user themselves, or the app).
    pub async fn list(&self, caller: &Caller, user_id: UserId) -> Result<Vec<Account>, AuthError> {
        if !caller.is_self_or_system(user_id) {
            return Err(AuthError::NotFound(Entity::User));
        }
        Ok(self.auth.store().list_accounts(user_id).await?)
    }

    /// The user an external identity is linked to, if any (the SSO sign-in lookup).
    pub async fn find_user(
        &self,
        provider: &Provider,
        provider_account_id: &str,
    ) -> Result<Option<User>, AuthError> {
        let store = self.auth.store();
        let Some(account) = store.get_account(provider, provider_account_id).await? else {
            return Ok(None);
        };
        Ok(store.get_user(account.user_id).await?)
    }

    /// Links an external identity (`oidc:...`, `saml:...`, an app-defined provider) to a
    /// user. Only the app links, once it has proof of the identity (an SSO flow that
    /// verified it): a user claiming an identity is not proof. `ACCOUNT_ALREADY_LINKED` if
    /// that identity belongs to someone already. Passwords are set through
    /// `auth.password()`, not linked.
    #[tracing::instrument(name = "accounts.link", skip_all, fields(user = %user_id, provider = %provider))]
    pub async fn link(
        &self,
        caller: &Caller,
        user_id: UserId,
        provider: Provider,
        provider_account_id: &str,
        meta: &RequestMeta,
    ) -> Result<Account, AuthError> {
        if !caller.is_system() {
            return Err(AuthError::Forbidden(
                "identities are linked by the app once proved".into(),
            ));
        }
        if provider.is_local() {
            return Err(AuthError::invalid(
                "provider",
                "password and email are not linked identities",
            ));
        }
        let pid = provider_account_id.trim();
        if pid.is_empty()
            || pid.len() > MAX_PROVIDER_ACCOUNT_ID
            || pid.chars().any(char::is_control)
        {
            return Err(AuthError::invalid(
                "provider_account_id",
                "must be 1 to 255 characters without control characters",
            ));
        }
        let now = self.auth.now();
        let account = Account {
            id: AccountId::new(),
            user_id,
            provider,
            provider_account_id: pid.to_owned(),
            password_hash: None,
            created_at: now,
            updated_at: now,
        };
        self.auth.store().link_account(&account).await?;
        self.auth
            .record_audit(
                AuditEvent::by("account.link", caller, now, meta)
                    .subject("user", user_id)
                    .detail(serde_json::json!({ "provider": account.provider.as_str() })),
            )
            .await;
        Ok(account)
    }

    /// Removes one of a user's accounts (the user themselves, or the app);
    /// `LAST_SIGN_IN_METHOD` if it is their last.
    #[tracing::instrument(name = "accounts.unlink", skip_all, fields(user = %user_id))]
    pub async fn unlink(
        &self,
        caller: &Caller,
        user_id: UserId,
        account_id: AccountId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        if !caller.is_self_or_system(user_id) {
            return Err(AuthError::NotFound(Entity::Account));
        }
        match self
            .auth
            .store()
            .unlink_account(user_id, account_id)
            .await?
        {
            UnlinkOutcome::Unlinked => {}
            UnlinkOutcome::NotFound => return Err(AuthError::NotFound(Entity::Account)),
            UnlinkOutcome::LastSignInMethod => return Err(AuthError::LastSignInMethod),
        }
        self.auth
            .record_audit(
                AuditEvent::by("account.unlink", caller, self.auth.now(), meta)
                    .subject("account", account_id),
            )
            .await;
        Ok(())
    }
}
