use std::fmt;

use serde::{Deserialize, Serialize};
use time::Duration;

use super::model::{SEED_BYTES, recovery_code_hash, seed_base32};
use super::{
    ConfirmOutcome, FactorState, PutPendingOutcome, RecoveryCodes, TOTP_FORMAT_VERSION, TotpFactor,
    TotpParams, TotpStatus,
};
use crate::api_keys::RateLimit;
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::error::{AuthError, ConfigError};
use crate::secret::Secret;
use crate::sessions::{Authenticated, SignedIn};
use crate::store::TotpDomain;
use crate::throttle::Throttle;
use crate::users::User;

/// TOTP settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TotpConfig {
    /// The issuer shown in authenticator apps next to the account (the app's name), in
    /// the `otpauth://` URI. No `:`; 1 to 64 characters. Default `auth-rs`: set your own.
    pub issuer: String,
    /// How codes of new enrolments are computed (existing ones keep theirs). Default
    /// SHA-1, 6 digits, 30 s: what every authenticator app supports.
    pub params: TotpParams,
    /// Steps accepted either side of the current one, for clock drift and typing time.
    /// Default 1 (RFC 6238's recommendation); 0 to 2.
    pub skew: u8,
    /// How long an enrolment may wait for its confirming code; older pending ones are
    /// refused and purged ([`Totp::purge_pending`]). Default 1 hour.
    pub pending_ttl: Duration,
    /// Recovery codes issued at confirmation and on regeneration. Default 10; 1 to 50.
    pub recovery_codes: usize,
    /// Wrong TOTP and recovery codes allowed per account (across IPs, shared by both
    /// kinds and by confirmation), counted in the store so the limit holds across nodes;
    /// every attempt takes one unit before the code is checked, and a right code clears
    /// the account's count. Default 10 per hour (then one attempt per 6 minutes); `None`
    /// turns it off.
    pub failure_limit: Option<RateLimit>,
}

impl Default for TotpConfig {
    fn default() -> Self {
        Self {
            issuer: "auth-rs".into(),
            params: TotpParams::default(),
            skew: 1,
            pending_ttl: Duration::HOUR,
            recovery_codes: 10,
            failure_limit: Some(RateLimit {
                max: 10,
                window: Duration::HOUR,
            }),
        }
    }
}

impl TotpConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |reason| {
            Err(ConfigError::Invalid {
                setting: "totp",
                reason,
            })
        };
        let issuer_chars = self.issuer.chars().count();
        if !(1..=64).contains(&issuer_chars)
            || self.issuer.contains(':')
            || self.issuer.chars().any(char::is_control)
        {
            return invalid("issuer must be 1 to 64 characters, without ':' or controls");
        }
        if let Err(reason) = self.params.validate() {
            return invalid(reason);
        }
        if self.skew > 2 {
            return invalid("skew must be 0 to 2");
        }
        if self.pending_ttl < Duration::MINUTE || self.pending_ttl > Duration::DAY {
            return invalid("pending_ttl must be 1 minute to 1 day");
        }
        if !(1..=50).contains(&self.recovery_codes) {
            return invalid("recovery_codes must be 1 to 50");
        }
        if let Some(limit) = &self.failure_limit
            && limit.validate().is_err()
        {
            return invalid("failure_limit is out of range");
        }
        Ok(())
    }
}

/// A new enrolment, shown once: everything here reveals the seed.
pub struct TotpEnrolment {
    /// The `otpauth://totp/...` URI authenticator apps import.
    pub otpauth_uri: Secret,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: Secret,
    /// The seed in base32, for typing into an app by hand.
    pub secret_base32: Secret,
}

impl fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("otpauth_uri", &self.otpauth_uri)
            .field("qr_svg", &self.qr_svg)
            .field("secret_base32", &self.secret_base32)
            .finish()
    }
}

/// TOTP and recovery codes: `auth.totp()`.
pub struct Totp<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: TotpDomain> Auth<S> {
    /// TOTP second factors and recovery codes.
    pub fn totp(&self) -> Totp<'_, S> {
        Totp { auth: self }
    }
}

