use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{PasswordCheck, PasswordHasher};
use crate::accounts::{Account, AccountStore, PasswordHash, Provider, RevokeSessions};
use crate::api_keys::RateLimitStore;
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::credentials::CredentialStore;
use crate::error::{AuthError, Conflict, Entity, StoreError};
use crate::ids::UserId;
use crate::invalidation::Invalidation;
use crate::mfa::SignInOutcome;
use crate::secret::Secret;
use crate::sessions::{Aal, Authenticated, SessionStore, SignedIn};
use crate::throttle::{Throttle, network_key};
use crate::users::{User, UserStore};
use crate::validate::{self, Email};
use crate::verification::{Answer, Notice, Purpose, VerificationStore};

/// Input of [`Passwords::sign_up`].
#[derive(Debug, Clone, Deserialize)]
pub struct SignUp {
    /// Email address.
    pub email: String,
    /// Password (checked against the policy).
    pub password: Secret,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// App-defined data (a JSON object).
    #[serde(default)]
    pub extend: Option<Value>,
}

/// The result of [`Passwords::sign_up`].
#[derive(Debug)]
pub enum SignUpOutcome {
    /// Signed up and signed in.
    SignedIn(Box<SignedIn>),
    /// Signed up; a verification code was sent and sign-in waits for it
    /// (`require_email_verification`).
    VerificationRequired(User),
}

/// The store traits the password flows need.
pub trait PasswordStore:
    UserStore + AccountStore + SessionStore + VerificationStore + RateLimitStore + CredentialStore
{
}
impl<
    S: UserStore + AccountStore + SessionStore + VerificationStore + RateLimitStore + CredentialStore,
> PasswordStore for S
{
}

/// Password sign-up, sign-in, change and reset: `auth.password()`.
pub struct Passwords<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: PasswordStore + 'static> Auth<S> {
    /// Password flows.
    pub fn password(&self) -> Passwords<'_, S> {
        Passwords { auth: self }
    }
}

impl<S: PasswordStore + 'static> Passwords<'_, S> {
    /// Creates a user with a password, and signs them in (or, when the app requires a
    /// verified email, sends a code and returns the user without a session).
    ///
    /// A taken address is `EMAIL_IN_USE`, unless
    /// [`AuthConfig::enumeration_safe_sign_up`](crate::AuthConfig) is on: then it gets the
    /// answer of a new address (a pending verification, with a user that is not stored)
    /// and its owner a [`Notice::SignUpAttempted`].
    #[tracing::instrument(name = "password.sign_up", skip_all)]
    pub async fn sign_up(
        &self,
        input: SignUp,
        meta: &RequestMeta,
    ) -> Result<SignUpOutcome, AuthError> {
        let email = Email::parse_with(&input.email, &self.auth.config().email_policy)?;
        // A sign-up signs in: not with a password where the domain requires SSO.
        self.auth
            .refuse_if_sso_required(&email, "user.sign_up", "password", meta)
            .await?;
        self.vet(&input.password, email.as_str()).await?;
        let name = input.name.as_deref().map(validate::name).transpose()?;
        let extend = input.extend.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("extend", &extend)?;
        let now = self.auth.now();
        if let Some(network) = network_key(meta)
            && let Err(error) = self.auth.throttle(Throttle::SignUpNetwork, &network).await
        {
            self.auth
                .record_audit(
                    AuditEvent::new("user.sign_up", Actor::Anonymous, now, meta).failed(&error),
                )
                .await;
            return Err(error);
        }
        let hash = self.hash(input.password).await?;
        let user = User {
            id: UserId::new(),
            email,
            email_verified: false,
            name,
            image: None,
            extend,
            created_at: now,
            updated_at: now,
        };
        let account = Account::password(user.id, hash, now);
        match self.auth.store().create_user(&user, &[account]).await {
            Ok(()) => {}
            Err(StoreError::Conflict(Conflict::UserEmail))
                if self.auth.config().enumeration_safe_sign_up =>
            {
                let event =
                    AuditEvent::new("user.sign_up", Actor::Anonymous, self.auth.now(), meta);
                return self.auth.answer_taken_address(user, event).await;
            }
            Err(StoreError::Conflict(Conflict::UserEmail)) => return Err(AuthError::EmailInUse),
            Err(other) => return Err(other.into()),
        }
        self.auth
            .record_audit(
                AuditEvent::new("user.sign_up", Actor::User { id: user.id }, now, meta)
                    .subject("user", user.id),
            )
            .await;
        if self.auth.config().require_email_verification {
            // Through the outbox: a taken address (enumeration-safe mode) answers after the
            // same work, its notice mailed off the request path too.
            let allowed = self
                .auth
                .mail_allowed(Purpose::VerifyEmail, &user.email)
                .await?;
            self.auth
                .hand_to_outbox(allowed, || {
                    self.auth.verification_delivery(
                        Purpose::VerifyEmail,
                        user.email.clone(),
                        Some(user.id),
                    )
                })
                .await;
            return Ok(SignUpOutcome::VerificationRequired(user));
        }
        let signed_in = self.auth.sessions().start(user, Aal::Aal1, meta).await?;
        Ok(SignUpOutcome::SignedIn(Box::new(signed_in)))
    }

