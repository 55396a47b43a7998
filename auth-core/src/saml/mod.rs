//! SAML 2.0 service provider: the protocol layer of enterprise SSO over SAML (feature
//! `saml`, samael with xmlsec).
//!
//! - [`Saml::begin`] (`auth.saml()`): an AuthnRequest for an active SAML connection, sent
//!   by the HTTP-Redirect binding; its ID is kept as a single-use ceremony
//!   ([`CeremonyKind::SamlRequest`](crate::CeremonyKind::SamlRequest)) so any node can
//!   take the answer.
//! - [`Saml::finish`]: the response posted to the ACS, verified (signature against the
//!   connection's certificates only, audience, destination and recipient, conditions on the
//!   injected clock, `InResponseTo`, replay) and mapped to an
//!   [`ExternalIdentity`](crate::sso::ExternalIdentity).
//! - [`Saml::sp_metadata`]: this service provider's metadata for the IdP's admin.
//!
//! It decides nothing about users: provisioning and sessions are the SSO domain's.

mod errors;
mod metadata;
mod request;
mod response;
mod service;

pub use service::{MAX_RELAY_STATE, MAX_RESPONSE_BYTES, SAML_CLOCK_SKEW, Saml, SamlStart};
