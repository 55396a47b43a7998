use std::future::Future;

use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::credentials::CredentialStore;
use crate::error::AuthError;
use crate::ids::{UserId, VerificationId};
use crate::secret::{Secret, TokenHash, generate_token, is_token};
use crate::sessions::SessionStore;
use crate::sessions::{Aal, SignedIn};
use crate::users::User;
use crate::users::UserStore;
use crate::verification::VerificationStore;
use crate::verification::{AttemptReservation, Purpose, Verification};

use super::model::{MfaChallenge, SignInOutcome};

/// The second-factor step of sign-in: `auth.mfa()`. The factor domains complete a
/// challenge (`auth.totp()`, `auth.passkeys()`); this service issues and checks it.
pub struct Mfa<'a, S> {
    auth: &'a Auth<S>,
}

/// The store traits the second-factor step needs (all of the core's).
pub trait MfaStore: UserStore + SessionStore + VerificationStore + CredentialStore {}
impl<S: UserStore + SessionStore + VerificationStore + CredentialStore> MfaStore for S {}

impl<S: MfaStore + 'static> Auth<S> {
    /// The second-factor step of sign-in.
    pub fn mfa(&self) -> Mfa<'_, S> {
        Mfa { auth: self }
    }
}

/// Separates the user id from the random part of a challenge token.
const SEPARATOR: char = '.';

