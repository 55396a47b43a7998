//! # auth-core
//!
//! The identity domain of a pluggable authentication library: users, accounts (password,
//! emailed codes, linked identities), sessions with refresh-token rotation, one-time codes
//! and links, and the audit log — as services over async storage traits. No HTTP and no
//! SQL: storage adapters (`auth-memory`, `auth-sqlx`, your own) implement the traits, and
//! web adapters (`auth-axum`) call the services.
//!
//! ```
//! use auth_core::{Auth, RecordingMailer, RequestMeta, Secret, SecretKey, SignUp, SignUpOutcome};
//! # async fn demo<S: auth_core::Store>(store: S) -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Auth::builder(store)
//!     .secret_key(SecretKey::generate())
//!     .mailer(RecordingMailer::new())
//!     .build()?;
//! let meta = RequestMeta::none();
//! let SignUpOutcome::SignedIn(signed_in) = auth
//!     .password()
//!     .sign_up(
//!         SignUp {
//!             email: "ada@example.com".into(),
//!             password: Secret::new("correct horse battery staple"),
//!             name: Some("Ada".into()),
//!             extend: None,
//!         },
//!         &meta,
//!     )
//!     .await?
//! else {
//!     unreachable!("email verification is not required by default")
//! };
//! let me = auth.sessions().validate(signed_in.session_token.expose()).await?;
//! assert_eq!(me.user.email.as_str(), "ada@example.com");
//! # Ok(()) }
//! ```
//!
//! Start with [`Auth::builder`]. Each domain module has the same three parts: `model`
//! (plain data), `store` (the repository trait) and `service` (the behaviour).

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod accounts;
pub mod api_keys;
pub mod audit;
mod auth;
pub mod caller;
pub mod ceremonies;
pub mod clock;
pub mod config;
pub mod context;
pub mod credentials;
pub mod error;
mod fenced_cache;
pub mod groups;
pub mod ids;
pub mod invalidation;
pub mod invites;
pub mod maintenance;
pub mod members;
pub mod mfa;
#[cfg(feature = "oidc")]
pub mod oidc;
pub mod pagination;
pub mod passkeys;
pub mod passwords;
pub mod permissions;
pub mod rate_limit;
#[cfg(feature = "saml")]
pub mod saml;
pub mod scim;
pub mod secret;
mod serde_util;
pub mod sessions;
pub mod sso;
pub mod store;
mod throttle;
pub mod totp;
pub mod users;
pub mod validate;
pub mod verification;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use accounts::{Account, AccountStore, Provider};
pub use api_keys::{ApiKey, ApiKeyStore};
pub use audit::{Actor, AuditEvent, AuditStore};
pub use auth::{Auth, AuthBuilder};
pub use caller::Caller;
pub use ceremonies::{Ceremony, CeremonyKind, CeremonyStore};
pub use clock::{Clock, SystemClock, TestClock};
pub use config::AuthConfig;
pub use context::RequestMeta;
pub use credentials::CredentialStore;
pub use error::{
    AuthError, ConfigError, Conflict, Entity, ErrorCode, OidcRefusal, PasskeyRefusal, SamlRefusal,
    StoreError,
};
pub use groups::{Group, GroupStore};
pub use ids::{
    AccountId, ApiKeyId, AuditEventId, GroupId, InviteId, MemberId, OrgDomainId, PasskeyId,
    ScimGroupId, ScimUserId, SessionId, SsoConnectionId, UserId, VerificationId,
};
pub use invalidation::{Invalidation, InvalidationBus, InvalidationSink};
pub use invites::{Invite, InviteStore};
pub use maintenance::Purged;
pub use members::{Member, MemberStore};
pub use mfa::{MfaChallenge, SecondFactors, SignInOutcome};
pub use pagination::{Direction, ListQuery, Page, PageRequest};
pub use passkeys::{Passkey, PasskeyConfig, PasskeyStore};
pub use passwords::{SignUp, SignUpOutcome};
pub use permissions::{Permission, PermissionSet, Policy};
pub use rate_limit::RateLimitStore;
pub use scim::ScimStore;
pub use secret::{Secret, SecretKey, TokenHash};
pub use sessions::{Aal, Authenticated, Session, SessionStore, SignedIn};
pub use sso::SsoStore;
pub use store::{
    ApiKeyDomain, CoreStore, OrganizationStore, PasskeyDomain, ScimDomain, SsoDomain, Store,
    TotpDomain,
};
pub use totp::TotpStore;
pub use users::{User, UserStore};
pub use validate::{Email, EmailPolicy};
pub use verification::{
    Answer, Mailer, OutgoingEmail, Purpose, RecordingMailer, VerificationStore,
};
