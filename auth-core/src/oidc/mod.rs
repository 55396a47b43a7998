//! OpenID Connect relying party: the protocol layer of enterprise SSO and social sign-in
//! (feature `oidc`).
//!
//! - [`OidcProvider`]: one provider's configuration (issuer, client, scopes, extra
//!   authorization parameters, claim names, clock skew), validated when built.
//! - [`Oidc`] (`auth.oidc()`): [`Oidc::begin`] starts an authorization code flow with PKCE
//!   (S256), a random `state` and `nonce`, keeping the flow in the store as a single-use
//!   ceremony ([`CeremonyKind::OidcSignIn`](crate::CeremonyKind::OidcSignIn)) keyed by the
//!   `state`, so any node finishes it; [`Oidc::finish`] takes the callback, exchanges the
//!   code and validates the ID token into a [`VerifiedIdentity`].
//! - Discovery documents and JWKS are cached per issuer in memory (TTL); an ID token naming
//!   an unknown key id refreshes the JWKS once, then is refused.
//!
//! It decides nothing about users: linking, provisioning and sessions are the SSO domain's.

mod cache;
mod http;
mod model;
mod service;

pub use http::OidcHttpConfig;
pub use model::{ClaimNames, OidcCallback, OidcProvider, OidcStart, VerifiedIdentity};
pub use service::{Oidc, OidcStats};

pub(crate) use cache::OidcRuntime;
