//! Starting a sign-in through an organization's connection, whatever its protocol
//! (features `oidc`, `saml`): the target routed to an active connection, the flow started
//! by the connection's protocol, a refusal audited as `sso.sign_in`.

use std::fmt;

use time::OffsetDateTime;

use super::sign_in::refusal;
use super::{ProtocolConfig, SsoConnection, SsoTarget};
use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::secret::Secret;
use crate::store::SsoDomain;

/// A started SSO sign-in, whatever the protocol: where to send the browser.
#[non_exhaustive]
pub enum SsoStart {
    /// Send the browser to `url` (an OIDC authorization request, or a SAML AuthnRequest
    /// by the HTTP-Redirect binding).
    Redirect {
        /// The identity provider's URL with every parameter.
        url: String,
        /// The flow's handle (the OIDC `state`, the SAML `RelayState`): the HTTP layer
        /// binds it to the browser (an HttpOnly cookie) and checks the answer's against
        /// it.
        state: Secret,
        /// When the answer stops being accepted.
        expires_at: OffsetDateTime,
    },
}

impl fmt::Debug for SsoStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SsoStart::Redirect { expires_at, .. } => f
                .debug_struct("Redirect")
                .field("state", &"<redacted>")
                .field("expires_at", expires_at)
                .finish_non_exhaustive(),
        }
    }
}

impl<S: SsoDomain> super::Sso<'_, S> {
    /// Starts an enterprise sign-in: routes `target` ([`Self::route`]: an active
    /// connection) and starts the flow of the connection's protocol, its configuration
    /// complete (`SSO_CONNECTION_NOT_READY` otherwise). OIDC: the authorization code flow
    /// with `redirect_uri` (the app's callback, registered at the IdP), the address as
    /// `login_hint` when the target is one. SAML: an AuthnRequest to the IdP's SSO URL with
    /// a random RelayState (the flow's handle). A protocol this build does not include is
    /// `SSO_PROTOCOL_NOT_SUPPORTED`. Counted in the client network's
    /// [`flow_start_limit`](crate::AuthConfig::flow_start_limit) (`RATE_LIMITED`).
    /// Refusals are audited as `sso.sign_in`.
    #[tracing::instrument(name = "sso.begin_sign_in", skip_all)]
    pub async fn begin_sign_in(
        &self,
        target: &SsoTarget,
        redirect_uri: &str,
        meta: &RequestMeta,
    ) -> Result<SsoStart, AuthError> {
        let mut connection_id = None;
        let result = async {
            self.auth.throttle_flow_start(meta).await?;
            let connection = self.route(target).await?;
            connection_id = Some(connection.id);
            self.begin_with(&connection, target, redirect_uri).await
        }
        .await;
        let detail = serde_json::json!({ "connection_id": connection_id });
        self.audit_start(result, detail, meta).await
    }

    /// Starts `connection`'s protocol flow.
    #[cfg_attr(not(feature = "oidc"), allow(unused_variables))]
    async fn begin_with(
        &self,
        connection: &SsoConnection,
        target: &SsoTarget,
        redirect_uri: &str,
    ) -> Result<SsoStart, AuthError> {
        match &connection.config {
            #[cfg(feature = "oidc")]
            ProtocolConfig::Oidc(_) => self.begin_oidc(connection, target, redirect_uri).await,
            #[cfg(feature = "saml")]
            ProtocolConfig::Saml(_) => self.begin_saml(connection).await,
            #[allow(unreachable_patterns)]
            other => Err(AuthError::SsoProtocolNotSupported(
                other.protocol().as_str(),
            )),
        }
    }

    /// Passes a start through, auditing a refusal as `sso.sign_in` with `detail`.
    pub(super) async fn audit_start(
        &self,
        result: Result<SsoStart, AuthError>,
        detail: serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<SsoStart, AuthError> {
        if let Err(error) = &result {
            let event = refusal(error, detail, self.auth.now(), meta);
            self.auth.record_audit(event).await;
        }
        result
    }
}