/// An audit event about the user's own factor, in their session.
fn own_event(
    action: &str,
    who: &Authenticated,
    auth_now: time::OffsetDateTime,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(action, Actor::User { id: who.user.id }, auth_now, meta)
        .subject("user", who.user.id)
        .in_session(who.session.id)
}

impl<S: TotpDomain> Totp<'_, S> {
    fn config(&self) -> &super::TotpConfig {
        &self.auth.config().totp
    }

    /// Records `event`, failed with `error` when the result is one, and passes `result` on.
    async fn audited<T>(
        &self,
        event: AuditEvent,
        result: Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let event = match &result {
            Ok(_) => event,
            Err(error) => event.failed(error),
        };
        self.auth.record_audit(event).await;
        result
    }

    /// Starts (or restarts) enrolment for the signed-in user: a new seed, stored pending
    /// (replacing a pending one), and the `otpauth://` URI (issuer from
    /// [`TotpConfig::issuer`], account the user's email), its QR code and the seed in
    /// base32. `TOTP_ALREADY_ENROLLED` if the user has a confirmed factor (disable it
    /// first). Audited as `totp.enrol`.
    #[tracing::instrument(name = "totp.enrol", skip_all)]
    pub async fn enrol(
        &self,
        who: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<TotpEnrolment, AuthError> {
        let now = self.auth.now();
        let event = own_event("totp.enrol", who, now, meta);
        let result = self.start(&who.user, now).await;
        self.audited(event, result).await
    }

    async fn start(
        &self,
        user: &User,
        now: time::OffsetDateTime,
    ) -> Result<TotpEnrolment, AuthError> {
        let config = self.config();
        if self
            .auth
            .store()
            .get_totp(user.id)
            .await?
            .is_some_and(|f| f.is_confirmed())
        {
            return Err(AuthError::TotpAlreadyEnrolled);
        }
        let mut seed = zeroize::Zeroizing::new([0u8; SEED_BYTES]);
        self.auth.inner().random.fill(seed.as_mut());
        let sealed = self.auth.secret_box().seal(
            self.auth.inner().random.as_ref(),
            seed.as_ref(),
            &TotpFactor::seal_context(user.id),
        )?;
        let factor = TotpFactor {
            user_id: user.id,
            format_version: TOTP_FORMAT_VERSION,
            seed: sealed,
            params: config.params,
            state: FactorState::Pending,
            created_at: now,
            confirmed_at: None,
            last_step: None,
            last_used_at: None,
        };
        let uri = otpauth_uri(&config.issuer, user, &config.params, seed.as_ref())?;
        let qr_svg = Secret::new(qr_svg(uri.expose())?);
        match self.auth.store().put_pending_totp(&factor).await? {
            PutPendingOutcome::Stored => {}
            _ => return Err(AuthError::TotpAlreadyEnrolled),
        }
        Ok(TotpEnrolment {
            otpauth_uri: uri,
            qr_svg,
            secret_base32: seed_base32(seed.as_ref()),
        })
    }

    /// Confirms the signed-in user's pending enrolment with a code from their app (the
    /// current step's, or one either side) and returns the recovery codes, shown once.
    /// `TOTP_NOT_ENROLLED` without a pending enrolment (or one older than
    /// [`TotpConfig::pending_ttl`]), `TOTP_ALREADY_ENROLLED` when confirmed already,
    /// `CODE_INVALID` for a wrong code, `RATE_LIMITED` past the account's limit. Audited as
    /// `totp.confirm`.
    #[tracing::instrument(name = "totp.confirm", skip_all)]
    pub async fn confirm(
        &self,
        who: &Authenticated,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<RecoveryCodes, AuthError> {
        let now = self.auth.now();
        let event = own_event("totp.confirm", who, now, meta);
        let result = self.finish(&who.user, code, now).await;
        self.audited(event, result).await
    }

    async fn finish(
        &self,
        user: &User,
        code: &str,
        now: time::OffsetDateTime,
    ) -> Result<RecoveryCodes, AuthError> {
        let key = user.id.to_string();
        self.auth.throttle(Throttle::SecondFactor, &key).await?;
        let factor = match self.auth.store().get_totp(user.id).await? {
            Some(f) if f.is_confirmed() => return Err(AuthError::TotpAlreadyEnrolled),
            Some(f) if now - f.created_at <= self.config().pending_ttl => f,
            _ => return Err(AuthError::TotpNotEnrolled),
        };
        let step = self
            .matching_step(&factor, code, now)?
            .ok_or(AuthError::CodeInvalid)?;
        let (codes, hashes) = RecoveryCodes::generate(
            self.auth.inner().random.as_ref(),
            self.config().recovery_codes,
        );
        match self
            .auth
            .store()
            .confirm_totp(user.id, &factor.seed, step, &hashes, now)
            .await?
        {
            ConfirmOutcome::Confirmed => {}
            _ => return Err(AuthError::TotpNotEnrolled),
        }
        self.auth.clear_throttle(Throttle::SecondFactor, &key).await;
        Ok(codes)
    }

    /// The step whose code `code` is, within the configured skew of `now`, for `factor`.
    fn matching_step(
        &self,
        factor: &TotpFactor,
        code: &str,
        now: time::OffsetDateTime,
    ) -> Result<Option<i64>, AuthError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let code = zeroize::Zeroizing::new(code);
        let seed = self
            .auth
            .secret_box()
            .open(&factor.seed, &TotpFactor::seal_context(factor.user_id))?;
        let params = factor.params;
        params.matching_step(&seed, &code, params.step_at(now), self.config().skew)
    }

    /// Checks a TOTP code of `user`, the second step of a sign-in (or a step-up): the
    /// code of the current step or one either side, and only of a step later than the
    /// last one accepted for the user, so a code is accepted once (also when two nodes
    /// get it at once). `TOTP_NOT_ENROLLED` without a confirmed factor, `CODE_INVALID` for
    /// a wrong or reused code, `RATE_LIMITED` past the account's limit. Audited as
    /// `totp.verify`. The caller decides what a success grants (a session, `aal2`).
    #[tracing::instrument(name = "totp.verify", skip_all)]
    pub async fn verify(
        &self,
        user: &User,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let now = self.auth.now();
        let event = AuditEvent::new(
            "totp.verify",
            meta.actor_or(Actor::User { id: user.id }),
            now,
            meta,
        )
        .subject("user", user.id);
        let result = self.check(user, code, now).await;
        let event = match &result {
            Err(_) => event,
            Ok(step) => event.detail(serde_json::json!({ "step": step })),
        };
        self.audited(event, result.map(|_| ())).await
    }

    async fn check(
        &self,
        user: &User,
        code: &str,
        now: time::OffsetDateTime,
    ) -> Result<i64, AuthError> {
        let key = user.id.to_string();
        self.auth.throttle(Throttle::SecondFactor, &key).await?;
        let factor = match self.auth.store().get_totp(user.id).await? {
            Some(f) if f.is_confirmed() => f,
            _ => return Err(AuthError::TotpNotEnrolled),
        };
        let step = self
            .matching_step(&factor, code, now)?
            .ok_or(AuthError::CodeInvalid)?;
        if !self
            .auth
            .store()
            .accept_totp_step(user.id, &factor.seed, step, now)
            .await?
        {
            // Replayed (this step or a later one was accepted already) or the factor was
            // replaced meanwhile: the same answer as a wrong code.
            return Err(AuthError::CodeInvalid);
        }
        self.auth.clear_throttle(Throttle::SecondFactor, &key).await;
        Ok(step)
    }

    /// Uses one of `user`'s recovery codes instead of a TOTP code (dashes, spaces and case
    /// do not matter). Each code works once, also under concurrent attempts. Returns how
    /// many unused codes are left. `CODE_INVALID` for a wrong or used code, `RATE_LIMITED`
    /// past the account's limit (shared with TOTP codes). Audited as `recovery_code.use`.
    #[tracing::instrument(name = "recovery_code.use", skip_all)]
    pub async fn use_recovery_code(
        &self,
        user: &User,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<u32, AuthError> {
        let now = self.auth.now();
        let event = AuditEvent::new(
            "recovery_code.use",
            meta.actor_or(Actor::User { id: user.id }),
            now,
            meta,
        )
        .subject("user", user.id);
        let result = self.consume(user, code, now).await;
        let event = match &result {
            Ok(left) => event.detail(serde_json::json!({ "left": left })),
            Err(_) => event,
        };
        self.audited(event, result).await
    }

    async fn consume(
        &self,
        user: &User,
        code: &str,
        now: time::OffsetDateTime,
    ) -> Result<u32, AuthError> {
        let key = user.id.to_string();
        self.auth.throttle(Throttle::SecondFactor, &key).await?;
        let hash = recovery_code_hash(code).ok_or(AuthError::CodeInvalid)?;
        let store = self.auth.store();
        if !store.consume_recovery_code(user.id, &hash, now).await? {
            return Err(AuthError::CodeInvalid);
        }
        self.auth.clear_throttle(Throttle::SecondFactor, &key).await;
        Ok(store.count_recovery_codes(user.id).await?)
    }

    /// Completes a sign-in's MFA challenge ([`crate::mfa`]) with a TOTP code: a new `aal2`
    /// session. Errors: those of [`Self::verify`] and of the challenge
    /// (`MFA_CHALLENGE_INVALID`, `MFA_CHALLENGE_EXPIRED`, `TOO_MANY_ATTEMPTS`).
    #[tracing::instrument(name = "totp.complete_challenge", skip_all)]
    pub async fn complete_challenge(
        &self,
        challenge: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        self.auth
            .mfa()
            .complete(challenge, "totp", meta, |user| async move {
                self.verify(&user, code, meta).await.map(|()| user)
            })
            .await
    }

    /// Completes a sign-in's MFA challenge with a recovery code (used up by it): a new
    /// `aal2` session. Errors: those of [`Self::use_recovery_code`] and of the challenge.
    #[tracing::instrument(name = "totp.complete_challenge_with_recovery_code", skip_all)]
    pub async fn complete_challenge_with_recovery_code(
        &self,
        challenge: &str,
        recovery_code: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        self.auth
            .mfa()
            .complete(challenge, "recovery_code", meta, |user| async move {
                self.use_recovery_code(&user, recovery_code, meta)
                    .await
                    .map(|_| user)
            })
            .await
    }

    /// Steps the signed-in user's session up with a TOTP code: a new `aal2` session (new id,
    /// new tokens, begun now) replaces `who`'s. For a session older than the factor, or
    /// one that must be recent ([`StepUpConfig`](crate::mfa::StepUpConfig)). Errors: those
    /// of [`Self::verify`]. Audited as `session.step_up`.
    #[tracing::instrument(name = "totp.step_up", skip_all)]
    pub async fn step_up(
        &self,
        who: &Authenticated,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let user = User::clone(&who.user);
        self.verify(&user, code, meta).await?;
        let mut replacing = meta.clone();
        replacing.presented_session = Some(who.session.token_hash);
        let done = self
            .auth
            .sessions()
            .start(user, crate::Aal::Aal2, &replacing)
            .await?;
        self.auth
            .record_audit(
                own_event("session.step_up", who, done.session.created_at, meta)
                    .in_session(done.session.id)
                    .detail(serde_json::json!({ "method": "totp", "replaced": who.session.id })),
            )
            .await;
        Ok(done)
    }

    /// Replaces the signed-in user's recovery codes (used or not) with new ones, shown
    /// once. `TOTP_NOT_ENROLLED` without a confirmed factor. A sensitive operation
    /// ([`Auth::require_step_up`]). Audited as `recovery_code.regenerate`.
    #[tracing::instrument(name = "recovery_code.regenerate", skip_all)]
    pub async fn regenerate_recovery_codes(
        &self,
        who: &Authenticated,
        meta: &RequestMeta,
    ) -> Result<RecoveryCodes, AuthError> {
        self.auth
            .require_step_up(who, "recovery_code.regenerate", meta)
            .await?;
        let now = self.auth.now();
        let event = own_event("recovery_code.regenerate", who, now, meta);
        let (codes, hashes) = RecoveryCodes::generate(
            self.auth.inner().random.as_ref(),
            self.config().recovery_codes,
        );
        let result = match self
            .auth
            .store()
            .replace_recovery_codes(who.user.id, &hashes, now)
            .await
        {
            Ok(true) => Ok(codes),
            Ok(false) => Err(AuthError::TotpNotEnrolled),
            Err(error) => Err(error.into()),
        };
        self.audited(event, result).await
    }

    /// Removes the signed-in user's TOTP factor (pending or confirmed) and their recovery
    /// codes. `TOTP_NOT_ENROLLED` if there is none. A sensitive operation
    /// ([`Auth::require_step_up`]). Audited as `totp.disable`.
    #[tracing::instrument(name = "totp.disable", skip_all)]
    pub async fn disable(&self, who: &Authenticated, meta: &RequestMeta) -> Result<(), AuthError> {
        self.auth.require_step_up(who, "totp.disable", meta).await?;
        let now = self.auth.now();
        let event = own_event("totp.disable", who, now, meta);
        let result = match self.auth.store().delete_totp(who.user.id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuthError::TotpNotEnrolled),
            Err(error) => Err(error.into()),
        };
        self.audited(event, result).await
    }

    /// The signed-in user's TOTP state: enrolled, confirmed, recovery codes left.
    pub async fn status(&self, who: &Authenticated) -> Result<TotpStatus, AuthError> {
        self.status_of(who.user.id).await
    }

    /// The TOTP state of `user_id` (for the app's own code, e.g. the MFA challenge
    /// deciding which factors a user has).
    pub async fn status_of(&self, user_id: crate::UserId) -> Result<TotpStatus, AuthError> {
        let store = self.auth.store();
        let factor = store.get_totp(user_id).await?;
        let confirmed = factor.as_ref().is_some_and(TotpFactor::is_confirmed);
        Ok(TotpStatus {
            enrolled: factor.is_some(),
            confirmed,
            confirmed_at: factor.as_ref().and_then(|f| f.confirmed_at),
            recovery_codes_left: if confirmed {
                store.count_recovery_codes(user_id).await?
            } else {
                0
            },
        })
    }

    /// Deletes pending enrolments older than [`TotpConfig::pending_ttl`] (never
    /// confirmed); returns how many. Run it with [`Auth::purge_expired`].
    pub async fn purge_pending(&self) -> Result<u64, AuthError> {
        let before = self.auth.now() - self.config().pending_ttl;
        Ok(self.auth.store().purge_pending_totp(before).await?)
    }
}

