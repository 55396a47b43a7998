//! Enterprise SSO, the foundation: organizations' connections to their identity providers
//! (OpenID Connect or SAML 2.0) and the email domains they claim.
//!
//! A connection belongs to an organization (a group) and is a draft, active or disabled;
//! it becomes active only when its configuration is complete ([`Readiness`]). An OIDC
//! client secret is sealed with the app's [`SecretBox`](crate::secret::SecretBox) and never
//! returned ([`SsoConnectionView`] says only whether there is one); SAML configuration is
//! read from the IdP's metadata XML.
//!
//! A domain routes sign-ins only once verified: the organization publishes
//! `auth-rs-domain-verification=<token>` as a TXT record at `_auth-rs-challenge.<domain>`
//! and the service checks it through a [`DomainVerifier`] (or the app marks it verified);
//! one verified domain belongs to one organization. A verified domain may require SSO:
//! password and emailed-code sign-in then refuse its addresses with `SSO_REQUIRED`.
//!
//! The protocol flows (authorization code with PKCE, SAML responses) build on
//! [`Sso::route`] and keep their in-flight state in the
//! [ceremony store](crate::ceremonies).

mod identity;
mod membership;
pub(crate) mod metadata;
mod model;
#[cfg(feature = "oidc")]
mod oidc_sign_in;
mod provision;
#[cfg(feature = "saml")]
mod saml_sign_in;
mod service;
mod sign_in;
#[cfg(any(feature = "oidc", feature = "saml"))]
mod start;
mod store;
mod verifier;

pub use identity::ExternalIdentity;
pub use metadata::{IdpMetadata, MAX_METADATA_BYTES, parse_idp_metadata};
pub use model::{
    AttributeMapping, CHECK_ACTIVE, CHECK_VERIFIED_DOMAIN, ClaimMapping, ConnectionStatus,
    DOMAIN_CHALLENGE_PREFIX, DOMAIN_TXT_PREFIX, NewSsoConnection, OidcConnection, OidcInput,
    OidcView, OrgDomain, ProtocolConfig, ProtocolInput, ProtocolView, Readiness, ReadinessCheck,
    SSO_FORMAT_VERSION, SamlConnection, SamlInput, SsoConnection, SsoConnectionFilter,
    SsoConnectionOrder, SsoConnectionPatch, SsoConnectionView, SsoProtocol, SsoTarget,
    VerifyDomainOutcome,
};
#[cfg(feature = "oidc")]
pub use oidc_sign_in::SocialProvider;
pub use provision::{LinkPolicy, ProvisionOutcome};
pub use service::{MAX_DOMAINS_PER_GROUP, Sso, normalize_domain};
#[cfg(any(feature = "oidc", feature = "saml"))]
pub use start::SsoStart;
pub use store::SsoStore;
#[cfg(feature = "dns")]
pub use verifier::HickoryVerifier;
pub use verifier::{DnsError, DomainVerifier, StaticTxtRecords};
