//! Signing a person in through an organization's connection, protocol checks done: the
//! address must be on one of the organization's verified domains, the person is matched
//! to a user (or provisioned), made a member, and given a session that records the
//! connection.

// Used by the protocol flows (features `oidc`, `saml`) and the conformance suite; a
// build with none of them keeps the SSO set-up only.
#![cfg_attr(
    not(any(feature = "oidc", feature = "saml", feature = "conformance")),
    allow(dead_code)
)]

use super::provision::{Claimant, LinkPolicy, ProvisionOutcome, email_of};
use super::{ExternalIdentity, SsoConnection};
use crate::accounts::Provider;
use crate::audit::{Actor, AuditEvent};
use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::ids::SsoConnectionId;
use crate::sessions::{Aal, SignedIn};
use crate::store::SsoDomain;

/// The audit action of every SSO and social sign-in, successful or refused.
pub(crate) const SIGN_IN: &str = "sso.sign_in";

/// The account provider of a connection's identities: `sso:<connection id>` (a subject
/// is unique only at its IdP, and one organization's IdP never speaks for another's).
pub(crate) fn connection_provider(id: SsoConnectionId) -> Result<Provider, AuthError> {
    Provider::new(&format!("sso:{id}"))
}

/// The audit event of a refused sign-in: anonymous, with the error's code and what is
/// known of where it came from (`detail`).
pub(crate) fn refusal(
    error: &AuthError,
    detail: serde_json::Value,
    at: time::OffsetDateTime,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(SIGN_IN, Actor::Anonymous, at, meta)
        .detail(detail)
        .failed(error)
}

/// The audit event of a successful sign-in.
pub(crate) fn success(
    signed_in: &SignedIn,
    detail: serde_json::Value,
    at: time::OffsetDateTime,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(
        SIGN_IN,
        Actor::User {
            id: signed_in.user.id,
        },
        at,
        meta,
    )
    .subject("user", signed_in.user.id)
    .in_session(signed_in.session.id)
    .detail(detail)
}

impl<S: SsoDomain> super::Sso<'_, S> {
    /// Signs in the person `identity` describes through `connection` (its protocol checks
    /// passed): refused when the connection is not active (`SSO_CONNECTION_INACTIVE`) or
    /// the address is missing or not on one of the organization's verified domains
    /// (`SSO_EMAIL_NOT_ALLOWED`); then matched to a user (the account
    /// `sso:<connection>` + subject; else the user with the address when the IdP vouches
    /// for it and that user's own address is verified, `SSO_LINK_REFUSED` otherwise; else
    /// a new user, verified when vouched for), made a member of the organization, and
    /// given an `aal1` session recording the connection. Audited as `sso.sign_in`,
    /// successful or refused.
    pub(crate) async fn sign_in_identity(
        &self,
        connection: &SsoConnection,
        identity: &ExternalIdentity,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let detail = |outcome: Option<ProvisionOutcome>| {
            serde_json::json!({
                "connection_id": connection.id,
                "group_id": connection.group_id,
                "protocol": connection.config.protocol().as_str(),
                "outcome": outcome.map(ProvisionOutcome::as_str),
            })
        };
        match self.provision(connection, identity, meta).await {
            Ok((signed_in, outcome)) => {
                let event = success(&signed_in, detail(Some(outcome)), self.auth.now(), meta);
                self.auth.record_audit(event).await;
                Ok(signed_in)
            }
            Err(error) => {
                let event = refusal(&error, detail(None), self.auth.now(), meta);
                self.auth.record_audit(event).await;
                Err(error)
            }
        }
    }

    async fn provision(
        &self,
        connection: &SsoConnection,
        identity: &ExternalIdentity,
        meta: &RequestMeta,
    ) -> Result<(SignedIn, ProvisionOutcome), AuthError> {
        if !connection.is_active() {
            return Err(AuthError::SsoConnectionInactive);
        }
        let email = email_of(identity).ok_or(AuthError::SsoEmailNotAllowed)?;
        let owned = self
            .auth
            .store()
            .list_domains(connection.group_id)
            .await?
            .iter()
            .any(|d| d.is_verified() && d.domain == email.domain());
        if !owned {
            return Err(AuthError::SsoEmailNotAllowed);
        }
        let claimant = Claimant::of(
            identity,
            connection_provider(connection.id)?,
            &email,
            LinkPolicy::VerifiedEmail,
        );
        let (user, outcome) = self.auth.match_external(&claimant, meta).await?;
        self.ensure_membership(connection, user.id, &identity.groups, meta)
            .await?;
        let signed_in = self
            .auth
            .sessions()
            .start_via(user, Aal::Aal1, Some(connection.id), meta)
            .await?;
        Ok((signed_in, outcome))
    }
}
