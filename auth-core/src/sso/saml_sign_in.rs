//! Sign-in through a SAML connection (feature `saml`): the AuthnRequest with a random
//! RelayState the HTTP layer binds to the browser, and the response posted to the
//! connection's ACS, verified by [`Saml`](crate::saml::Saml) and then provisioned like any
//! SSO sign-in.

use super::service::{config_checks, not_ready};
use super::{SsoConnection, SsoStart};
use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::ids::SsoConnectionId;
use crate::secret::generate_token;
use crate::sessions::SignedIn;
use crate::store::SsoDomain;

impl<S: SsoDomain> super::Sso<'_, S> {
    /// The SAML flow of an active connection (routed by [`Self::begin_sign_in`]).
    pub(super) async fn begin_saml(
        &self,
        connection: &SsoConnection,
    ) -> Result<SsoStart, AuthError> {
        if let Some(error) = not_ready(&config_checks(connection)) {
            return Err(error);
        }
        let relay_state = generate_token(self.auth.inner().random.as_ref());
        let started = self
            .auth
            .saml()
            .begin(connection.id, Some(relay_state.expose()))
            .await?;
        Ok(SsoStart::Redirect {
            url: started.redirect_url.into(),
            state: relay_state,
            expires_at: started.expires_at,
        })
    }

    /// Finishes a SAML sign-in with the `SAMLResponse` and `RelayState` posted to the ACS
    /// of `connection_id`, in the browser whose flow cookie holds `bound_relay_state`: the
    /// checks of [`Saml::finish`](crate::saml::Saml::finish) (audited as
    /// `sso.saml.refused`), then provisioning and a session recording the connection as
    /// for OIDC (audited as `sso.sign_in`, see `docs/sso.md`).
    #[tracing::instrument(name = "sso.finish_saml", skip_all, fields(connection = %connection_id))]
    pub async fn finish_saml(
        &self,
        connection_id: SsoConnectionId,
        saml_response: &str,
        relay_state: Option<&str>,
        bound_relay_state: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<SignedIn, AuthError> {
        let (connection, identity) = self
            .auth
            .saml()
            .finish(
                connection_id,
                saml_response,
                relay_state,
                bound_relay_state,
                meta,
            )
            .await?;
        self.sign_in_identity(&connection, &identity, meta).await
    }
}
