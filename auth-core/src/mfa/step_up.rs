//! Step-up: sensitive operations (removing a factor, changing the password or email,
//! creating an API key, deleting the account) ask more of a session than other requests:
//! an `aal2` session when the user holds a second factor, and, when configured, a session
//! begun recently. The check runs in the services, so every adapter gets it; the
//! `require_aal2` and `require_recent_sign_in` guards of `auth-axum` do the same for an
//! app's own routes.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::context::RequestMeta;
use crate::credentials::CredentialStore;
use crate::error::AuthError;
use crate::sessions::{Aal, Authenticated};

/// What a sensitive operation asks of the session performing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUpConfig {
    /// A user who holds a second factor performs sensitive operations from an `aal2`
    /// session only (`MFA_REQUIRED` otherwise: sign in again with the factor). Default
    /// `true`.
    #[serde(default = "default_true")]
    pub require_aal2: bool,
    /// Sensitive operations need a session begun within this long
    /// (`REAUTHENTICATION_REQUIRED` otherwise: sign in again). Default `None` (no limit);
    /// 1 minute to 1 day.
    #[serde(default)]
    pub max_age: Option<Duration>,
}

fn default_true() -> bool {
    true
}

impl Default for StepUpConfig {
    fn default() -> Self {
        Self {
            require_aal2: true,
            max_age: None,
        }
    }
}

impl StepUpConfig {
    /// Checks the bounds; names the field that is out of them.
    pub(crate) fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self
            .max_age
            .is_some_and(|age| age < Duration::MINUTE || age > Duration::DAY)
        {
            return Err(("step_up.max_age", "must be between 1 minute and 1 day"));
        }
        Ok(())
    }
}

impl<S: CredentialStore + 'static> Auth<S> {
    /// Refuses a sensitive `action` (an audit action name, e.g. `user.password_change`)
    /// from `session` unless it meets [`StepUpConfig`]: `MFA_REQUIRED` for an `aal1`
    /// session of a user who holds a second factor, `REAUTHENTICATION_REQUIRED` for a
    /// session older than `max_age`. A refusal is audited as `action` failed, with
    /// `step_up` in its detail.
    pub async fn require_step_up(
        &self,
        session: &Authenticated,
        action: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let Some(error) = self.step_up_refusal(session).await? else {
            return Ok(());
        };
        let event = AuditEvent::new(
            action,
            Actor::User {
                id: session.user.id,
            },
            self.now(),
            meta,
        )
        .subject("user", session.user.id)
        .in_session(session.session.id)
        .detail(serde_json::json!({ "step_up": true }))
        .failed(&error);
        self.record_audit(event).await;
        Err(error)
    }

    /// What [`Self::require_step_up`] would refuse `session` with, without auditing (for
    /// a service that audits the operation's refusal itself).
    pub(crate) async fn step_up_refusal(
        &self,
        session: &Authenticated,
    ) -> Result<Option<AuthError>, AuthError> {
        let config = &self.config().step_up;
        if config.require_aal2
            && session.session.aal == Aal::Aal1
            && self.store().second_factors(session.user.id).await?.any()
        {
            return Ok(Some(AuthError::MfaRequired));
        }
        let stale = config
            .max_age
            .is_some_and(|age| self.now() - session.session.created_at > age);
        Ok(stale.then_some(AuthError::ReauthenticationRequired))
    }
}
