use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{GroupId, OrgDomainId, SsoConnectionId};
use crate::pagination::{SortField, SortValue, Sortable};
use crate::secret::{SealedSecret, Secret};

/// The format version of a stored [`SsoConnection`]'s configuration. A later format gets a
/// new number and the service converts old rows, so an upgrade never strands a connection.
pub const SSO_FORMAT_VERSION: u16 = 1;

/// The TXT record name prefix a domain's verification record lives under:
/// `_auth-rs-challenge.<domain>`.
pub const DOMAIN_CHALLENGE_PREFIX: &str = "_auth-rs-challenge";

/// The text before the token in a domain's verification TXT value.
pub const DOMAIN_TXT_PREFIX: &str = "auth-rs-domain-verification=";

/// Whether a connection signs people in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConnectionStatus {
    /// Being set up: routes nobody.
    #[default]
    Draft,
    /// Signs people in.
    Active,
    /// Turned off: routes nobody.
    Disabled,
}

impl ConnectionStatus {
    /// The stable text (`draft`, `active`, `disabled`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Draft => "draft",
            ConnectionStatus::Active => "active",
            ConnectionStatus::Disabled => "disabled",
        }
    }

    /// Parses [`Self::as_str`] output.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(ConnectionStatus::Draft),
            "active" => Some(ConnectionStatus::Active),
            "disabled" => Some(ConnectionStatus::Disabled),
            _ => None,
        }
    }
}

/// The protocol of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SsoProtocol {
    /// OpenID Connect.
    Oidc,
    /// SAML 2.0.
    Saml,
}

impl SsoProtocol {
    /// The stable text (`oidc`, `saml`).
    pub const fn as_str(self) -> &'static str {
        match self {
            SsoProtocol::Oidc => "oidc",
            SsoProtocol::Saml => "saml",
        }
    }

    /// Parses [`Self::as_str`] output.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "oidc" => Some(SsoProtocol::Oidc),
            "saml" => Some(SsoProtocol::Saml),
            _ => None,
        }
    }
}

fn claim(name: &str) -> String {
    name.to_owned()
}

/// Which ID-token (or userinfo) claims carry the user's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ClaimMapping {
    /// The email claim (default `email`).
    pub email: String,
    /// The full-name claim (default `name`).
    pub name: String,
    /// The given-name claim (default `given_name`).
    pub given_name: String,
    /// The family-name claim (default `family_name`).
    pub family_name: String,
    /// The claim listing the user's IdP groups, if the IdP sends one (default `groups`).
    pub groups: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            email: claim("email"),
            name: claim("name"),
            given_name: claim("given_name"),
            family_name: claim("family_name"),
            groups: Some(claim("groups")),
        }
    }
}

/// Which SAML attributes carry the user's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AttributeMapping {
    /// The attribute holding the stable subject; `None` (the default): the assertion's
    /// `NameID`.
    pub subject: Option<String>,
    /// The email attribute (default `email`).
    pub email: String,
    /// The full-name attribute (default `name`).
    pub name: Option<String>,
    /// The given-name attribute (default `given_name`).
    pub given_name: Option<String>,
    /// The family-name attribute (default `family_name`).
    pub family_name: Option<String>,
    /// The attribute listing the user's IdP groups (default `groups`).
    pub groups: Option<String>,
}

impl Default for AttributeMapping {
    fn default() -> Self {
        Self {
            subject: None,
            email: claim("email"),
            name: Some(claim("name")),
            given_name: Some(claim("given_name")),
            family_name: Some(claim("family_name")),
            groups: Some(claim("groups")),
        }
    }
}

/// An OpenID Connect identity provider, as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcConnection {
    /// The issuer URL (discovery at `<issuer>/.well-known/openid-configuration`); empty
    /// while not configured.
    pub issuer: String,
    /// The client id registered at the IdP; empty while not configured.
    pub client_id: String,
    /// The client secret, sealed with the app's [`SecretBox`](crate::secret::SecretBox)
    /// under [`OidcConnection::secret_context`]; `None` for a public client or while not
    /// configured. Never returned by the API.
    #[serde(with = "sealed_option")]
    pub client_secret: Option<SealedSecret>,
    /// The scopes asked for (always including `openid`).
    pub scopes: Vec<String>,
    /// Extra parameters of the authorization request (`prompt`, `domain_hint`, ...).
    pub extra_params: BTreeMap<String, String>,
    /// Which claims carry which fields.
    pub claims: ClaimMapping,
}

