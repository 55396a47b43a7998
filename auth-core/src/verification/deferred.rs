//! The request path's side of the outbox: the flows that must not reveal whether an
//! address has an account take the same mail limit and hand the outbox one delivery for
//! every address; the delivery does the rest (storing a code, mailing) off the path.

use super::{Delivery, Notice, Purpose};
use crate::api_keys::RateLimitStore;
use crate::audit::AuditEvent;
use crate::auth::Auth;
use crate::error::AuthError;
use crate::ids::UserId;
use crate::passwords::SignUpOutcome;
use crate::users::User;
use crate::validate::Email;
use crate::verification::VerificationStore;

impl<S: VerificationStore + RateLimitStore + 'static> Auth<S> {
    /// Hands `delivery` to the outbox, or (when `send` is false: an address without an
    /// account, or over its mail limit) a delivery that sends nothing, so the request path
    /// does the same work either way.
    pub(crate) async fn hand_to_outbox(&self, send: bool, delivery: impl FnOnce() -> Delivery) {
        let delivery = if send {
            delivery()
        } else {
            Delivery::nothing()
        };
        self.inner().outbox.submit(delivery).await;
    }

    /// The deferred work of [`Self::send_verification`] after its limit: storing the code
    /// and mailing it, off the request path; failures are logged.
    pub(crate) fn verification_delivery(
        &self,
        purpose: Purpose,
        email: Email,
        user_id: Option<UserId>,
    ) -> Delivery
    where
        S: Send + Sync,
    {
        let auth = self.clone();
        Delivery::new(async move {
            if let Err(error) = auth.issue_verification(purpose, &email, user_id).await {
                // The mailer's reason, scrubbed of the code and link by `issue_verification`.
                let reason = std::error::Error::source(&error)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                tracing::error!(
                    error = %error,
                    reason,
                    purpose = purpose.as_str(),
                    "email not delivered"
                );
            }
        })
    }

    /// Hands a [`Notice`] to the outbox: it is delivered off the request path.
    pub(crate) async fn send_notice(&self, notice: Notice) {
        self.hand_to_outbox(true, || self.notice_delivery(notice))
            .await;
    }

    /// The deferred delivery of a [`Notice`]; failures are logged.
    pub(crate) fn notice_delivery(&self, notice: Notice) -> Delivery {
        let mailer = std::sync::Arc::clone(&self.inner().mailer);
        Delivery::new(async move {
            if let Err(error) = mailer.notify(notice).await {
                tracing::error!(error = %error, "notice not delivered");
            }
        })
    }

    /// Takes the mail limit of `(purpose, email)` for a flow that answers the same whether
    /// or not it sends: `Ok(false)` when spent (logged, not reported).
    pub(crate) async fn mail_allowed(
        &self,
        purpose: Purpose,
        email: &Email,
    ) -> Result<bool, AuthError> {
        match self.take_mail_limit(purpose, email).await {
            Ok(()) => Ok(true),
            Err(AuthError::RateLimited { .. }) => {
                tracing::warn!(
                    purpose = purpose.as_str(),
                    "email not sent: too many for this address lately"
                );
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }

    /// Enumeration-safe sign-up of a taken address (by password or passkey): the answer a
    /// new address gets (a pending verification, with the user that was not stored), after
    /// the same work; the address's owner gets a [`Notice::SignUpAttempted`] instead.
    /// `event` (a `user.sign_up`) is audited as refused with `EMAIL_IN_USE`.
    pub(crate) async fn answer_taken_address(
        &self,
        user: User,
        event: AuditEvent,
    ) -> Result<SignUpOutcome, AuthError> {
        self.record_audit(event.failed(&AuthError::EmailInUse))
            .await;
        let allowed = self.mail_allowed(Purpose::VerifyEmail, &user.email).await?;
        self.hand_to_outbox(allowed, || {
            self.notice_delivery(Notice::SignUpAttempted {
                to: user.email.clone(),
            })
        })
        .await;
        Ok(SignUpOutcome::VerificationRequired(user))
    }
}
