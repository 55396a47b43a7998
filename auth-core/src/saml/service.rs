//! `auth.saml()`: SP-initiated sign-ins with a SAML 2.0 identity provider.

use samael::schema::Assertion;
use samael::service_provider::ServiceProviderBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use url::Url;

use super::errors::{refusal_of, refuse};
use super::{metadata, request, response};
use crate::audit::{Actor, AuditEvent};
use crate::auth::Auth;
use crate::ceremonies::{Ceremony, CeremonyKind};
use crate::context::RequestMeta;
use crate::error::{AuthError, Conflict, Entity, SamlRefusal, StoreError};
use crate::ids::SsoConnectionId;
use crate::secret::{TokenHash, generate_token, is_token};
use crate::sso::{
    ExternalIdentity, ProtocolConfig, SamlConnection, SsoConnection, normalize_domain,
};
use crate::store::SsoDomain;

/// Largest `SAMLResponse` accepted (base64 text, before decoding).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Longest RelayState (the SAML bindings allow 80 bytes).
pub const MAX_RELAY_STATE: usize = 80;
/// The clock skew tolerated on NotBefore/NotOnOrAfter and the issue instant.
pub const SAML_CLOCK_SKEW: Duration = Duration::seconds(60);

/// A sign-in just started: where to send the browser.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SamlStart {
    /// The IdP's SSO URL with the deflated AuthnRequest and the RelayState
    /// (HTTP-Redirect binding).
    pub redirect_url: Url,
    /// The AuthnRequest's ID (`_` and a random token); the response's `InResponseTo`.
    pub request_id: String,
    /// When the request stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// The request record kept in the ceremony (format version 1).
#[derive(Serialize, Deserialize)]
struct RequestRecord {
    v: u8,
    connection: SsoConnectionId,
    relay_state: String,
}

/// SAML 2.0 sign-ins: `auth.saml()`.
pub struct Saml<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: SsoDomain> Auth<S> {
    /// The SAML 2.0 service provider.
    pub fn saml(&self) -> Saml<'_, S> {
        Saml { auth: self }
    }
}

/// The connection's SAML configuration (`INVALID_INPUT` for another protocol).
fn saml_config(connection: &SsoConnection) -> Result<&SamlConnection, AuthError> {
    match &connection.config {
        ProtocolConfig::Saml(config) => Ok(config),
        ProtocolConfig::Oidc(_) => Err(AuthError::invalid(
            "connection_id",
            "is not a SAML connection",
        )),
    }
}

/// The key of an assertion's replay record: the connection and the assertion's ID.
fn replay_key(connection: SsoConnectionId, assertion_id: &str) -> TokenHash {
    TokenHash::of(&format!("saml-assertion:{connection}:{assertion_id}"))
}

