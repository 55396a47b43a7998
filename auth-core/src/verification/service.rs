use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use time::Duration;
use zeroize::Zeroizing;

use super::{AttemptReservation, LinkConsumption, OutgoingEmail, Purpose, Verification};
use crate::accounts::{Account, AccountStore};
use crate::api_keys::RateLimitStore;
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::config::VerificationConfig;
use crate::context::RequestMeta;
use crate::credentials::CredentialStore;
use crate::error::{AuthError, Conflict, Entity, StoreError};
use crate::ids::{UserId, VerificationId};
use crate::invalidation::Invalidation;
use crate::mfa::SignInOutcome;
use crate::secret::{Keyring, Random, Secret, TokenHash, generate_token, is_token};
use crate::sessions::SessionStore;
use crate::throttle::{Throttle, purpose_key};
use crate::users::{User, UserPatch, UserStore};
use crate::validate::Email;
use crate::verification::VerificationStore;

/// What the code key is derived for.
const CODE_KEY_PURPOSE: &str = "verification-code hmac-sha256";

/// Makes and checks numeric codes: HMAC-SHA256 under a key derived from the app key, so a
/// leaked database does not reveal codes (a 6-digit code's plain hash is brute-forced at once).
/// Codes are made under the primary key and checked under every key of the ring, so a key
/// rotation does not void the codes already mailed.
pub(crate) struct CodeChecker {
    /// Derived from the primary key: makes new codes' hashes.
    key: Zeroizing<[u8; 32]>,
    /// Derived from the retired keys: still check the codes made before a rotation.
    retired: Vec<Zeroizing<[u8; 32]>>,
    digits: u32,
    ttl: Duration,
    max_attempts: u32,
}

impl CodeChecker {
    pub(crate) fn new(keys: &Keyring, config: &VerificationConfig) -> Self {
        Self {
            key: keys.primary().1.derive(CODE_KEY_PURPOSE),
            retired: keys
                .retired()
                .map(|key| key.derive(CODE_KEY_PURPOSE))
                .collect(),
            digits: config.code_digits,
            ttl: config.ttl,
            max_attempts: config.max_attempts,
        }
    }

    /// A uniformly random code of `digits` decimal digits.
    fn generate(&self, random: &dyn Random) -> Secret {
        let modulus = 10u64.pow(self.digits);
        // Rejection sampling: drop the top sliver of u64 values that would bias the modulo.
        let zone = u64::MAX - (u64::MAX % modulus);
        loop {
            let mut bytes = [0u8; 8];
            random.fill(&mut bytes);
            let n = u64::from_le_bytes(bytes);
            if n < zone {
                let width = self.digits as usize;
                return Secret::new(format!("{:0width$}", n % modulus));
            }
        }
    }

    /// The hash stored for a new code: under the primary key.
    fn hash(&self, id: VerificationId, code: &str) -> TokenHash {
        Self::hash_under(&self.key, id, code)
    }

    /// Whether `code` is the one hashed into `stored`, under any key of the ring (each one
    /// tried, and compared in constant time).
    fn matches(&self, id: VerificationId, code: &str, stored: &TokenHash) -> bool {
        self.retired
            .iter()
            .fold(self.hash(id, code) == *stored, |found, key| {
                found | (Self::hash_under(key, id, code) == *stored)
            })
    }

    fn hash_under(key: &[u8; 32], id: VerificationId, code: &str) -> TokenHash {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(id.as_uuid().as_bytes());
        mac.update(b":");
        mac.update(code.as_bytes());
        TokenHash::from_bytes(mac.finalize().into_bytes().into())
    }

    /// Whether `code` has the shape of a code we issue (all digits, right length).
    fn well_formed(&self, code: &str) -> bool {
        code.len() == self.digits as usize && code.bytes().all(|b| b.is_ascii_digit())
    }
}

