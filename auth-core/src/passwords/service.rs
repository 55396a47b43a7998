use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{PasswordCheck, PasswordHasher};
use crate::accounts::{Account, AccountStore, PasswordHash, Provider, RevokeSessions};
use crate::api_keys::RateLimitStore;
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::error::{AuthError, Conflict, Entity, StoreError};
use crate::ids::UserId;
use crate::secret::Secret;
use crate::sessions::{Aal, Authenticated, SessionStore, SignedIn};
use crate::users::{User, UserStore};
use crate::validate::{self, Email};
use crate::verification::{Answer, Purpose, VerificationStore};

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
    UserStore + AccountStore + SessionStore + VerificationStore + RateLimitStore
{
}
impl<S: UserStore + AccountStore + SessionStore + VerificationStore + RateLimitStore> PasswordStore
    for S
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
    #[tracing::instrument(name = "password.sign_up", skip_all)]
    pub async fn sign_up(
        &self,
        input: SignUp,
        meta: &RequestMeta,
    ) -> Result<SignUpOutcome, AuthError> {
        let email = Email::parse_with(&input.email, &self.auth.config().email_policy)?;
        self.policy_check(input.password.expose(), email.as_str())?;
        let name = input.name.as_deref().map(validate::name).transpose()?;
        let extend = input.extend.unwrap_or_else(|| serde_json::json!({}));
        validate::extend("extend", &extend)?;
        let hash = self.hash(input.password).await?;
        let now = self.auth.now();
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
            if let Err(error) = self
                .auth
                .send_verification(Purpose::VerifyEmail, &user.email, Some(user.id))
                .await
            {
                // The user exists; they can ask for another code.
                tracing::error!(error = %error, "verification email after sign-up failed");
            }
            return Ok(SignUpOutcome::VerificationRequired(user));
        }
        let signed_in = self.auth.sessions().start(user, Aal::Aal1, meta).await?;
        Ok(SignUpOutcome::SignedIn(Box::new(signed_in)))
    }

    /// Signs in with email and password. An unknown email and a wrong password give the
    /// same `INVALID_CREDENTIALS` after the same work (one Argon2id verification), so
    /// neither the answer nor its timing reveals which addresses have accounts.
    #[tracing::instrument(name = "password.sign_in", skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: &Secret,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let email = Email::parse(email)?;
        let now = self.auth.now();
        let store = self.auth.store();
        if let Err(error) = self.throttle(&email, meta).await {
            self.auth
                .record_audit(
                    AuditEvent::new("user.sign_in", Actor::Anonymous, now, meta).failed(&error),
                )
                .await;
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
        if needs_rehash && let Some(stored) = &stored {
            self.rehash(user.id, stored, password.clone()).await;
        }
        self.auth
            .sessions()
            .sign_in(user, Aal::Aal1, "password", meta)
            .await
    }

    /// Changes the password of the signed-in user. If they have one, `current` must match;
    /// a user without one (who signed in by emailed code or link) sets one only from a
    /// session begun within [`AuthConfig::reauth_window`](crate::AuthConfig::reauth_window)
    /// (`REAUTHENTICATION_REQUIRED` otherwise), so a stolen older session cannot give
    /// itself a lasting way in. Revokes every session of the user, then starts a new one
    /// (new id, new tokens).
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
        self.policy_check(new.expose(), user.email.as_str())?;
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
            Some(current) => match self.throttle(&user.email, meta).await {
                Err(error) => Err(error),
                Ok(()) => match self.verify(current.clone(), Some(stored)).await? {
                    PasswordCheck::Match { .. } => Ok(()),
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
    /// a valid address, so it does not reveal which addresses have accounts.
    #[tracing::instrument(name = "password.forgot", skip_all)]
    pub async fn forgot(&self, email: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        if !self.auth.inner().has_mailer {
            return Err(AuthError::NotConfigured("a mailer (AuthBuilder::mailer)"));
        }
        let Some(user) = self.auth.store().get_user_by_email(&email).await? else {
            return Ok(());
        };
        if let Err(error) = self
            .auth
            .send_verification(Purpose::ResetPassword, &email, Some(user.id))
            .await
        {
            tracing::error!(error = %error, "password reset email failed");
        }
        self.auth
            .record_audit(
                AuditEvent::new(
                    "user.password_reset_requested",
                    Actor::User { id: user.id },
                    self.auth.now(),
                    meta,
                )
                .subject("user", user.id),
            )
            .await;
        Ok(())
    }

    /// Sets a new password with an emailed code or link. Revokes every session of the user;
    /// marks the email verified (the reset proved ownership). The user signs in afresh.
    #[tracing::instrument(name = "password.reset", skip_all)]
    pub async fn reset(
        &self,
        answer: Answer<'_>,
        new: &Secret,
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        // Check what can be checked before the code is spent.
        self.policy_check(new.expose(), "")?;
        let v = self
            .auth
            .check_answer(Purpose::ResetPassword, answer)
            .await?;
        let store = self.auth.store();
        let user = match v.user_id {
            Some(id) => store.get_user(id).await?,
            None => None,
        }
        .filter(|u| u.email == v.email)
        .ok_or(AuthError::CodeInvalid)?;
        self.policy_check(new.expose(), user.email.as_str())?;
        self.replace(user.id, new.clone()).await?;
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
                .subject("user", user.id),
            )
            .await;
        store
            .get_user(user.id)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))
    }

    /// Hashes and stores a new password, revoking every session of the user.
    async fn replace(&self, user_id: UserId, password: Secret) -> Result<(), AuthError> {
        let hash = self.hash(password).await?;
        let revoked = self
            .auth
            .store()
            .set_password(user_id, &hash, RevokeSessions::All, self.auth.now())
            .await?
            .ok_or(AuthError::NotFound(Entity::User))?;
        let cache = &self.auth.inner().session_cache;
        cache.evict_all(&revoked);
        cache.evict_user(user_id);
        Ok(())
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

    /// One attempt of the sign-in limit for (address, client IP).
    async fn throttle(&self, email: &Email, meta: &RequestMeta) -> Result<(), AuthError> {
        let Some(limit) = &self.auth.config().sign_in_limit else {
            return Ok(());
        };
        let ip = meta.ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let now = self.auth.now();
        let decision = self
            .auth
            .store()
            .take_rate_limit(&format!("sign_in:{email}:{ip}"), limit, now)
            .await?;
        if decision.allowed {
            Ok(())
        } else {
            Err(AuthError::RateLimited {
                retry_after: decision.reset_at - now,
            })
        }
    }

    fn policy(&self) -> &super::PasswordPolicy {
        &self.auth.config().password.policy
    }

    fn policy_check(&self, password: &str, email: &str) -> Result<(), AuthError> {
        self.policy().check(password, email)
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
