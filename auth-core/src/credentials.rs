//! Ending every credential of a user at once, when someone proves they own the account's
//! address: a password reset, or the first emailed sign-in to an unverified account.
//!
//! A credential is anything that lets its holder act as the user: a session and its refresh
//! token, the password, a linked identity, a passkey, and the credentials of optional
//! domains (API keys the user owns; TOTP as that domain arrives). Passkeys are sign-in
//! methods: a password reset (`domains`) leaves them, since they are phishing resistant
//! and the reset proves only the address; the first emailed sign-in to an unverified
//! account (`sign_in_methods`: whoever created it keeps nothing) removes them. A store ends them in one
//! call, [`CredentialStore::end_credentials`], covering every domain it implements, so a
//! new domain extends that one method and recovery reaches it with no change in the
//! services (the same contract as [`UserStore::delete_user`](crate::UserStore::delete_user)).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::error::{AuthError, Entity, StoreError};
use crate::ids::UserId;
use crate::invalidation::Invalidation;
use crate::mfa::SecondFactors;
use crate::secret::TokenHash;

/// What [`CredentialStore::end_credentials`] ends besides every session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndCredentials {
    /// Remove every way to sign in but emailed codes: the password, linked identities and
    /// second factors (TOTP, passkeys: whoever set the account up before its owner proved
    /// the address must not keep them; the emailed-code account is created if the user
    /// has none). A password reset leaves second factors alone.
    pub sign_in_methods: bool,
    /// End the credentials of the optional domains: revoke the API keys the user owns
    /// (keys of their groups are not theirs and stay).
    pub domains: bool,
}

impl EndCredentials {
    /// Sessions only (the password, linked identities and domain credentials stay).
    pub fn sessions() -> Self {
        Self::default()
    }

    /// Also end the credentials of the optional domains.
    pub fn with_domains(mut self, domains: bool) -> Self {
        self.domains = domains;
        self
    }

    /// Also remove every way to sign in but emailed codes.
    pub fn with_sign_in_methods(mut self, sign_in_methods: bool) -> Self {
        self.sign_in_methods = sign_in_methods;
        self
    }
}

/// What [`CredentialStore::end_credentials`] ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndedCredentials {
    /// Token hashes of the sessions revoked (their refresh tokens end with them).
    pub session_token_hashes: Vec<TokenHash>,
    /// Accounts removed (password, linked identities).
    pub sign_in_methods: u64,
    /// API keys revoked (always 0 in a store without the API-keys domain).
    pub api_keys: u64,
    /// TOTP factors removed with the sign-in methods (0 or 1; always 0 in a store without
    /// the TOTP domain; a password reset keeps them).
    pub totp: u64,
    /// Passkeys removed, with `sign_in_methods` (always 0 in a store without the passkeys
    /// domain; a password reset keeps them).
    pub passkeys: u64,
}

/// Ending a user's credentials across the domains a store implements: part of the core.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// In one transaction (so nobody holding one credential can mint another meanwhile):
    /// revokes every unrevoked session of the user at `at`; with `end.sign_in_methods`,
    /// removes every account but the emailed-code one (adding that one if missing) and the
    /// user's second factors of the domains it implements (TOTP, passkeys); with
    /// `end.domains`, ends the credentials of every optional domain this store implements
    /// (API keys owned by the user get `revoked_at = at` unless revoked earlier already). A
    /// store with only the core has no domain credentials to end. `None` if there is no
    /// such user.
    async fn end_credentials(
        &self,
        user_id: UserId,
        end: EndCredentials,
        at: OffsetDateTime,
    ) -> Result<Option<EndedCredentials>, StoreError>;

    /// The confirmed second factors the user holds across the domains this store
    /// implements (a confirmed TOTP enrolment, a passkey): what makes sign-in ask for one
    /// ([`crate::mfa`]). A store with only the core answers none; a store that implements a
    /// factor domain MUST answer for it, or its users sign in without their second factor.
    async fn second_factors(&self, user_id: UserId) -> Result<SecondFactors, StoreError>;

    /// Whether an organization verified `domain` (lowercase ASCII) and requires SSO for
    /// it: what makes password and emailed-code sign-in refuse its addresses with
    /// `SSO_REQUIRED` ([`crate::sso`]). One indexed lookup. A store without the SSO domain
    /// answers `false`; a store that implements it MUST answer from its domains, or
    /// passwords keep working where the organization requires SSO.
    async fn sso_required(&self, domain: &str) -> Result<bool, StoreError>;
}

impl<S: CredentialStore + 'static> Auth<S> {
    /// Ends the credentials of `user_id` after someone proved they own its address
    /// (`cause`: `password_reset`, `email_sign_in`): every session, the optional domains'
    /// credentials when [`AuthConfig::recovery_ends_credentials`](crate::AuthConfig) is on,
    /// and the sign-in methods when `sign_in_methods`. Evicts what this process caches and
    /// audits `user.credentials_ended` with how many of each (or the failure).
    pub(crate) async fn end_credentials(
        &self,
        user_id: UserId,
        sign_in_methods: bool,
        cause: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let end = EndCredentials::sessions()
            .with_sign_in_methods(sign_in_methods)
            .with_domains(self.config().recovery_ends_credentials);
        let now = self.now();
        let result = match self.store().end_credentials(user_id, end, now).await {
            Ok(Some(ended)) => Ok(ended),
            Ok(None) => Err(AuthError::NotFound(Entity::User)),
            Err(error) => Err(AuthError::from(error)),
        };
        let event = AuditEvent::new(
            "user.credentials_ended",
            meta.actor_or(Actor::User { id: user_id }),
            now,
            meta,
        )
        .subject("user", user_id);
        let event = match &result {
            Ok(ended) => {
                let mut events = Invalidation::ended_sessions(user_id, &ended.session_token_hashes);
                if ended.api_keys > 0 {
                    events.push(Invalidation::AllApiKeys);
                }
                self.invalidate(&events).await;
                event.detail(serde_json::json!({
                    "cause": cause,
                    "sessions": ended.session_token_hashes.len(),
                    "sign_in_methods": ended.sign_in_methods,
                    "api_keys": ended.api_keys,
                    "totp": ended.totp,
                    "passkeys": ended.passkeys,
                }))
            }
            Err(error) => event
                .detail(serde_json::json!({ "cause": cause }))
                .failed(error),
        };
        self.record_audit(event).await;
        result.map(|_| ())
    }
}