impl OidcConnection {
    /// The context a connection's client secret is sealed under (binds it to the row).
    pub fn secret_context(id: SsoConnectionId) -> String {
        format!("sso-oidc-client-secret:{id}")
    }
}

impl fmt::Debug for OidcConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConnection")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("has_client_secret", &self.client_secret.is_some())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A SAML 2.0 identity provider, as stored: the metadata as given, and what was read from
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SamlConnection {
    /// The IdP's metadata XML, as given (empty while not configured).
    pub idp_metadata_xml: String,
    /// The IdP's entity id, from the metadata.
    pub idp_entity_id: String,
    /// The IdP's single sign-on URL (HTTP-Redirect binding, else HTTP-POST), from the
    /// metadata.
    pub sso_url: String,
    /// The IdP's signing certificates (base64 DER, as in the metadata's
    /// `X509Certificate`), the only keys a response may be signed with.
    pub signing_certificates: Vec<String>,
    /// This service provider's entity id (the audience).
    pub sp_entity_id: String,
    /// This service provider's assertion consumer service URL.
    pub acs_url: String,
    /// Which attributes carry which fields.
    pub attributes: AttributeMapping,
    /// Whether AuthnRequests are signed.
    pub sign_authn_requests: bool,
    /// Whether IdP-initiated responses (without a stored request) are accepted.
    pub allow_idp_initiated: bool,
}

impl SamlConnection {
    /// The signing certificates as DER (a certificate that is not valid base64 is left
    /// out; the service only stores valid ones).
    pub fn certificates_der(&self) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        self.signing_certificates
            .iter()
            .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
            .collect()
    }

    /// The signing certificates as PEM.
    pub fn certificates_pem(&self) -> Vec<String> {
        self.signing_certificates
            .iter()
            .map(|c| {
                let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
                let bytes = c.as_bytes();
                for line in bytes.chunks(64) {
                    pem.push_str(&String::from_utf8_lossy(line));
                    pem.push('\n');
                }
                pem.push_str("-----END CERTIFICATE-----\n");
                pem
            })
            .collect()
    }
}

/// A connection's protocol and its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum ProtocolConfig {
    /// OpenID Connect.
    Oidc(OidcConnection),
    /// SAML 2.0.
    Saml(SamlConnection),
}

impl ProtocolConfig {
    /// The protocol.
    pub fn protocol(&self) -> SsoProtocol {
        match self {
            ProtocolConfig::Oidc(_) => SsoProtocol::Oidc,
            ProtocolConfig::Saml(_) => SsoProtocol::Saml,
        }
    }
}

/// An organization's enterprise identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConnection {
    /// Its id.
    pub id: SsoConnectionId,
    /// The organization (a group) whose people it signs in.
    pub group_id: GroupId,
    /// A name for admins.
    pub name: String,
    /// Whether it signs people in.
    pub status: ConnectionStatus,
    /// The protocol and its configuration.
    pub config: ProtocolConfig,
    /// The role of members it provisions just in time (`None`: the policy's default role).
    pub default_role: Option<String>,
    /// IdP group name → role in the organization (JIT provisioning).
    pub role_mapping: BTreeMap<String, String>,
    /// App-defined JSON.
    pub extend: Value,
    /// The format version of `config` ([`SSO_FORMAT_VERSION`]).
    pub format_version: u16,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

impl SsoConnection {
    /// Whether it signs people in.
    pub fn is_active(&self) -> bool {
        self.status == ConnectionStatus::Active
    }