impl<S: VerificationStore + RateLimitStore + 'static> Auth<S> {
    /// Issues a code and link for `(email, purpose)`, replacing any unused one, and hands
    /// them to the mailer. `RATE_LIMITED` when the address got too many of these lately.
    pub(crate) async fn send_verification(
        &self,
        purpose: Purpose,
        email: &Email,
        user_id: Option<UserId>,
    ) -> Result<(), AuthError> {
        if !self.inner().has_mailer {
            return Err(AuthError::NotConfigured("a mailer (AuthBuilder::mailer)"));
        }
        self.take_mail_limit(purpose, email).await?;
        self.issue_verification(purpose, email, user_id).await
    }

    /// One unit of the mail limit of `(purpose, email)`: `RATE_LIMITED` when spent.
    pub(crate) async fn take_mail_limit(
        &self,
        purpose: Purpose,
        email: &Email,
    ) -> Result<(), AuthError> {
        self.throttle(Throttle::Mail, &purpose_key(purpose, email))
            .await
    }

    /// Stores a new code and link for `(email, purpose)`, replacing any unused one, and
    /// hands them to the mailer (no limit taken: the caller took it).
    pub(super) async fn issue_verification(
        &self,
        purpose: Purpose,
        email: &Email,
        user_id: Option<UserId>,
    ) -> Result<(), AuthError> {
        let inner = self.inner();
        let now = self.now();
        let id = VerificationId::new();
        let code = inner.codes.generate(inner.random.as_ref());
        let link_token = generate_token(inner.random.as_ref());
        let verification = Verification {
            id,
            purpose,
            email: email.clone(),
            user_id,
            code_hash: inner.codes.hash(id, code.expose()),
            link_hash: TokenHash::of(link_token.expose()),
            attempts: 0,
            max_attempts: inner.codes.max_attempts,
            created_at: now,
            expires_at: now + inner.codes.ttl,
            consumed_at: None,
        };
        self.store().replace_verification(&verification).await?;
        // Kept to scrub from the mailer's error, should it quote the message.
        let quoted = [
            Zeroizing::new(code.expose().to_owned()),
            Zeroizing::new(link_token.expose().to_owned()),
        ];
        inner
            .mailer
            .send(OutgoingEmail {
                to: email.clone(),
                purpose,
                code,
                link_token,
                expires_at: verification.expires_at,
            })
            .await
            .map_err(|error| {
                AuthError::DeliveryFailed(super::mailer::scrubbed(
                    error,
                    &[quoted[0].as_str(), quoted[1].as_str()],
                ))
            })
    }

    /// Checks a typed code, counting the attempt first (against the code, then against
    /// the address and purpose across codes), and consumes it if right. A refusal by the
    /// cross-code limit is `RATE_LIMITED` and audited; a right code clears that count.
    pub(crate) async fn check_code(
        &self,
        email: &Email,
        purpose: Purpose,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Verification, AuthError> {
        let codes = &self.inner().codes;
        let code = code.trim();
        if !codes.well_formed(code) {
            return Err(AuthError::CodeInvalid);
        }
        let now = self.now();
        let reserved = match self
            .store()
            .reserve_code_attempt(email, purpose, now)
            .await?
        {
            AttemptReservation::Reserved(v) => v,
            AttemptReservation::NoneActive => return Err(AuthError::CodeInvalid),
            AttemptReservation::Expired => return Err(AuthError::CodeExpired),
            AttemptReservation::Exhausted => return Err(AuthError::TooManyAttempts),
        };
        let failures_key = purpose_key(purpose, email);
        if let Err(error) = self.throttle(Throttle::CodeFailures, &failures_key).await {
            let mut event = AuditEvent::new("verification.code", Actor::Anonymous, now, meta)
                .detail(serde_json::json!({ "purpose": purpose.as_str() }))
                .failed(&error);
            if let Some(user_id) = reserved.user_id {
                event = event.subject("user", user_id);
            }
            self.record_audit(event).await;
            return Err(error);
        }
        if !codes.matches(reserved.id, code, &reserved.code_hash) {
            return Err(AuthError::CodeInvalid);
        }
        if !self.store().consume_verification(reserved.id, now).await? {
            return Err(AuthError::CodeInvalid);
        }
        self.clear_throttle(Throttle::CodeFailures, &failures_key)
            .await;
        Ok(reserved)
    }

    /// Checks a link token and consumes it.
    pub(crate) async fn check_link(
        &self,
        purpose: Purpose,
        token: &str,
    ) -> Result<Verification, AuthError> {
        if !is_token(token) {
            return Err(AuthError::CodeInvalid);
        }
        match self
            .store()
            .consume_link(purpose, &TokenHash::of(token), self.now())
            .await?
        {
            LinkConsumption::Consumed(v) => Ok(v),
            LinkConsumption::Expired => Err(AuthError::CodeExpired),
            LinkConsumption::Unknown => Err(AuthError::CodeInvalid),
        }
    }
}