impl<S: SsoDomain> Saml<'_, S> {
    /// The connection with this id, which must be an active SAML connection
    /// (`SSO_CONNECTION_NOT_FOUND`, `SSO_CONNECTION_INACTIVE`, `INVALID_INPUT`).
    async fn connection(&self, id: SsoConnectionId) -> Result<SsoConnection, AuthError> {
        let connection = self
            .auth
            .store()
            .get_sso_connection(id)
            .await?
            .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
        saml_config(&connection)?;
        if !connection.is_active() {
            return Err(AuthError::SsoConnectionInactive);
        }
        Ok(connection)
    }

    /// Starts a sign-in through the SAML connection `connection_id` (active): an
    /// AuthnRequest (ID `_` + a random token, Destination = the IdP's SSO URL,
    /// AssertionConsumerServiceURL and Issuer = this SP, NameIDPolicy persistent) in an
    /// HTTP-Redirect URL with `relay_state` (at most 80 bytes, no control characters).
    /// The request is kept as a single-use ceremony ([`CeremonyKind::SamlRequest`]) bound
    /// to the connection and the RelayState, valid for
    /// [`AuthConfig::ceremony_ttl`](crate::AuthConfig::ceremony_ttl). Requests are not
    /// signed: a connection with `sign_authn_requests` is `NOT_CONFIGURED`.
    #[tracing::instrument(name = "saml.begin", skip_all, fields(connection = %connection_id))]
    pub async fn begin(
        &self,
        connection_id: SsoConnectionId,
        relay_state: Option<&str>,
    ) -> Result<SamlStart, AuthError> {
        let relay_state = relay_state.unwrap_or("");
        if relay_state.len() > MAX_RELAY_STATE || relay_state.chars().any(char::is_control) {
            return Err(AuthError::invalid(
                "relay_state",
                "must be at most 80 bytes without control characters",
            ));
        }
        let connection = self.connection(connection_id).await?;
        let config = saml_config(&connection)?;
        if config.sign_authn_requests {
            return Err(AuthError::NotConfigured(
                "signed SAML AuthnRequests are not supported yet",
            ));
        }
        let handle = generate_token(self.auth.inner().random.as_ref());
        let now = self.auth.now();
        let request_id = format!("_{}", handle.expose());
        let authn_request = request::authn_request(request_id.clone(), now, config);
        let redirect_url = request::redirect_url(&authn_request, relay_state)?;
        let record = RequestRecord {
            v: 1,
            connection: connection_id,
            relay_state: relay_state.to_owned(),
        };
        let ceremony = Ceremony {
            handle_hash: TokenHash::of(handle.expose()),
            kind: CeremonyKind::SamlRequest,
            user_id: None,
            payload: serde_json::to_value(&record)
                .map_err(|_| AuthError::internal("SAML request record"))?,
            created_at: now,
            expires_at: now + self.auth.config().ceremony_ttl,
        };
        self.auth.store().put_ceremony(&ceremony).await?;
        Ok(SamlStart {
            redirect_url,
            request_id,
            expires_at: ceremony.expires_at,
        })
    }

    /// Finishes a sign-in with the `SAMLResponse` (base64, at most
    /// [`MAX_RESPONSE_BYTES`]) and `RelayState` posted to the ACS of `connection_id`, in
    /// the browser whose flow cookie holds `bound_relay_state` (what [`Self::begin`] was
    /// given; `None`: no cookie).
    ///
    /// Verified, in order: the IdP's status (`SAML_STATUS`); an unsolicited response (no
    /// `InResponseTo`) only when the connection allows IdP-initiated sign-in
    /// (`SAML_IDP_INITIATED_REFUSED`); a solicited one only with the RelayState bound to
    /// this browser, compared in constant time (`SAML_REQUEST_UNKNOWN`: a login CSRF, where
    /// someone else's response is posted from this browser, signs nobody in and spends
    /// nothing); the signature of the response and/or the assertion
    /// against the connection's certificates only, with RSA/ECDSA SHA-256 or stronger, and
    /// only what the signature covers is read (`SAML_SIGNATURE_INVALID`); Destination and
    /// Recipient = the ACS URL (`SAML_DESTINATION_MISMATCH`); the audience = the SP entity id
    /// (`SAML_AUDIENCE_MISMATCH`); issue instant, NotBefore and NotOnOrAfter of the
    /// conditions and the bearer confirmation with [`SAML_CLOCK_SKEW`], by samael on the
    /// system clock and again on the injected clock (`SAML_EXPIRED`); the assertion's ID
    /// unused, remembered until it expires (`SAML_REPLAYED`); `InResponseTo` names a
    /// pending request of this connection with this RelayState, consumed
    /// (`SAML_REQUEST_UNKNOWN`). Malformed input is `SAML_RESPONSE_INVALID`. Each refusal
    /// is audited as `sso.saml.refused` (code and connection only).
    ///
    /// The identity: subject = the NameID unless an attribute is mapped; `email_verified`
    /// only when the address's domain is a verified domain of the connection's
    /// organization.
    #[tracing::instrument(name = "saml.finish", skip_all, fields(connection = %connection_id))]
    pub async fn finish(
        &self,
        connection_id: SsoConnectionId,
        saml_response: &str,
        relay_state: Option<&str>,
        bound_relay_state: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(SsoConnection, ExternalIdentity), AuthError> {
        let relay_state = relay_state.unwrap_or("");
        let result = self
            .finish_inner(connection_id, saml_response, relay_state, bound_relay_state)
            .await;
        if let Err(error) = &result {
            tracing::info!(code = %error.code(), "SAML response refused");
            let event =
                AuditEvent::new("sso.saml.refused", Actor::Anonymous, self.auth.now(), meta)
                    .subject("sso_connection", connection_id)
                    .detail(json!({ "code": error.code().as_str() }))
                    .failed(error);
            self.auth.record_audit(event).await;
        }
        result
    }

    async fn finish_inner(
        &self,
        connection_id: SsoConnectionId,
        saml_response: &str,
        relay_state: &str,
        bound_relay_state: Option<&str>,
    ) -> Result<(SsoConnection, ExternalIdentity), AuthError> {
        let xml = response::decode(saml_response, MAX_RESPONSE_BYTES)?;
        let envelope = response::envelope(&xml)?;
        if !envelope.succeeded() {
            return Err(refuse(SamlRefusal::Status));
        }
        let connection = self.connection(connection_id).await?;
        let config = saml_config(&connection)?;
        let in_response_to = envelope.in_response_to.as_deref();
        if in_response_to.is_none() && !config.allow_idp_initiated {
            return Err(refuse(SamlRefusal::IdpInitiatedRefused));
        }
        let bound = bound_relay_state
            .is_some_and(|bound| TokenHash::of(bound) == TokenHash::of(relay_state));
        if in_response_to.is_some() && !bound {
            return Err(refuse(SamlRefusal::RequestUnknown));
        }

        let assertion = verify(config, &xml, in_response_to)?;
        let now = self.auth.now();
        let until =
            response::check_assertion(&assertion, config, in_response_to, now, SAML_CLOCK_SKEW)?;
        self.remember(connection_id, &assertion.id, now, until)
            .await?;
        if let Some(id) = in_response_to {
            self.take_request(connection_id, id, relay_state).await?;
        }

        let mut identity = response::identity(&assertion, &config.attributes)?;
        identity.email_verified = match &identity.email {
            Some(email) => self.on_verified_domain(&connection, email).await?,
            None => false,
        };
        tracing::info!("SAML response accepted");
        Ok((connection, identity))
    }

    /// Records the assertion's ID until `until`; `SAML_REPLAYED` if it is there already
    /// (on any node: one store record, put once).
    async fn remember(
        &self,
        connection_id: SsoConnectionId,
        assertion_id: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let record = Ceremony {
            handle_hash: replay_key(connection_id, assertion_id),
            kind: CeremonyKind::SamlAssertion,
            user_id: None,
            payload: json!({ "connection": connection_id }),
            created_at: now,
            expires_at: until,
        };
        match self.auth.store().put_ceremony(&record).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(Conflict::Id)) => Err(refuse(SamlRefusal::Replayed)),
            Err(other) => Err(other.into()),
        }
    }

    /// Takes the pending request `request_id` (`_` + the ceremony's handle): it must exist,
    /// be unexpired, belong to `connection_id` and carry this RelayState.
    async fn take_request(
        &self,
        connection_id: SsoConnectionId,
        request_id: &str,
        relay_state: &str,
    ) -> Result<(), AuthError> {
        let unknown = || refuse(SamlRefusal::RequestUnknown);
        let handle = request_id
            .strip_prefix('_')
            .filter(|h| is_token(h))
            .ok_or_else(unknown)?;
        let ceremony = self
            .auth
            .store()
            .take_ceremony(CeremonyKind::SamlRequest, &TokenHash::of(handle))
            .await?
            .ok_or_else(unknown)?;
        if ceremony.is_expired(self.auth.now()) {
            return Err(unknown());
        }
        let record: RequestRecord = serde_json::from_value(ceremony.payload)
            .map_err(|_| AuthError::Store(StoreError::corrupt("SAML request record")))?;
        if record.v != 1 || record.connection != connection_id || record.relay_state != relay_state
        {
            return Err(unknown());
        }
        Ok(())
    }

    /// Whether `email`'s domain is a verified domain of the connection's organization.
    async fn on_verified_domain(
        &self,
        connection: &SsoConnection,
        email: &str,
    ) -> Result<bool, AuthError> {
        let Some(domain) = email
            .rsplit_once('@')
            .and_then(|(_, d)| normalize_domain(d).ok())
        else {
            return Ok(false);
        };
        let domains = self.auth.store().list_domains(connection.group_id).await?;
        Ok(domains
            .iter()
            .any(|d| d.is_verified() && d.domain == domain))
    }

    /// This service provider's metadata XML for the SAML connection `connection_id` (any
    /// status, so an admin can register it before activating): entity id, ACS URL with the
    /// HTTP-POST binding, NameID formats, `AuthnRequestsSigned="false"`,
    /// `WantAssertionsSigned="true"`. Public: it holds no secret.
    pub async fn sp_metadata(&self, connection_id: SsoConnectionId) -> Result<String, AuthError> {
        let connection = self
            .auth
            .store()
            .get_sso_connection(connection_id)
            .await?
            .ok_or(AuthError::NotFound(Entity::SsoConnection))?;
        metadata::sp_metadata_xml(saml_config(&connection)?)
    }
}