    /// What admins see of it: no client secret, only whether there is one.
    pub fn view(&self) -> SsoConnectionView {
        SsoConnectionView {
            id: self.id,
            group_id: self.group_id,
            name: self.name.clone(),
            status: self.status,
            config: match &self.config {
                ProtocolConfig::Oidc(o) => ProtocolView::Oidc(OidcView {
                    issuer: o.issuer.clone(),
                    client_id: o.client_id.clone(),
                    has_client_secret: o.client_secret.is_some(),
                    scopes: o.scopes.clone(),
                    extra_params: o.extra_params.clone(),
                    claims: o.claims.clone(),
                }),
                ProtocolConfig::Saml(s) => ProtocolView::Saml(s.clone()),
            },
            default_role: self.default_role.clone(),
            role_mapping: self.role_mapping.clone(),
            extend: self.extend.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// An OIDC configuration as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcView {
    /// The issuer URL.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// Whether a client secret is stored (it is never shown).
    pub has_client_secret: bool,
    /// The scopes.
    pub scopes: Vec<String>,
    /// Extra authorization parameters.
    pub extra_params: BTreeMap<String, String>,
    /// The claim mapping.
    pub claims: ClaimMapping,
}

/// A protocol configuration as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum ProtocolView {
    /// OpenID Connect.
    Oidc(OidcView),
    /// SAML 2.0.
    Saml(SamlConnection),
}

/// A connection as admins see it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoConnectionView {
    /// Its id.
    pub id: SsoConnectionId,
    /// The organization.
    pub group_id: GroupId,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: ConnectionStatus,
    /// Its protocol configuration.
    pub config: ProtocolView,
    /// The role of JIT-provisioned members.
    pub default_role: Option<String>,
    /// IdP group → role.
    pub role_mapping: BTreeMap<String, String>,
    /// App-defined JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extend: Value,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The OIDC part of a new or changed connection.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OidcInput {
    /// The issuer URL: `https://`, or `http://` on a loopback address (local test IdPs);
    /// empty while not known.
    #[serde(default)]
    pub issuer: String,
    /// The client id; empty while not known.
    #[serde(default)]
    pub client_id: String,
    /// The client secret (write-only: never returned). On an update, `None` keeps the
    /// stored one.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, format = Password, write_only)
    )]
    pub client_secret: Option<Secret>,
    /// Removes the stored client secret (a public client); wins over `client_secret`.
    #[serde(default)]
    pub clear_client_secret: bool,
    /// The scopes (default `openid email profile`; `openid` is added when missing).
    pub scopes: Option<Vec<String>>,
    /// Extra authorization parameters (not the ones the flow sets itself).
    #[serde(default)]
    pub extra_params: BTreeMap<String, String>,
    /// The claim mapping (default [`ClaimMapping::default`]).
    pub claims: Option<ClaimMapping>,
}

impl fmt::Debug for OidcInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcInput")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

/// The SAML part of a new or changed connection.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SamlInput {
    /// The IdP's metadata XML (its entity id, SSO URL and signing certificates are read
    /// from it); empty while not known.
    #[serde(default)]
    pub idp_metadata_xml: String,
    /// This service provider's entity id.
    #[serde(default)]
    pub sp_entity_id: String,
    /// This service provider's ACS URL.
    #[serde(default)]
    pub acs_url: String,
    /// The attribute mapping (default [`AttributeMapping::default`]).
    pub attributes: Option<AttributeMapping>,
    /// Whether AuthnRequests are signed.
    #[serde(default)]
    pub sign_authn_requests: bool,
    /// Whether IdP-initiated responses are accepted.
    #[serde(default)]
    pub allow_idp_initiated: bool,
}

/// The protocol part of a new or changed connection.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum ProtocolInput {
    /// OpenID Connect.
    Oidc(OidcInput),
    /// SAML 2.0.
    Saml(SamlInput),
}

/// A new connection.
#[derive(Debug, Clone, Deserialize)]
pub struct NewSsoConnection {
    /// The organization.
    pub group_id: GroupId,
    /// A name for admins.
    pub name: String,
    /// The protocol and its configuration (may be incomplete while a draft).
    pub config: ProtocolInput,
    /// The status (default draft; active only once ready).
    pub status: Option<ConnectionStatus>,
    /// The role of JIT-provisioned members (default: the policy's default role).
    pub default_role: Option<String>,
    /// IdP group → role.
    #[serde(default)]
    pub role_mapping: BTreeMap<String, String>,
    /// App-defined JSON (default `{}`).
    pub extend: Option<Value>,
}

