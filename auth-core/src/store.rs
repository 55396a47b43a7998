//! What a store implements: a required core, and optional domains on top of it.
//!
//! | domain | traits | services it enables |
//! | --- | --- | --- |
//! | core (required) | [`UserStore`], [`AccountStore`], [`SessionStore`], [`VerificationStore`], [`AuditStore`], [`RateLimitStore`], [`CredentialStore`] | `users`, `accounts`, `sessions`, `password`, `email`, `audit` |
//! | organizations | core + [`GroupStore`], [`MemberStore`], [`InviteStore`] | `groups`, `members`, `invites` |
//! | API keys | organizations + [`ApiKeyStore`] (a key may belong to a group) | `api_keys` |
//! | TOTP | core + [`TotpStore`] (factors and recovery codes) | `totp` |
//! | passkeys | core + [`CeremonyStore`], [`PasskeyStore`] | `passkeys`, `ceremonies` |
//! | SSO | organizations + [`CeremonyStore`], [`SsoStore`] (connections and domains) | `sso` |
//! | SCIM | SSO + API keys + [`ScimStore`] (each connection's provisioned users and groups) | `scim` |
//!
//! Each domain is a marker trait implemented automatically for every type that implements
//! its traits; a service's accessor on [`Auth`](crate::Auth) asks for its domain, so the
//! compiler says which domain a backend still lacks. A backend starts with the core and
//! grows domain by domain; the conformance suite runs per domain.

use crate::accounts::AccountStore;
use crate::api_keys::ApiKeyStore;
use crate::audit::AuditStore;
use crate::ceremonies::CeremonyStore;
use crate::credentials::CredentialStore;
use crate::groups::GroupStore;
use crate::invites::InviteStore;
use crate::members::MemberStore;
use crate::passkeys::PasskeyStore;
use crate::rate_limit::RateLimitStore;
use crate::scim::ScimStore;
use crate::sessions::SessionStore;
use crate::sso::SsoStore;
use crate::totp::TotpStore;
use crate::users::UserStore;
use crate::verification::VerificationStore;

/// The required core: users, accounts, sessions, one-time codes, the audit log, rate
/// limits, and ending a user's credentials across the domains the store has (recovery).
/// Every store implements it; implemented automatically for any type that implements its
/// traits.
pub trait CoreStore:
    UserStore
    + AccountStore
    + SessionStore
    + VerificationStore
    + AuditStore
    + RateLimitStore
    + CredentialStore
    + Send
    + Sync
    + 'static
{
}

impl<T> CoreStore for T where
    T: UserStore
        + AccountStore
        + SessionStore
        + VerificationStore
        + AuditStore
        + RateLimitStore
        + CredentialStore
        + Send
        + Sync
        + 'static
{
}

/// The organizations domain: nested groups, members with roles, invites. Its stores
/// delete a user's memberships with the user and refuse to delete a group's last owner.
pub trait OrganizationStore: CoreStore + GroupStore + MemberStore + InviteStore {}

impl<T> OrganizationStore for T where T: CoreStore + GroupStore + MemberStore + InviteStore {}

/// The API-keys domain. Keys may belong to a group, so it builds on organizations. Its
/// stores delete a user's keys with the user and a group's keys with the group.
pub trait ApiKeyDomain: OrganizationStore + ApiKeyStore {}

impl<T> ApiKeyDomain for T where T: OrganizationStore + ApiKeyStore {}

/// The TOTP domain: second factors and recovery codes. Its stores delete a user's factor
/// and codes with the user, and keep them when the user's credentials are ended on
/// recovery (a second factor survives an emailed password reset).
pub trait TotpDomain: CoreStore + TotpStore {}

impl<T> TotpDomain for T where T: CoreStore + TotpStore {}
/// The passkeys domain: WebAuthn credentials and the ceremonies (single-use, TTL'd flow
/// state) they need. Its stores delete a user's passkeys with the user, and keep them
/// through a password reset.
pub trait PasskeyDomain: CoreStore + CeremonyStore + PasskeyStore {}

impl<T> PasskeyDomain for T where T: CoreStore + CeremonyStore + PasskeyStore {}

/// The SSO domain: organizations' identity-provider connections and verified domains, and
/// the ceremonies (single-use, TTL'd flow state) the OIDC and SAML round trips need. Its
/// stores delete a group's connections and domains with the group, and answer
/// [`CredentialStore::sso_required`] from the
/// verified domains.
pub trait SsoDomain: OrganizationStore + CeremonyStore + SsoStore {}

impl<T> SsoDomain for T where T: OrganizationStore + CeremonyStore + SsoStore {}

/// The SCIM domain: the users and groups each connection's directory provisioned, over
/// the SSO domain (SCIM is set up per connection) and API keys (deprovisioning ends a
/// user's keys in the organization). Its stores delete a connection's records with the
/// connection, a user's with the user and a group's with the group.
pub trait ScimDomain: SsoDomain + ApiKeyDomain + ScimStore {}

impl<T> ScimDomain for T where T: SsoDomain + ApiKeyDomain + ScimStore {}

/// Every domain at once: what a complete storage adapter implements (`auth-memory`,
/// `auth-sqlx`). Grows as domains are added, so code that needs only some domains should
/// ask for those ([`CoreStore`], [`OrganizationStore`], ...).
pub trait Store: ApiKeyDomain + TotpDomain + PasskeyDomain + SsoDomain + ScimDomain {}

impl<T> Store for T where T: ApiKeyDomain + TotpDomain + PasskeyDomain + SsoDomain + ScimDomain {}