/// The `otpauth://totp/<issuer>:<account>?secret=...&issuer=...` URI. The account is the
/// user's email (its id if the address holds a `:`, which the format cannot carry).
fn otpauth_uri(
    issuer: &str,
    user: &User,
    params: &TotpParams,
    seed: &[u8],
) -> Result<Secret, AuthError> {
    let account = if user.email.as_str().contains(':') {
        user.id.to_string()
    } else {
        user.email.as_str().to_owned()
    };
    let totp = totp_rs::Builder::new()
        .with_algorithm(params.algorithm.library())
        .with_digits(params.digits)
        .with_step_duration(u64::from(params.period))
        .with_secret(seed.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|_| AuthError::internal("TOTP URI could not be built"))?;
    totp.to_url()
        .map(Secret::new)
        .map_err(|_| AuthError::internal("TOTP URI could not be built"))
}

/// `text` as a QR code (error correction M), an SVG document with a 4-module quiet zone.
fn qr_svg(text: &str) -> Result<String, AuthError> {
    use std::fmt::Write as _;
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
        .map_err(|_| AuthError::internal("TOTP URI too long for a QR code"))?;
    let border = 4;
    let size = qr.size();
    let dimension = size + border * 2;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + border, y + border);
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 {dimension} {dimension}\" \
         stroke=\"none\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <path d=\"{path}\" fill=\"black\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_is_valid_and_ranges_are_checked() {
        TotpConfig::default().validate().unwrap();
        for edit in [
            (|c: &mut TotpConfig| c.issuer = "a:b".into()) as fn(&mut TotpConfig),
            |c| c.issuer = String::new(),
            |c| c.skew = 3,
            |c| c.params.digits = 9,
            |c| c.params.period = 5,
            |c| c.recovery_codes = 0,
            |c| c.pending_ttl = Duration::seconds(1),
        ] {
            let mut config = TotpConfig::default();
            edit(&mut config);
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg =
            qr_svg("otpauth://totp/auth-rs:ada%40example.com?secret=ABC&issuer=auth-rs").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("M4,4h1v1h-1z"), "the finder pattern's corner");
    }
}