/// A change to a connection; `None` fields stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SsoConnectionPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new status (active only once ready).
    pub status: Option<ConnectionStatus>,
    /// A new configuration. Of the same protocol, an OIDC input without a client secret
    /// keeps the stored one.
    pub config: Option<ProtocolInput>,
    /// A new default role (`Some(None)`: the policy's default).
    #[serde(default, with = "crate::serde_util::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub default_role: Option<Option<String>>,
    /// A new role mapping.
    pub role_mapping: Option<BTreeMap<String, String>>,
    /// New app-defined JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub extend: Option<Value>,
}

/// Which connections to list (always of one organization).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoConnectionFilter {
    /// The organization.
    pub group_id: GroupId,
    /// Only connections with this status.
    pub status: Option<ConnectionStatus>,
}

impl SsoConnectionFilter {
    /// Every connection of `group_id`.
    pub fn group(group_id: GroupId) -> Self {
        Self {
            group_id,
            status: None,
        }
    }
}

/// What connections are listed by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoConnectionOrder {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Name (byte-wise).
    Name,
}

impl SortField for SsoConnectionOrder {
    fn name(self) -> &'static str {
        match self {
            SsoConnectionOrder::CreatedAt => "created_at",
            SsoConnectionOrder::Name => "name",
        }
    }

    fn is_time(self) -> bool {
        matches!(self, SsoConnectionOrder::CreatedAt)
    }
}

impl Sortable<SsoConnectionOrder> for SsoConnection {
    fn sort_key(&self, field: SsoConnectionOrder) -> SortValue {
        match field {
            SsoConnectionOrder::CreatedAt => SortValue::Time(self.created_at),
            SsoConnectionOrder::Name => SortValue::Text(self.name.clone()),
        }
    }

    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Sortable<SsoConnectionOrder> for SsoConnectionView {
    fn sort_key(&self, field: SsoConnectionOrder) -> SortValue {
        match field {
            SsoConnectionOrder::CreatedAt => SortValue::Time(self.created_at),
            SsoConnectionOrder::Name => SortValue::Text(self.name.clone()),
        }
    }

    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

/// An email domain an organization claims. It routes sign-ins (and may require SSO) only
/// once verified, and one verified domain belongs to one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgDomain {
    /// Its id.
    pub id: OrgDomainId,
    /// The organization claiming it.
    pub group_id: GroupId,
    /// The domain: lowercase ASCII (IDNA), a DNS name without wildcard.
    pub domain: String,
    /// The random token the organization publishes in DNS to prove control (not a
    /// secret: it is meant to be public).
    pub verification_token: String,
    /// When control was proved (or an app admin marked it), if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub verified_at: Option<OffsetDateTime>,
    /// Whether its addresses must sign in through SSO (password and emailed-code sign-in
    /// refused with `SSO_REQUIRED`); effective once verified.
    pub require_sso: bool,
    /// Added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl OrgDomain {
    /// Whether it is verified.
    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    /// The DNS name the TXT record goes under: `_auth-rs-challenge.<domain>`.
    pub fn txt_name(&self) -> String {
        format!("{DOMAIN_CHALLENGE_PREFIX}.{}", self.domain)
    }

    /// The TXT record's value: `auth-rs-domain-verification=<token>`.
    pub fn txt_value(&self) -> String {
        format!("{DOMAIN_TXT_PREFIX}{}", self.verification_token)
    }
}

/// The result of [`SsoStore::mark_domain_verified`](super::SsoStore::mark_domain_verified).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyDomainOutcome {
    /// Verified now (or already).
    Verified(OrgDomain),
    /// No such domain.
    NotFound,
    /// Another organization verified the same domain first.
    Taken,
}

/// Where to route a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoTarget {
    /// The domain of this email address.
    Email(String),
    /// This domain.
    Domain(String),
    /// This connection.
    Connection(SsoConnectionId),
}

