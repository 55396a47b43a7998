//! The TOTP domain: enrolment and confirmation, verification on the injected clock (steps,
//! the ±1 window, the replay guard across nodes), recovery codes (single use, also 20 at
//! once; regeneration), disabling, the per-account throttle, audit events, and the
//! domain's part of user deletion and recovery.

pub mod challenge;
pub mod enrolment;
pub mod recovery_codes;
pub mod verification;

use std::sync::Arc;

use crate::conformance::{Env, meta};
use crate::totp::{RecoveryCodes, TotpEnrolment};
use crate::{Authenticated, TotpDomain, User};

/// A signed-up user, their session, and the environment's TOTP parameters.
pub(crate) struct Enrolled {
    pub(crate) who: Arc<Authenticated>,
    pub(crate) enrolment: TotpEnrolment,
}

impl Enrolled {
    pub(crate) fn user(&self) -> &User {
        &self.who.user
    }

    /// The code of the step `offset` steps from the clock's current one, computed by
    /// totp-rs from the `otpauth://` URI the user was given (as their app would).
    pub(crate) fn code<S: TotpDomain + Clone>(&self, env: &Env<S>, offset: i64) -> String {
        code_from_uri(self.enrolment.otpauth_uri.expose(), env, offset)
    }

    /// A code of none of the steps accepted now (the clock's and one either side).
    pub(crate) fn wrong_code<S: TotpDomain + Clone>(&self, env: &Env<S>) -> String {
        let accepted: Vec<String> = (-1..=1).map(|offset| self.code(env, offset)).collect();
        (0..)
            .map(|n| format!("{n:06}"))
            .find(|code| !accepted.contains(code))
            .expect("three codes leave others")
    }
}

/// The code of the step `offset` steps from now for the app that imported `uri`.
pub(crate) fn code_from_uri<S: TotpDomain + Clone>(uri: &str, env: &Env<S>, offset: i64) -> String {
    let app = totp_rs::Totp::from_url(uri).expect("the URI is one authenticator apps import");
    let now = env.auth.now().unix_timestamp() + offset * 30;
    app.generate(u64::try_from(now).unwrap()).to_string()
}

/// Signs up `email` and starts a TOTP enrolment from their session.
pub(crate) async fn enrol<S: TotpDomain + Clone>(env: &Env<S>, email: &str) -> Enrolled {
    let signed_in = env.user(email).await;
    let caller = signed_in.caller();
    let who = Arc::new(caller.session().expect("a session").clone());
    let enrolment = env.auth.totp().enrol(&who, &meta()).await.expect("enrol");
    Enrolled { who, enrolment }
}

/// Signs up `email`, enrols and confirms TOTP; returns the recovery codes too. The clock
/// is then moved on one step, so the confirming code's step is in the past.
pub(crate) async fn confirmed<S: TotpDomain + Clone>(
    env: &Env<S>,
    email: &str,
) -> (Enrolled, RecoveryCodes) {
    let enrolled = enrol(env, email).await;
    let codes = env
        .auth
        .totp()
        .confirm(&enrolled.who, &enrolled.code(env, 0), &meta())
        .await
        .expect("the current code confirms");
    env.advance(time::Duration::seconds(30));
    (enrolled, codes)
}

/// An `aal2` session of the same user (what a completed challenge gives).
pub(crate) async fn aal2<S: TotpDomain + Clone>(
    env: &Env<S>,
    who: &crate::Authenticated,
) -> Arc<crate::Authenticated> {
    let done = env
        .auth
        .sessions()
        .start(crate::User::clone(&who.user), crate::Aal::Aal2, &meta())
        .await
        .unwrap();
    Arc::new(done.caller().session().unwrap().clone())
}