/// Email verification and passwordless sign-in: `auth.email()`.
pub struct EmailFlows<'a, S> {
    auth: &'a Auth<S>,
}

/// The store traits the email flows need.
pub trait EmailFlowStore:
    VerificationStore + UserStore + SessionStore + AccountStore + RateLimitStore + CredentialStore
{
}
impl<
    S: VerificationStore + UserStore + SessionStore + AccountStore + RateLimitStore + CredentialStore,
> EmailFlowStore for S
{
}

impl<S: EmailFlowStore + 'static> Auth<S> {
    /// Email verification and passwordless sign-in.
    pub fn email(&self) -> EmailFlows<'_, S> {
        EmailFlows { auth: self }
    }
}

/// A typed code with its address, or a link token: the two ways to answer an email.
/// `Debug` shows the address, never the code or token.
#[derive(Clone, Copy)]
pub enum Answer<'a> {
    /// The numeric code, typed in, for this email address.
    Code {
        /// The address the code was sent to.
        email: &'a str,
        /// The code.
        code: &'a str,
    },
    /// The token from the emailed link.
    Link(&'a str),
}

impl std::fmt::Debug for Answer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Code { email, .. } => f
                .debug_struct("Code")
                .field("email", email)
                .field("code", &"<redacted>")
                .finish(),
            Answer::Link(_) => f.write_str("Link(<redacted>)"),
        }
    }
}

impl<S: VerificationStore + RateLimitStore + 'static> Auth<S> {
    /// Checks an [`Answer`] for `purpose` and consumes it.
    pub(crate) async fn check_answer(
        &self,
        purpose: Purpose,
        answer: Answer<'_>,
        meta: &RequestMeta,
    ) -> Result<Verification, AuthError> {
        match answer {
            Answer::Code { email, code } => {
                let email = Email::parse(email)?;
                self.check_code(&email, purpose, code, meta).await
            }
            Answer::Link(token) => self.check_link(purpose, token).await,
        }
    }
}