/// One readiness check of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadinessCheck {
    /// What is checked (`oidc.issuer`, `saml.signing_certificate`, `verified_domain`, ...).
    pub check: String,
    /// Whether it passes.
    pub ok: bool,
    /// What is wrong or missing, when it fails.
    pub detail: Option<String>,
}

/// Every readiness check of a connection (none stops the others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// The connection.
    pub connection_id: SsoConnectionId,
    /// Its status.
    pub status: ConnectionStatus,
    /// Whether every configuration check passes (it may be activated).
    pub configured: bool,
    /// Whether it routes sign-ins now: active, configured, and its organization has a
    /// verified domain (routing by connection id needs no domain).
    pub routable: bool,
    /// Every check, passed or failed.
    pub checks: Vec<ReadinessCheck>,
}

impl Readiness {
    /// The names of the failed configuration checks.
    pub fn missing(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.ok && c.check != CHECK_VERIFIED_DOMAIN && c.check != CHECK_ACTIVE)
            .map(|c| c.check.clone())
            .collect()
    }
}

/// The readiness check that the organization has a verified domain (not needed to
/// activate).
pub const CHECK_VERIFIED_DOMAIN: &str = "verified_domain";
/// The readiness check that the connection is active (not needed to activate).
pub const CHECK_ACTIVE: &str = "status_active";

/// `Option<SealedSecret>` as its text form.
mod sealed_option {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::SealedSecret;

    pub fn serialize<S: Serializer>(v: &Option<SealedSecret>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(sealed) => s.serialize_some(&sealed.to_text()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SealedSecret>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => SealedSecret::from_text(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("not a sealed secret")),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip() {
        for s in [
            ConnectionStatus::Draft,
            ConnectionStatus::Active,
            ConnectionStatus::Disabled,
        ] {
            assert_eq!(ConnectionStatus::parse(s.as_str()), Some(s));
        }
        for p in [SsoProtocol::Oidc, SsoProtocol::Saml] {
            assert_eq!(SsoProtocol::parse(p.as_str()), Some(p));
        }
        assert_eq!(ConnectionStatus::parse("nope"), None);
    }

    #[test]
    fn protocol_inputs_are_tagged_and_refuse_unknown_fields() {
        let oidc: ProtocolInput = serde_json::from_value(serde_json::json!({
            "protocol": "oidc", "issuer": "https://idp.example.com", "client_secret": "s"
        }))
        .unwrap();
        let ProtocolInput::Oidc(oidc) = oidc else {
            panic!("not OIDC")
        };
        assert_eq!(oidc.issuer, "https://idp.example.com");
        assert_eq!(
            oidc.client_secret.map(|s| s.expose().to_owned()),
            Some("s".into())
        );
        let saml: ProtocolInput =
            serde_json::from_value(serde_json::json!({ "protocol": "saml" })).unwrap();
        assert!(matches!(saml, ProtocolInput::Saml(s) if s.acs_url.is_empty()));
        for bad in [
            serde_json::json!({ "protocol": "oidc", "client_secrett": "typo" }),
            serde_json::json!({ "protocol": "saml", "issuer": "https://idp.example.com" }),
            serde_json::json!({ "protocol": "ldap" }),
            serde_json::json!({ "issuer": "https://idp.example.com" }),
        ] {
            assert!(
                serde_json::from_value::<ProtocolInput>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let patch: SsoConnectionPatch =
            serde_json::from_value(serde_json::json!({ "default_role": null })).unwrap();
        assert_eq!(patch.default_role, Some(None));
        assert!(patch.name.is_none() && patch.config.is_none());
        assert!(
            serde_json::from_value::<SsoConnectionPatch>(serde_json::json!({ "nam": "x" }))
                .is_err()
        );
    }

    #[test]
    fn txt_record_of_a_domain() {
        let d = OrgDomain {
            id: OrgDomainId::new(),
            group_id: GroupId::new(),
            domain: "example.com".into(),
            verification_token: "abc".into(),
            verified_at: None,
            require_sso: false,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(d.txt_name(), "_auth-rs-challenge.example.com");
        assert_eq!(d.txt_value(), "auth-rs-domain-verification=abc");
    }
}