/// samael's verification of `xml` against the connection: signature with the connection's
/// certificates only (RSA-SHA256 and stronger, ECDSA), destination, recipient, audience,
/// times (system clock), issuer, and `InResponseTo` = `in_response_to` (unsolicited when
/// `None`: then samael checks no request id, and [`response::check_assertion`] requires
/// the assertion to name none).
fn verify(
    config: &SamlConnection,
    xml: &str,
    in_response_to: Option<&str>,
) -> Result<Assertion, AuthError> {
    use samael::crypto::AllowedSignatureAlgorithm as Alg;
    let skew = chrono::Duration::seconds(SAML_CLOCK_SKEW.whole_seconds());
    let issue_delay = chrono::Duration::seconds(response::MAX_ISSUE_AGE.whole_seconds());
    let sp = ServiceProviderBuilder::default()
        .entity_id(config.sp_entity_id.clone())
        .acs_url(config.acs_url.clone())
        .idp_metadata(metadata::idp_descriptor(config)?)
        .allow_idp_initiated(in_response_to.is_none())
        .max_clock_skew(skew)
        .max_issue_delay(issue_delay)
        .allowed_signature_algorithms(vec![
            Alg::RsaSha256,
            Alg::RsaSha384,
            Alg::RsaSha512,
            Alg::EcdsaSha256,
            Alg::EcdsaSha384,
            Alg::EcdsaSha512,
        ])
        .build()
        .map_err(|_| AuthError::internal("SAML service provider"))?;
    let ids: Vec<&str> = in_response_to.into_iter().collect();
    let possible = in_response_to.map(|_| ids.as_slice());
    sp.parse_xml_response(xml, possible).map_err(|error| {
        let refusal = refusal_of(&error);
        tracing::debug!(code = %refusal.code(), "samael refused the SAML response");
        refuse(refusal)
    })
}