impl<S: MfaStore + 'static> Mfa<'_, S> {
    /// Finishes a first-factor sign-in by `method` (`password`, `email`): a session when the
    /// user holds no second factor, otherwise a challenge (audited as `user.sign_in` refused
    /// with `MFA_REQUIRED`, detail `mfa_challenge`).
    pub(crate) async fn sign_in_or_challenge(
        &self,
        user: User,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<SignInOutcome, AuthError> {
        let factors = self.auth.store().second_factors(user.id).await?;
        if !factors.any() {
            let done = self
                .auth
                .sessions()
                .sign_in(user, Aal::Aal1, method, meta)
                .await?;
            return Ok(SignInOutcome::SignedIn(Box::new(done)));
        }
        let inner = self.auth.inner();
        let config = &self.auth.config().mfa;
        let now = self.auth.now();
        let random = generate_token(inner.random.as_ref());
        let token = Secret::new(format!(
            "{}{SEPARATOR}{}",
            user.id.as_uuid().simple(),
            random.expose()
        ));
        let hash = TokenHash::of(random.expose());
        let challenge = Verification {
            id: VerificationId::new(),
            purpose: Purpose::MfaChallenge,
            email: user.email.clone(),
            user_id: Some(user.id),
            // No code is typed for a challenge; the field holds the token's hash too.
            code_hash: hash,
            link_hash: hash,
            attempts: 0,
            max_attempts: config.challenge_attempts,
            created_at: now,
            expires_at: now + config.challenge_ttl,
            consumed_at: None,
        };
        self.auth.store().replace_verification(&challenge).await?;
        self.auth
            .record_audit(
                AuditEvent::new("user.sign_in", Actor::User { id: user.id }, now, meta)
                    .detail(
                        serde_json::json!({ "method": method, "mfa_challenge": factors.methods() }),
                    )
                    .failed(&AuthError::MfaRequired),
            )
            .await;
        Ok(SignInOutcome::MfaRequired(MfaChallenge {
            token,
            factors,
            expires_at: challenge.expires_at,
        }))
    }

    /// The user a live challenge names, for a factor that needs them before it can be
    /// answered (a passkey step builds its options from their passkeys, which only the
    /// token's holder may see). Counts no attempt; a refusal is audited as `mfa.challenge`
    /// with `step: start`. Errors: those of [`Self::complete`] before the factor is checked.
    pub(crate) async fn challenged_user(
        &self,
        token: &str,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        let result = self.live(token).await.map(|(user, _)| user);
        if let Err((error, user)) = &result {
            self.audit_refusal(error, *user, method, Some("start"), meta)
                .await;
        }
        result.map_err(|(error, _)| error)
    }

    /// Completes a challenge with a second factor named `method` (`totp`,
    /// `recovery_code`, `passkey`): counts one attempt against the challenge, runs
    /// `verify` on its user, and on success consumes the challenge and starts an `aal2`
    /// session (a new session id). Every outcome is audited as `mfa.challenge`. Errors:
    /// `MFA_CHALLENGE_INVALID` (unknown, used, replaced, malformed), `MFA_CHALLENGE_EXPIRED`,
    /// `TOO_MANY_ATTEMPTS` (the challenge's attempts are spent: sign in again), or
    /// `verify`'s own error.
    pub(crate) async fn complete<F, Fut>(
        &self,
        token: &str,
        method: &str,
        meta: &RequestMeta,
        verify: F,
    ) -> Result<SignedIn, AuthError>
    where
        F: FnOnce(User) -> Fut,
        Fut: Future<Output = Result<User, AuthError>>,
    {
        let result = self.try_complete(token, method, meta, verify).await;
        if let Err((error, user)) = &result {
            self.audit_refusal(error, *user, method, None, meta).await;
        }
        result.map_err(|(error, _)| error)
    }

    /// Audits a refused challenge step as `mfa.challenge` failed.
    async fn audit_refusal(
        &self,
        error: &AuthError,
        user: Option<UserId>,
        method: &str,
        step: Option<&str>,
        meta: &RequestMeta,
    ) {
        let actor = user.map_or(Actor::Anonymous, |id| Actor::User { id });
        let detail = match step {
            Some(step) => serde_json::json!({ "method": method, "step": step }),
            None => serde_json::json!({ "method": method }),
        };
        let event = AuditEvent::new("mfa.challenge", actor, self.auth.now(), meta)
            .detail(detail)
            .failed(error);
        self.auth.record_audit(event).await;
    }

    /// The user and the live challenge `token` names, checked without counting an attempt:
    /// only the token's holder spends the challenge's attempts (knowing a user id is not
    /// enough to use them up). The error comes with the user id when the token named one.
    async fn live(&self, token: &str) -> Result<(User, Verification), (AuthError, Option<UserId>)> {
        let (user_id, random) = split(token).map_err(|e| (e, None))?;
        let fail = |error: AuthError| (error, Some(user_id));
        let store = self.auth.store();
        let user = store
            .get_user(user_id)
            .await
            .map_err(|e| fail(e.into()))?
            .ok_or((AuthError::MfaChallengeInvalid, None))?;
        let challenge = store
            .active_verification(&user.email, Purpose::MfaChallenge)
            .await
            .map_err(|e| fail(e.into()))?
            .ok_or_else(|| fail(AuthError::MfaChallengeInvalid))?;
        // Constant-time comparison of the hashes (TokenHash's equality).
        if challenge.link_hash != TokenHash::of(random) || challenge.user_id != Some(user.id) {
            return Err(fail(AuthError::MfaChallengeInvalid));
        }
        if self.auth.now() >= challenge.expires_at {
            return Err(fail(AuthError::MfaChallengeExpired));
        }
        if challenge.attempts >= challenge.max_attempts {
            return Err(fail(AuthError::TooManyAttempts));
        }
        Ok((user, challenge))
    }

    /// Checks `token` ([`Self::live`]), then counts one attempt against its challenge,
    /// atomically: concurrent attempts never together exceed the challenge's limit.
    async fn reserve(
        &self,
        token: &str,
    ) -> Result<(User, Verification), (AuthError, Option<UserId>)> {
        let (user, live) = self.live(token).await?;
        let fail = |error: AuthError| (error, Some(user.id));
        let reserved = self
            .auth
            .store()
            .reserve_code_attempt(&user.email, Purpose::MfaChallenge, self.auth.now())
            .await
            .map_err(|e| fail(e.into()))?;
        match reserved {
            // The same challenge (a newer sign-in did not replace it meanwhile).
            AttemptReservation::Reserved(challenge) if challenge.id == live.id => {
                Ok((user, challenge))
            }
            AttemptReservation::Expired => Err(fail(AuthError::MfaChallengeExpired)),
            AttemptReservation::Exhausted => Err(fail(AuthError::TooManyAttempts)),
            _ => Err(fail(AuthError::MfaChallengeInvalid)),
        }
    }

    async fn try_complete<F, Fut>(
        &self,
        token: &str,
        method: &str,
        meta: &RequestMeta,
        verify: F,
    ) -> Result<SignedIn, (AuthError, Option<UserId>)>
    where
        F: FnOnce(User) -> Fut,
        Fut: Future<Output = Result<User, AuthError>>,
    {
        let (user, challenge) = self.reserve(token).await?;
        let user_id = user.id;
        let fail = |error: AuthError| (error, Some(user_id));
        let store = self.auth.store();
        let now = self.auth.now();
        let user = verify(user).await.map_err(fail)?;
        if !store
            .consume_verification(challenge.id, now)
            .await
            .map_err(|e| fail(e.into()))?
        {
            return Err(fail(AuthError::MfaChallengeInvalid));
        }
        let done = self
            .auth
            .sessions()
            .start(user, Aal::Aal2, meta)
            .await
            .map_err(fail)?;
        self.auth
            .record_audit(
                AuditEvent::new(
                    "mfa.challenge",
                    Actor::User { id: user_id },
                    done.session.created_at,
                    meta,
                )
                .in_session(done.session.id)
                .detail(serde_json::json!({ "method": method })),
            )
            .await;
        Ok(done)
    }
}

/// The user id and the random part of a challenge token; `MFA_CHALLENGE_INVALID` if it is
/// not one.
fn split(token: &str) -> Result<(UserId, &str), AuthError> {
    let (id, random) = token
        .split_once(SEPARATOR)
        .ok_or(AuthError::MfaChallengeInvalid)?;
    if id.len() != 32 || !is_token(random) {
        return Err(AuthError::MfaChallengeInvalid);
    }
    let id = uuid::Uuid::try_parse(id).map_err(|_| AuthError::MfaChallengeInvalid)?;
    Ok((UserId::from_uuid(id), random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_into_a_user_and_a_random_part() {
        let id = UserId::new();
        let random = "A".repeat(43);
        let token = format!("{}.{random}", id.as_uuid().simple());
        assert_eq!(split(&token).unwrap(), (id, random.as_str()));
        for bad in [
            "",
            ".",
            &random,
            &format!("{}.{random}", id.as_uuid()),
            &format!("{}.short", id.as_uuid().simple()),
            &format!("{}x.{random}", id.as_uuid().simple()),
            &format!("{}.{random}.", id.as_uuid().simple()),
        ] {
            assert!(
                matches!(split(bad), Err(AuthError::MfaChallengeInvalid)),
                "{bad:?}"
            );
        }
    }
}