impl<S: EmailFlowStore + 'static> EmailFlows<'_, S> {
    /// Sends a verification code and link to the user's address. Does nothing if it is
    /// verified already. A mailer failure is `DELIVERY_FAILED`.
    #[tracing::instrument(name = "email.send_verification", skip_all, fields(user = %user_id))]
    pub async fn send_verification(
        &self,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let user = self
            .auth
            .store()
            .get_user(user_id)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))?;
        if user.email_verified {
            return Ok(());
        }
        let result = self
            .auth
            .send_verification(Purpose::VerifyEmail, &user.email, Some(user.id))
            .await;
        self.audit("email.verification_sent", user.id, meta, &result)
            .await;
        result
    }

    /// Verifies the user's email address with a code or link; returns the updated user.
    #[tracing::instrument(name = "email.verify", skip_all)]
    pub async fn verify(&self, answer: Answer<'_>, meta: &RequestMeta) -> Result<User, AuthError> {
        let v = self
            .auth
            .check_answer(Purpose::VerifyEmail, answer, meta)
            .await?;
        let user_id = v.user_id.ok_or(AuthError::CodeInvalid)?;
        let store = self.auth.store();
        // The address may have changed since the code was sent; then nothing is verified.
        if !store
            .mark_email_verified(user_id, &v.email, self.auth.now())
            .await?
        {
            return Err(AuthError::CodeInvalid);
        }
        self.auth.invalidate(&[Invalidation::User(user_id)]).await;
        let result: Result<(), AuthError> = Ok(());
        self.audit("email.verified", user_id, meta, &result).await;
        store
            .get_user(user_id)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))
    }

    /// Sends a sign-in code and link. Always succeeds for a valid address, whether or not
    /// it has an account, so it does not reveal which addresses do; unknown addresses get
    /// nothing unless passwordless sign-up is on. The request path does the same work for
    /// every address (a lookup, a unit of the address's mail limit, one delivery handed to
    /// the [`Outbox`](super::Outbox), one audit event); storing the code and the mailer's
    /// time are off it.
    #[tracing::instrument(name = "email.send_sign_in_code", skip_all)]
    pub async fn send_sign_in_code(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        // Before the lookup: known and unknown addresses get the same answer.
        if !self.auth.inner().has_mailer {
            return Err(AuthError::NotConfigured("a mailer (AuthBuilder::mailer)"));
        }
        // The domain's organization requires SSO: no code is sent (a domain-wide answer,
        // the same for every address of the domain).
        self.auth
            .refuse_if_sso_required(&email, "email.sign_in_code_requested", "email", meta)
            .await?;
        let user = self.auth.store().get_user_by_email(&email).await?;
        // A code that would create a user needs passwordless sign-up, and an address the
        // email policy allows; refused silently, like an unknown address.
        let config = self.auth.config();
        let may_sign_in = user.is_some()
            || (config.passwordless_sign_up && config.email_policy.check(&email).is_ok());
        let allowed = self.auth.mail_allowed(Purpose::SignIn, &email).await?;
        let user_id = user.as_ref().map(|u| u.id);
        self.auth
            .hand_to_outbox(may_sign_in && allowed, || {
                self.auth
                    .verification_delivery(Purpose::SignIn, email, user_id)
            })
            .await;
        let actor = user_id.map_or(Actor::Anonymous, |id| Actor::User { id });
        self.auth
            .record_audit(AuditEvent::new(
                "email.sign_in_code_requested",
                actor,
                self.auth.now(),
                meta,
            ))
            .await;
        Ok(())
    }

    /// Signs in with an emailed code or link. Proves ownership of the address, so it marks
    /// it verified; with passwordless sign-up on, creates the user on first sign-in.
    ///
    /// The first proof of an unverified account's address takes the account from whoever
    /// set it up before (anyone may sign up with any address while verification is not
    /// required): it removes the password and linked identities, and ends every session and
    /// (with [`AuthConfig::recovery_ends_credentials`](crate::AuthConfig), the default) the
    /// API keys the user owns, in one store call, audited as `user.credentials_ended`. The
    /// owner then sets a password of their own from the new session. A user who holds a
    /// second factor gets [`SignInOutcome::MfaRequired`] instead of a session.
    #[tracing::instrument(name = "email.sign_in", skip_all)]
    pub async fn sign_in(
        &self,
        answer: Answer<'_>,
        meta: &RequestMeta,
    ) -> Result<SignInOutcome, AuthError> {
        let v = match self.auth.check_answer(Purpose::SignIn, answer, meta).await {
            Ok(v) => v,
            Err(error) => {
                let event =
                    AuditEvent::new("user.sign_in", Actor::Anonymous, self.auth.now(), meta)
                        .detail(serde_json::json!({ "method": "email" }))
                        .failed(&error);
                self.auth.record_audit(event).await;
                return Err(error);
            }
        };
        // A code sent before the domain began to require SSO does not sign in either.
        self.auth
            .refuse_if_sso_required(&v.email, "user.sign_in", "email", meta)
            .await?;
        let store = self.auth.store();
        let now = self.auth.now();
        let user = match store.get_user_by_email(&v.email).await? {
            Some(user) if user.email_verified => user,
            Some(user) => {
                self.auth
                    .end_credentials(user.id, true, "email_sign_in", meta)
                    .await?;
                store.mark_email_verified(user.id, &user.email, now).await?;
                // The user's cached sessions still say "unverified".
                self.auth.invalidate(&[Invalidation::User(user.id)]).await;
                User {
                    email_verified: true,
                    ..user
                }
            }
            None if self.auth.config().passwordless_sign_up => {
                self.create_passwordless_user(v.email.clone(), now).await?
            }
            None => return Err(AuthError::CodeInvalid),
        };
        // The owner proved the address: password guesses made meanwhile no longer hold
        // them up.
        self.auth
            .clear_throttle(Throttle::SignInAccount, user.email.as_str())
            .await;
        self.auth
            .mfa()
            .sign_in_or_challenge(user, "email", meta)
            .await
    }

    /// Asks to move the signed-in user's account to `new_email`: sends a code and link to
    /// the NEW address; nothing changes until [`Self::confirm_email_change`]. A session
    /// only (`FORBIDDEN` for keys and the app, which sets an address directly with
    /// `users().update`); `EMAIL_IN_USE` if another account has the address;
    /// `INVALID_INPUT` if it is the user's own already. A sensitive operation
    /// ([`Auth::require_step_up`]).
    #[tracing::instrument(name = "email.request_change", skip_all)]
    pub async fn request_email_change(
        &self,
        caller: &Caller,
        new_email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let result = self.request_change(caller, new_email).await;
        let mut event = AuditEvent::by("email.change_requested", caller, self.auth.now(), meta);
        if let Some(user_id) = caller.user_id() {
            event = event.subject("user", user_id);
        }
        if let Err(error) = &result {
            event = event.failed(error);
        }
        self.auth.record_audit(event).await;
        result
    }

    async fn request_change(&self, caller: &Caller, new_email: &str) -> Result<(), AuthError> {
        let Some(session) = caller.session() else {
            return Err(AuthError::Forbidden(
                "a change of address is asked for by the signed-in user".into(),
            ));
        };
        if let Some(error) = self.auth.step_up_refusal(session).await? {
            return Err(error);
        }
        let new_email = Email::parse_with(new_email, &self.auth.config().email_policy)?;
        let user = self
            .auth
            .store()
            .get_user(session.user.id)
            .await?
            .ok_or(AuthError::NotFound(Entity::User))?;
        if user.email == new_email {
            return Err(AuthError::invalid("email", "is your address already"));
        }
        if self
            .auth
            .store()
            .get_user_by_email(&new_email)
            .await?
            .is_some()
        {
            return Err(AuthError::EmailInUse);
        }
        self.auth
            .send_verification(Purpose::ChangeEmail, &new_email, Some(user.id))
            .await
    }

    /// Confirms a change of address with the code (and the NEW address) or the link sent
    /// by [`Self::request_email_change`]: the address is replaced and marked verified in
    /// one store write (`EMAIL_IN_USE` if another account took it meanwhile), the user's
    /// cached sessions see it at once, and the old address gets a [`Notice`]. Returns the
    /// updated user.
    ///
    /// [`Notice`]: super::Notice
    #[tracing::instrument(name = "email.confirm_change", skip_all)]
    pub async fn confirm_email_change(
        &self,
        answer: Answer<'_>,
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        let v = match self
            .auth
            .check_answer(Purpose::ChangeEmail, answer, meta)
            .await
        {
            Ok(v) => v,
            Err(error) => {
                let event = AuditEvent::new(
                    "email.changed",
                    meta.actor_or(Actor::Anonymous),
                    self.auth.now(),
                    meta,
                )
                .failed(&error);
                self.auth.record_audit(event).await;
                return Err(error);
            }
        };
        let user_id = v.user_id.ok_or(AuthError::CodeInvalid)?;
        let store = self.auth.store();
        let now = self.auth.now();
        let old = store
            .get_user(user_id)
            .await?
            .ok_or(AuthError::CodeInvalid)?;
        let patch = UserPatch {
            email: Some(v.email.clone()),
            email_verified: Some(true),
            ..UserPatch::default()
        };
        let result = match store.update_user(user_id, &patch, now).await {
            Ok(Some(user)) => Ok(user),
            // Deleted since the code was sent.
            Ok(None) => Err(AuthError::CodeInvalid),
            Err(error) => Err(AuthError::from(error)),
        };
        let mut event = AuditEvent::new(
            "email.changed",
            meta.actor_or(Actor::User { id: user_id }),
            now,
            meta,
        )
        .subject("user", user_id);
        if let Err(error) = &result {
            event = event.failed(error);
        }
        self.auth.record_audit(event).await;
        let user = result?;
        self.auth.invalidate(&[Invalidation::User(user_id)]).await;
        if old.email != user.email {
            let notice = super::Notice::EmailChanged {
                to: old.email,
                new: user.email.clone(),
            };
            self.auth.send_notice(notice).await;
        }
        Ok(user)
    }

    async fn create_passwordless_user(
        &self,
        email: Email,
        now: time::OffsetDateTime,
    ) -> Result<User, AuthError> {
        let user = User {
            id: UserId::new(),
            email,
            email_verified: true,
            name: None,
            image: None,
            extend: serde_json::json!({}),
            created_at: now,
            updated_at: now,
        };
        let account = Account::email(user.id, now);
        match self.auth.store().create_user(&user, &[account]).await {
            Ok(()) => Ok(user),
            // Created concurrently by another sign-in with the same address.
            Err(StoreError::Conflict(Conflict::UserEmail)) => self
                .auth
                .store()
                .get_user_by_email(&user.email)
                .await?
                .ok_or(AuthError::CodeInvalid),
            Err(other) => Err(other.into()),
        }
    }

    async fn audit(
        &self,
        action: &str,
        user_id: UserId,
        meta: &RequestMeta,
        result: &Result<(), AuthError>,
    ) {
        let mut event = AuditEvent::new(
            action,
            meta.actor_or(Actor::User { id: user_id }),
            self.auth.now(),
            meta,
        )
        .subject("user", user_id);
        if let Err(error) = result {
            event = event.failed(error);
        }
        self.auth.record_audit(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{OsRandom, SecretKey};

    fn checker(digits: u32) -> CodeChecker {
        let config = VerificationConfig {
            code_digits: digits,
            ..VerificationConfig::default()
        };
        CodeChecker::new(&Keyring::single(SecretKey::generate()), &config)
    }

    #[test]
    fn codes_have_the_configured_digits() {
        for digits in [6, 8, 10] {
            let c = checker(digits);
            for _ in 0..50 {
                let code = c.generate(&OsRandom);
                assert!(c.well_formed(code.expose()), "{:?}", code.expose());
            }
        }
    }

    #[test]
    fn code_hashes_are_keyed_and_bound_to_the_verification() {
        let a = checker(6);
        let b = checker(6);
        let id = VerificationId::new();
        assert_eq!(a.hash(id, "123456"), a.hash(id, "123456"));
        assert_ne!(a.hash(id, "123456"), a.hash(id, "123457"));
        assert_ne!(
            a.hash(id, "123456"),
            a.hash(VerificationId::new(), "123456")
        );
        assert_ne!(a.hash(id, "123456"), b.hash(id, "123456"));
    }

    #[test]
    fn codes_made_before_a_key_rotation_still_check() {
        let config = VerificationConfig::default();
        let old = SecretKey::from_bytes(&[1; 32]).unwrap();
        let new = SecretKey::from_bytes(&[2; 32]).unwrap();
        let before = CodeChecker::new(&Keyring::single(old.clone()), &config);
        let id = VerificationId::new();
        let stored = before.hash(id, "123456");

        let rotated = Keyring::single(new.clone()).with_retired(old.derived_id(), old);
        let after = CodeChecker::new(&rotated, &config);
        assert!(after.matches(id, "123456", &stored));
        assert!(!after.matches(id, "123457", &stored));
        assert_ne!(
            after.hash(id, "123456"),
            stored,
            "new codes use the new key"
        );
        // Once the old key is dropped from the ring, its codes no longer check.
        let dropped = CodeChecker::new(&Keyring::single(new), &config);
        assert!(!dropped.matches(id, "123456", &stored));
    }

    #[test]
    fn malformed_codes_are_refused_before_any_lookup() {
        let c = checker(6);
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(!c.well_formed(bad), "{bad}");
        }
    }
}