    /// Signs in with email and password. An unknown email and a wrong password give the
    /// same `INVALID_CREDENTIALS` after the same work (one Argon2id verification), so
    /// neither the answer nor its timing reveals which addresses have accounts.
    ///
    /// Before the password is checked, the client network's failures
    /// ([`AuthConfig::sign_in_ip_limit`](crate::AuthConfig::sign_in_ip_limit)) must be
    /// under their limit, and the attempt counts against the address's
    /// ([`AuthConfig::sign_in_limit`](crate::AuthConfig::sign_in_limit)); a refused
    /// attempt answers `RATE_LIMITED` at once, without checking the password, and is
    /// audited. A success clears the address's count; a failure counts against the
    /// network. A user who holds a second factor gets [`SignInOutcome::MfaRequired`]
    /// instead of a session ([`crate::mfa`]).
    #[tracing::instrument(name = "password.sign_in", skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: &Secret,
        meta: &RequestMeta,
    ) -> Result<SignInOutcome, AuthError> {
        let email = Email::parse(email)?;
        // Before any account lookup: the answer depends on the domain alone.
        self.auth
            .refuse_if_sso_required(&email, "user.sign_in", "password", meta)
            .await?;
        let now = self.auth.now();
        let store = self.auth.store();
        let network = network_key(meta);
        if let Err((error, limit)) = self.throttle_sign_in(&email, network.as_deref()).await {
            if !matches!(error, AuthError::RateLimited { .. }) {
                // The limit could not be read (the store is down): no refusal to audit,
                // and no second wait on that store to name the account.
                return Err(error);
            }
            // Name the account under attack for the security team (the answer is the same
            // for unknown addresses).
            let actor = match store.get_user_by_email(&email).await? {
                Some(user) => Actor::User { id: user.id },
                None => Actor::Anonymous,
            };
            let event = AuditEvent::new("user.sign_in", actor, now, meta)
                .detail(serde_json::json!({ "method": "password", "limit": limit }))
                .failed(&error);
            self.auth.record_audit(event).await;
            return Err(error);
        }
        let user = store.get_user_by_email(&email).await?;
        // Same number of lookups whether or not the user exists.
        let lookup_id = user.as_ref().map_or_else(UserId::new, |u| u.id);
        let account = store
            .get_account(&Provider::password(), &lookup_id.to_string())
            .await?;
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        let check = if self.policy().may_match(password.expose()) {
            match self.verify(password.clone(), stored.clone()).await {
                Ok(check) => check,
                Err(error) => {
                    // OVERLOADED (every hashing worker busy): refused, and audited.
                    let actor = user
                        .as_ref()
                        .map_or(Actor::Anonymous, |u| Actor::User { id: u.id });
                    self.auth
                        .record_audit(
                            AuditEvent::new("user.sign_in", actor, now, meta).failed(&error),
                        )
                        .await;
                    return Err(error);
                }
            }
        } else {
            PasswordCheck::Mismatch
        };
        let (user, needs_rehash) = match (user, check) {
            (Some(user), PasswordCheck::Match { needs_rehash }) => (user, needs_rehash),
            (user, _) => {
                if let Some(network) = &network {
                    self.auth
                        .count_failure(Throttle::SignInNetwork, network)
                        .await;
                }
                let error = AuthError::InvalidCredentials;
                let actor = user.map_or(Actor::Anonymous, |u| Actor::User { id: u.id });
                self.auth
                    .record_audit(AuditEvent::new("user.sign_in", actor, now, meta).failed(&error))
                    .await;
                return Err(error);
            }
        };
        if self.auth.config().require_email_verification && !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        self.auth
            .clear_throttle(Throttle::SignInAccount, email.as_str())
            .await;
        if needs_rehash && let Some(stored) = &stored {
            self.rehash(user.id, stored, password.clone()).await;
        }
        self.auth
            .mfa()
            .sign_in_or_challenge(user, "password", meta)
            .await
    }

    /// Changes the password of the signed-in user. If they have one, `current` must match;
    /// a user without one (who signed in by emailed code or link) sets one only from a
    /// session begun within [`AuthConfig::reauth_window`](crate::AuthConfig::reauth_window)
    /// (`REAUTHENTICATION_REQUIRED` otherwise), so a stolen older session cannot give
    /// itself a lasting way in. Revokes every session of the user, then starts a new one
    /// (new id, new tokens). A sensitive operation ([`Auth::require_step_up`]).
    #[tracing::instrument(name = "password.change", skip_all)]
    pub async fn change(
        &self,
        current_session: &Authenticated,
        current: Option<&Secret>,
        new: &Secret,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let user = &current_session.user;
        let event = || {
            AuditEvent::new(
                "user.password_change",
                Actor::User { id: user.id },
                self.auth.now(),
                meta,
            )
            .subject("user", user.id)
        };
        self.auth
            .require_step_up(current_session, "user.password_change", meta)
            .await?;
        self.vet(new, user.email.as_str()).await?;
        let account = self
            .auth
            .store()
            .get_account(&Provider::password(), &user.id.to_string())
            .await?;
        match account.and_then(|a| a.password_hash) {
            Some(stored) => {
                self.check_current(
                    current_session,
                    current,
                    stored,
                    "user.password_change",
                    meta,
                )
                .await?;
            }
            None if !self.auth.signed_in_recently(&current_session.session) => {
                let error = AuthError::ReauthenticationRequired;
                self.auth.record_audit(event().failed(&error)).await;
                return Err(error);
            }
            None => {}
        }
        self.replace(user.id, new.clone()).await?;
        let signed_in = self
            .auth
            .sessions()
            .start(User::clone(user), current_session.session.aal, meta)
            .await?;
        self.auth
            .record_audit(event().in_session(signed_in.session.id))
            .await;
        self.auth
            .send_notice(Notice::PasswordChanged {
                to: user.email.clone(),
                reset: false,
            })
            .await;
        Ok(signed_in)
    }

    /// Checks the signed-in user's current password against `stored` before a sensitive
    /// change (`action`): counted against the sign-in limit of their address, so a stolen
    /// session cannot guess it faster than a sign-in could; a refusal is audited.
    pub(crate) async fn check_current(
        &self,
        current_session: &Authenticated,
        current: Option<&Secret>,
        stored: PasswordHash,
        action: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let user = &current_session.user;
        let result = match current {
            None => Err(AuthError::InvalidCredentials),
            Some(current) => match self
                .auth
                .throttle(Throttle::SignInAccount, user.email.as_str())
                .await
            {
                Err(error) => Err(error),
                Ok(()) => match self.verify(current.clone(), Some(stored)).await? {
                    PasswordCheck::Match { .. } => {
                        self.auth
                            .clear_throttle(Throttle::SignInAccount, user.email.as_str())
                            .await;
                        Ok(())
                    }
                    PasswordCheck::Mismatch => Err(AuthError::InvalidCredentials),
                },
            },
        };
        if let Err(error) = &result {
            self.auth
                .record_audit(
                    AuditEvent::new(action, Actor::User { id: user.id }, self.auth.now(), meta)
                        .subject("user", user.id)
                        .in_session(current_session.session.id)
                        .failed(error),
                )
                .await;
        }
        result
    }

    /// Sends a password reset code and link, if the address has a user. Always succeeds for
    /// a valid address, and the request path does the same work for every address (a
    /// lookup, a unit of the address's mail limit, one delivery handed to the
    /// [`Outbox`](crate::verification::Outbox), one audit event), so neither the answer nor
    /// its time tells which addresses have accounts: storing the code and the mailer's time
    /// are off it.
    #[tracing::instrument(name = "password.forgot", skip_all)]
    pub async fn forgot(&self, email: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        if !self.auth.inner().has_mailer {
            return Err(AuthError::NotConfigured("a mailer (AuthBuilder::mailer)"));
        }
        let user = self.auth.store().get_user_by_email(&email).await?;
        let allowed = self
            .auth
            .mail_allowed(Purpose::ResetPassword, &email)
            .await?;
        let user_id = user.as_ref().map(|u| u.id);
        self.auth
            .hand_to_outbox(user_id.is_some() && allowed, || {
                self.auth
                    .verification_delivery(Purpose::ResetPassword, email, user_id)
            })
            .await;
        let mut event = AuditEvent::new(
            "user.password_reset_requested",
            user_id.map_or(Actor::Anonymous, |id| Actor::User { id }),
            self.auth.now(),
            meta,
        );
        if let Some(id) = user_id {
            event = event.subject("user", id);
        }
        self.auth.record_audit(event).await;
        Ok(())
    }

    /// Sets a new password with an emailed code or link. The reset proves ownership of the
    /// address, so it ends every credential whoever held the account before could have
    /// minted: every session and refresh token, and (with
    /// [`AuthConfig::recovery_ends_credentials`](crate::AuthConfig), the default) the API
    /// keys the user owns, audited as `user.credentials_ended`. Marks the email verified.
    /// The user signs in afresh.
    #[tracing::instrument(name = "password.reset", skip_all)]
    pub async fn reset(
        &self,
        answer: Answer<'_>,
        new: &Secret,
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        // Check what can be checked before the code is spent.
        self.vet(new, "").await?;
        let v = self
            .auth
            .check_answer(Purpose::ResetPassword, answer, meta)
            .await?;
        let store = self.auth.store();
        let user = match v.user_id {
            Some(id) => store.get_user(id).await?,
            None => None,
        }
        .filter(|u| u.email == v.email)
        .ok_or(AuthError::CodeInvalid)?;
        self.policy_check(new.expose(), user.email.as_str())?;
        // The password and the sessions first, in one store call: whoever held them holds
        // at most keys then, and keys cannot mint credentials.
        let sessions_revoked = self.replace(user.id, new.clone()).await?;
        self.auth
            .end_credentials(user.id, false, "password_reset", meta)
            .await?;
        // The owner is back in: password guesses made meanwhile no longer hold them up.
        self.auth
            .clear_throttle(Throttle::SignInAccount, user.email.as_str())
            .await;
        let now = self.auth.now();
        store.mark_email_verified(user.id, &user.email, now).await?;
        self.auth
            .record_audit(
                AuditEvent::new(
                    "user.password_reset",
                    Actor::User { id: user.id },
                    now,
                    meta,
                )
                .subject("user", user.id)
                .detail(serde_json::json!({ "sessions_revoked": sessions_revoked })),
            )
            .await;
        self.auth
            .send_notice(Notice::PasswordChanged {
                to: user.email.clone(),
                reset: true,
            })
            .await;
        store
            .get_user(user.id)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))
    }

    /// Hashes and stores a new password, revoking every session of the user; returns how
    /// many it revoked.
    async fn replace(&self, user_id: UserId, password: Secret) -> Result<usize, AuthError> {
        let hash = self.hash(password).await?;
        let revoked = self
            .auth
            .store()
            .set_password(user_id, &hash, RevokeSessions::All, self.auth.now())
            .await?
            .ok_or(AuthError::NotFound(Entity::User))?;
        self.auth
            .invalidate(&Invalidation::ended_sessions(user_id, &revoked))
            .await;
        Ok(revoked.len())
    }

    /// Re-hashes with the current parameters after a successful sign-in, unless the
    /// password changed meanwhile (`verified` is the hash the sign-in checked); failures
    /// are logged, never fatal.
    async fn rehash(&self, user_id: UserId, verified: &PasswordHash, password: Secret) {
        let result = async {
            let hash = self.hash(password).await?;
            self.auth
                .store()
                .replace_password_hash(user_id, verified, &hash, self.auth.now())
                .await?;
            Ok::<_, AuthError>(())
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(error = %error, "password rehash failed");
        }
    }

    /// One attempt of the sign-in limits: the client network's first (so a refused
    /// network does not spend the address's allowance), then the address's. A refusal
    /// comes with the name of the limit that refused, for the audit log.
    async fn throttle_sign_in(
        &self,
        email: &Email,
        network: Option<&str>,
    ) -> Result<(), (AuthError, &'static str)> {
        if let Some(network) = network {
            self.auth
                .throttle_check(Throttle::SignInNetwork, network)
                .await
                .map_err(|e| (e, "network"))?;
        }
        self.auth
            .throttle(Throttle::SignInAccount, email.as_str())
            .await
            .map_err(|e| (e, "account"))
    }

    fn policy(&self) -> &super::PasswordPolicy {
        &self.auth.config().password.policy
    }

    fn policy_check(&self, password: &str, email: &str) -> Result<(), AuthError> {
        self.policy().check(password, email)
    }

    /// Checks a new password: the policy (length, not the address, not a common password),
    /// then the app's breach check if it plugged one in (`PASSWORD_BREACHED`). A breach
    /// check that fails lets the password through, with a warning.
    async fn vet(&self, password: &Secret, email: &str) -> Result<(), AuthError> {
        self.policy_check(password.expose(), email)?;
        let Some(check) = &self.auth.inner().breach_check else {
            return Ok(());
        };
        match super::breach::is_breached(check.as_ref(), password.expose()).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(AuthError::PasswordBreached),
            Err(error) => {
                tracing::warn!(error = %error, "password breach check failed; password accepted");
                Ok(())
            }
        }
    }

    fn hasher(&self) -> Arc<PasswordHasher> {
        Arc::clone(&self.auth.inner().hasher)
    }

    /// Argon2id hashing, in the bounded hashing pool (`OVERLOADED` when it is full).
    async fn hash(&self, password: Secret) -> Result<PasswordHash, AuthError> {
        let hasher = self.hasher();
        let random = Arc::clone(&self.auth.inner().random);
        self.auth
            .inner()
            .hash_pool
            .run(move || hasher.hash(password.expose(), random.as_ref()))
            .await?
    }

    /// Argon2id verification in the bounded hashing pool (`OVERLOADED` when it is full);
    /// with no stored hash, spends the same time on a dummy hash and reports a mismatch.
    async fn verify(
        &self,
        password: Secret,
        stored: Option<PasswordHash>,
    ) -> Result<PasswordCheck, AuthError> {
        let hasher = self.hasher();
        self.auth
            .inner()
            .hash_pool
            .run(move || match stored {
                Some(hash) => hasher.verify(password.expose(), &hash),
                None => {
                    hasher.verify_dummy(password.expose());
                    PasswordCheck::Mismatch
                }
            })
            .await
    }
}
