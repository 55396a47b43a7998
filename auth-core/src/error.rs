//! Typed errors with stable machine codes.
//!
//! [`AuthError`] is what every service returns; [`AuthError::code`] gives an
//! [`ErrorCode`] whose text (`"SESSION_EXPIRED"`, ...) never changes between releases, so
//! clients can branch on it. [`StoreError`] is what storage adapters return.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

/// A boxed error from a storage backend or a mailer, kept for logs and never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident => $text:literal,)*) => {
        /// A stable, machine-readable error code. The text form is part of the public API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$meta])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for documentation and exhaustive tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable text of the code, e.g. `"SESSION_EXPIRED"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    /// A field of the request is malformed or out of range.
    InvalidInput => "INVALID_INPUT",
    /// The email address is not valid.
    InvalidEmail => "INVALID_EMAIL",
    /// The password does not meet the password policy.
    WeakPassword => "WEAK_PASSWORD",
    /// The password is one of the most common passwords.
    PasswordTooCommon => "PASSWORD_TOO_COMMON",
    /// The password appears in a known data breach (the app's breach check).
    PasswordBreached => "PASSWORD_BREACHED",
    /// The pagination cursor is malformed or belongs to another query.
    InvalidCursor => "INVALID_CURSOR",
    /// A token has the wrong shape (never issued by this library).
    InvalidToken => "INVALID_TOKEN",
    /// Email or password is wrong (deliberately not saying which).
    InvalidCredentials => "INVALID_CREDENTIALS",
    /// The app requires a verified email address before sign-in.
    EmailNotVerified => "EMAIL_NOT_VERIFIED",
    /// Another user already has this email address.
    EmailInUse => "EMAIL_IN_USE",
    /// No valid session or credential was presented.
    NotSignedIn => "NOT_SIGNED_IN",
    /// The session passed its idle or absolute expiry.
    SessionExpired => "SESSION_EXPIRED",
    /// The session was revoked.
    SessionRevoked => "SESSION_REVOKED",
    /// The refresh token is unknown or expired.
    RefreshTokenInvalid => "REFRESH_TOKEN_INVALID",
    /// A refresh token was used twice; its whole session was revoked.
    RefreshTokenReused => "REFRESH_TOKEN_REUSED",
    /// The one-time code or link is wrong, used, or unknown.
    CodeInvalid => "CODE_INVALID",
    /// The one-time code or link expired.
    CodeExpired => "CODE_EXPIRED",
    /// Too many wrong attempts; the code is no longer accepted.
    TooManyAttempts => "TOO_MANY_ATTEMPTS",
    /// No user with that id.
    UserNotFound => "USER_NOT_FOUND",
    /// No account with that id.
    AccountNotFound => "ACCOUNT_NOT_FOUND",
    /// No session with that id (for this user).
    SessionNotFound => "SESSION_NOT_FOUND",
    /// That external identity is already linked to a user.
    AccountAlreadyLinked => "ACCOUNT_ALREADY_LINKED",
    /// Refused: it would remove the user's last way to sign in.
    LastSignInMethod => "LAST_SIGN_IN_METHOD",
    /// Refused without cascade: other records still refer to this one.
    HasDependents => "HAS_DEPENDENTS",
    /// No group with that id or slug.
    GroupNotFound => "GROUP_NOT_FOUND",
    /// No such membership.
    MemberNotFound => "MEMBER_NOT_FOUND",
    /// No invite with that id or token.
    InviteNotFound => "INVITE_NOT_FOUND",
    /// Another group has this slug.
    SlugTaken => "SLUG_TAKEN",
    /// The move would make a group its own ancestor.
    GroupCycle => "GROUP_CYCLE",
    /// The user is already a member of the group.
    DuplicateMembership => "DUPLICATE_MEMBERSHIP",
    /// A pending invite for this email and group exists.
    DuplicateInvite => "DUPLICATE_INVITE",
    /// The invite was accepted or revoked already.
    InviteNotPending => "INVITE_NOT_PENDING",
    /// The invite expired.
    InviteExpired => "INVITE_EXPIRED",
    /// The invite is for another email address (or that address is not verified).
    InviteEmailMismatch => "INVITE_EMAIL_MISMATCH",
    /// The invite's sender may no longer grant it (left the group, or lost the role or
    /// the permission to invite).
    InviteInviterUnauthorized => "INVITE_INVITER_UNAUTHORIZED",
    /// Another user joins a group by accepting an invite (their consent), unless the app
    /// allows direct adds.
    InviteRequired => "INVITE_REQUIRED",
    /// Refused: the group would be left without an owner.
    LastOwner => "LAST_OWNER",
    /// No API key with that id.
    ApiKeyNotFound => "API_KEY_NOT_FOUND",
    /// The API key is malformed, fails its checksum, or is unknown.
    ApiKeyInvalid => "API_KEY_INVALID",
    /// The API key was revoked.
    ApiKeyRevoked => "API_KEY_REVOKED",
    /// The API key expired.
    ApiKeyExpired => "API_KEY_EXPIRED",
    /// The API key cannot be rotated: it is revoked, expired, or already being replaced.
    ApiKeyNotActive => "API_KEY_NOT_ACTIVE",
    /// The API key's usage quota is used up.
    QuotaExceeded => "QUOTA_EXCEEDED",
    /// Too many requests; retry after the given delay.
    RateLimited => "RATE_LIMITED",
    /// The ceremony (a WebAuthn or other multi-step flow in progress) is unknown, was
    /// finished already (it is single use, even when the attempt failed), or is of
    /// another kind or user.
    CeremonyInvalid => "CEREMONY_INVALID",
    /// The ceremony expired before it was finished; start again.
    CeremonyExpired => "CEREMONY_EXPIRED",
    /// No passkey with that id (for this user).
    PasskeyNotFound => "PASSKEY_NOT_FOUND",
    /// The OpenID provider answered the sign-in with an error (`error=access_denied`, ...).
    OidcProviderError => "OIDC_PROVIDER_ERROR",
    /// The callback's `state` is malformed, unknown or used already (a flow is single use),
    /// or it names a flow of another provider.
    OidcStateInvalid => "OIDC_STATE_INVALID",
    /// The sign-in flow expired before the callback: start again.
    OidcFlowExpired => "OIDC_FLOW_EXPIRED",
    /// The callback's `iss` (RFC 9207) is not the flow's provider: a mix-up, refused.
    OidcIssuerMismatch => "OIDC_ISSUER_MISMATCH",
    /// The provider refused the authorization code, or its token or userinfo endpoint could
    /// not be reached or answered something unusable.
    OidcExchangeFailed => "OIDC_EXCHANGE_FAILED",
    /// The ID token (or userinfo answer) does not validate: signature, key, issuer,
    /// audience, expiry, nonce or algorithm.
    OidcTokenInvalid => "OIDC_TOKEN_INVALID",
    /// The provider's discovery document or keys could not be fetched or are unusable.
    OidcDiscoveryFailed => "OIDC_DISCOVERY_FAILED",
    /// The SAML response is malformed, too large, or not a usable response (no assertion,
    /// an encrypted one, another issuer, no bearer confirmation).
    SamlResponseInvalid => "SAML_RESPONSE_INVALID",
    /// The SAML response is unsigned, signed with a key that is not the connection's,
    /// tampered with, or signature-wrapped.
    SamlSignatureInvalid => "SAML_SIGNATURE_INVALID",
    /// The SAML assertion is for another service provider (audience).
    SamlAudienceMismatch => "SAML_AUDIENCE_MISMATCH",
    /// The SAML response was sent to another address (Destination or Recipient is not the
    /// connection's ACS URL).
    SamlDestinationMismatch => "SAML_DESTINATION_MISMATCH",
    /// The SAML assertion is not valid now (NotBefore, NotOnOrAfter, issue time).
    SamlExpired => "SAML_EXPIRED",
    /// The SAML response answers a request that is unknown, used already, expired, or of
    /// another connection.
    SamlRequestUnknown => "SAML_REQUEST_UNKNOWN",
    /// The SAML response was not asked for (IdP-initiated) and the connection does not
    /// accept those.
    SamlIdpInitiatedRefused => "SAML_IDP_INITIATED_REFUSED",
    /// The SAML assertion was used already.
    SamlReplayed => "SAML_REPLAYED",
    /// The identity provider answered with a failure status (the user was not signed in).
    SamlStatus => "SAML_STATUS",
    /// The passkey response does not verify (bad signature, tampered or malformed client
    /// data, wrong challenge, user not verified).
    PasskeyRejected => "PASSKEY_REJECTED",
    /// The response names a credential that is not registered (or not allowed here).
    PasskeyUnknownCredential => "PASSKEY_UNKNOWN_CREDENTIAL",
    /// The credential belongs to another user than the one the response (its
    /// `userHandle`) or the ceremony names.
    PasskeyUserMismatch => "PASSKEY_USER_MISMATCH",
    /// The response was made for an origin the app does not allow.
    PasskeyOriginMismatch => "PASSKEY_ORIGIN_MISMATCH",
    /// The response was made for another relying party id.
    PasskeyRpIdMismatch => "PASSKEY_RP_ID_MISMATCH",
    /// The authenticator's signature counter did not advance: the credential may have
    /// been cloned.
    PasskeyCounterRegression => "PASSKEY_COUNTER_REGRESSION",
    /// The credential is registered already (to this or another account).
    PasskeyAlreadyRegistered => "PASSKEY_ALREADY_REGISTERED",
    /// No SSO connection with that id (in this organization), or none routes this
    /// address or domain.
    SsoConnectionNotFound => "SSO_CONNECTION_NOT_FOUND",
    /// The SSO connection is not active (a draft, or disabled).
    SsoConnectionInactive => "SSO_CONNECTION_INACTIVE",
    /// The SSO connection lacks configuration it needs to be activated (see its readiness).
    SsoConnectionNotReady => "SSO_CONNECTION_NOT_READY",
    /// No such domain (in this organization).
    DomainNotFound => "DOMAIN_NOT_FOUND",
    /// Another organization verified this domain (or this one has it already).
    DomainTaken => "DOMAIN_TAKEN",
    /// The domain is not verified yet.
    DomainNotVerified => "DOMAIN_NOT_VERIFIED",
    /// The domain's DNS does not hold the expected TXT record.
    DomainVerificationFailed => "DOMAIN_VERIFICATION_FAILED",
    /// The DNS lookup for a domain verification failed; retry later.
    DnsUnavailable => "DNS_UNAVAILABLE",
    /// The address's domain signs in through its organization's SSO only: use SSO.
    SsoRequired => "SSO_REQUIRED",
    /// The identity provider's address is not on one of its organization's verified
    /// domains (or it sent none): an IdP never signs in addresses its organization does not
    /// own.
    SsoEmailNotAllowed => "SSO_EMAIL_NOT_ALLOWED",
    /// A user with this address exists and the sign-in cannot be linked to it safely (the
    /// provider did not vouch for the address, the user's own address is unverified, or
    /// the app does not link): sign in as that user and link, or ask an admin.
    SsoLinkRefused => "SSO_LINK_REFUSED",
    /// The provider did not vouch for the address (`email_verified`), which creating a
    /// user through a social provider needs.
    SsoEmailNotVerified => "SSO_EMAIL_NOT_VERIFIED",
    /// Signing in through this connection's protocol is not available (yet).
    SsoProtocolNotSupported => "SSO_PROTOCOL_NOT_SUPPORTED",
    /// A second factor is required for this action.
    MfaRequired => "MFA_REQUIRED",
    /// The organization requires a second factor and the user holds none: enrol one (the
    /// user can still enrol and leave the organization).
    MfaEnrollmentRequired => "MFA_ENROLLMENT_REQUIRED",
    /// The MFA challenge is unknown, used, replaced by a newer sign-in, or not this user's.
    MfaChallengeInvalid => "MFA_CHALLENGE_INVALID",
    /// The MFA challenge expired: sign in again.
    MfaChallengeExpired => "MFA_CHALLENGE_EXPIRED",
    /// The user has no TOTP factor (or none confirmed, for a verification).
    TotpNotEnrolled => "TOTP_NOT_ENROLLED",
    /// The user has a confirmed TOTP factor already (disable it to enrol again).
    TotpAlreadyEnrolled => "TOTP_ALREADY_ENROLLED",
    /// This action needs fresh proof that it is the user: their password, or (without
    /// one) a recent sign-in.
    ReauthenticationRequired => "REAUTHENTICATION_REQUIRED",
    /// Signed in, but not allowed to do this.
    Forbidden => "FORBIDDEN",
    /// The credential lacks the scope this action needs.
    InsufficientScope => "INSUFFICIENT_SCOPE",
    /// An email could not be handed to the mailer.
    DeliveryFailed => "DELIVERY_FAILED",
    /// The feature needs configuration the app did not give.
    NotConfigured => "NOT_CONFIGURED",
    /// The store is unreachable or overloaded; retry later.
    StoreUnavailable => "STORE_UNAVAILABLE",
    /// Too many password checks are in progress; retry in a moment.
    Overloaded => "OVERLOADED",
    /// An internal error; details are in the server log only.
    Internal => "INTERNAL",
    /// HTTP layer: the request body is not the JSON the route takes.
    InvalidBody => "INVALID_BODY",
    /// HTTP layer: the request body is larger than the configured limit.
    PayloadTooLarge => "PAYLOAD_TOO_LARGE",
    /// HTTP layer: a cookie-authenticated unsafe request came from another origin.
    CsrfRejected => "CSRF_REJECTED",
    /// HTTP layer: no route has this path.
    RouteNotFound => "NOT_FOUND",
    /// HTTP layer: the route does not take this method.
    MethodNotAllowed => "METHOD_NOT_ALLOWED",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Which kind of record a [`AuthError::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// A user.
    User,
    /// An account (a way to sign in).
    Account,
    /// A session.
    Session,
    /// A group.
    Group,
    /// A membership.
    Member,
    /// An invite.
    Invite,
    /// An API key.
    ApiKey,
    /// A passkey.
    Passkey,
    /// An SSO connection.
    SsoConnection,
    /// An organization's domain.
    Domain,
}

impl Entity {
    fn not_found_code(self) -> ErrorCode {
        match self {
            Entity::User => ErrorCode::UserNotFound,
            Entity::Account => ErrorCode::AccountNotFound,
            Entity::Session => ErrorCode::SessionNotFound,
            Entity::Group => ErrorCode::GroupNotFound,
            Entity::Member => ErrorCode::MemberNotFound,
            Entity::Invite => ErrorCode::InviteNotFound,
            Entity::ApiKey => ErrorCode::ApiKeyNotFound,
            Entity::Passkey => ErrorCode::PasskeyNotFound,
            Entity::SsoConnection => ErrorCode::SsoConnectionNotFound,
            Entity::Domain => ErrorCode::DomainNotFound,
        }
    }

    /// The entity's name in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Entity::User => "user",
            Entity::Account => "account",
            Entity::Session => "session",
            Entity::Group => "group",
            Entity::Member => "member",
            Entity::Invite => "invite",
            Entity::ApiKey => "API key",
            Entity::Passkey => "passkey",
            Entity::SsoConnection => "SSO connection",
            Entity::Domain => "domain",
        }
    }
}

/// The error of every service call. Messages never contain a secret, token, password or
/// SQL; [`AuthError::code`] is the stable part clients should match on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A request field is malformed or out of range.
    #[error("{field}: {reason}")]
    InvalidInput {
        /// The offending field.
        field: Cow<'static, str>,
        /// What is wrong with it.
        reason: Cow<'static, str>,
    },
    /// The email address is not valid.
    #[error("invalid email address: {0}")]
    InvalidEmail(&'static str),
    /// The password does not meet the policy.
    #[error("password {0}")]
    WeakPassword(Cow<'static, str>),
    /// The password is one of the most common passwords.
    #[error("password is too common; choose another")]
    PasswordTooCommon,
    /// The password appears in a known data breach.
    #[error("password appears in a known data breach; choose another")]
    PasswordBreached,
    /// The pagination cursor is malformed or belongs to another query.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A token has the wrong shape.
    #[error("malformed token")]
    InvalidToken,
    /// Email or password is wrong.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The email address must be verified first.
    #[error("email address not verified")]
    EmailNotVerified,
    /// The email address belongs to another user.
    #[error("email address already in use")]
    EmailInUse,
    /// No valid session or credential.
    #[error("not signed in")]
    NotSignedIn,
    /// The session expired.
    #[error("session expired")]
    SessionExpired,
    /// The session was revoked.
    #[error("session revoked")]
    SessionRevoked,
    /// The refresh token is unknown or expired.
    #[error("refresh token invalid or expired")]
    RefreshTokenInvalid,
    /// A refresh token was used twice; the session was revoked.
    #[error("refresh token reused; session revoked")]
    RefreshTokenReused,
    /// The one-time code or link is wrong or already used.
    #[error("code invalid or already used")]
    CodeInvalid,
    /// The one-time code or link expired.
    #[error("code expired")]
    CodeExpired,
    /// Too many wrong attempts.
    #[error("too many attempts")]
    TooManyAttempts,
    /// No such record.
    #[error("{} not found", .0.name())]
    NotFound(Entity),
    /// The external identity is already linked.
    #[error("account already linked")]
    AccountAlreadyLinked,
    /// Would remove the last way to sign in.
    #[error("cannot remove the last way to sign in")]
    LastSignInMethod,
    /// Other records still refer to this one.
    #[error("{entity} still has {dependents}; delete with cascade")]
    HasDependents {
        /// What was being deleted.
        entity: &'static str,
        /// What still refers to it, e.g. "2 sessions, 1 linked account".
        dependents: String,
    },
    /// Another group has this slug.
    #[error("slug already taken")]
    SlugTaken,
    /// The move would make a group its own ancestor.
    #[error("a group cannot be moved under itself or its descendants")]
    GroupCycle,
    /// The user is already a member.
    #[error("already a member of this group")]
    DuplicateMembership,
    /// A pending invite for this email and group exists.
    #[error("a pending invite for this email and group exists")]
    DuplicateInvite,
    /// The invite is not pending.
    #[error("invite is {0}, not pending")]
    InviteNotPending(&'static str),
    /// The invite expired.
    #[error("invite expired")]
    InviteExpired,
    /// The invite is bound to another (or an unverified) address.
    #[error("invite is for another email address, or the address is not verified")]
    InviteEmailMismatch,
    /// The invite's sender may no longer grant it.
    #[error("the invite's sender may no longer grant it")]
    InviteInviterUnauthorized,
    /// Another user joins by accepting an invite, unless the app allows direct adds.
    #[error("another user joins by accepting an invite")]
    InviteRequired,
    /// The last owner cannot be removed or demoted.
    #[error("the group's last owner cannot be removed or demoted")]
    LastOwner,
    /// The API key is malformed, fails its checksum, or is unknown.
    #[error("invalid API key")]
    ApiKeyInvalid,
    /// The API key was revoked.
    #[error("API key revoked")]
    ApiKeyRevoked,
    /// The API key expired.
    #[error("API key expired")]
    ApiKeyExpired,
    /// The API key is revoked, expired, or already being replaced, so cannot be rotated.
    #[error("API key is revoked, expired or already being replaced")]
    ApiKeyNotActive,
    /// The API key's usage quota is used up.
    #[error("usage quota exceeded")]
    QuotaExceeded {
        /// How long until the quota refills, if it does.
        retry_after: Option<time::Duration>,
    },
    /// Too many requests.
    #[error("rate limited; retry after {} s", retry_after.whole_seconds().max(1))]
    RateLimited {
        /// How long until a retry may succeed.
        retry_after: time::Duration,
    },
    /// The ceremony is unknown, finished already, or of another kind or user.
    #[error("ceremony unknown or finished already")]
    CeremonyInvalid,
    /// The ceremony expired.
    #[error("ceremony expired; start again")]
    CeremonyExpired,
    /// A passkey response was refused.
    #[error("{0}")]
    Passkey(PasskeyRefusal),
    /// The SSO connection is a draft or disabled.
    #[error("the SSO connection is not active")]
    SsoConnectionInactive,
    /// The SSO connection lacks configuration it needs to be activated.
    #[error("the SSO connection is not ready: missing {}", .missing.join(", "))]
    SsoConnectionNotReady {
        /// The readiness checks that failed.
        missing: Vec<String>,
    },
    /// Another organization verified this domain, or this one has it already.
    #[error("this domain is taken")]
    DomainTaken,
    /// The domain is not verified yet.
    #[error("the domain is not verified")]
    DomainNotVerified,
    /// The domain's DNS does not hold the expected TXT record.
    #[error("domain verification failed: {0}")]
    DomainVerificationFailed(&'static str),
    /// The DNS lookup failed; retry later.
    #[error("the DNS lookup failed; retry later")]
    DnsUnavailable,
    /// The address's domain signs in through its organization's SSO only.
    #[error("this address signs in with SSO")]
    SsoRequired,
    /// The identity provider's address is not on its organization's verified domains.
    #[error("this identity provider may not sign in this address")]
    SsoEmailNotAllowed,
    /// A user with this address exists and cannot be linked to the sign-in safely.
    #[error("an account with this address exists and cannot be linked to this sign-in")]
    SsoLinkRefused,
    /// The provider did not vouch for the address.
    #[error("the identity provider did not verify this address")]
    SsoEmailNotVerified,
    /// Signing in through this protocol is not available.
    #[error("signing in through {0} connections is not supported yet")]
    SsoProtocolNotSupported(&'static str),
    /// An OpenID Connect sign-in was refused.
    #[error("{0}")]
    Oidc(OidcRefusal),
    /// A SAML response was refused.
    #[error("{0}")]
    Saml(SamlRefusal),
    /// A second factor is required.
    #[error("a second factor is required")]
    MfaRequired,
    /// The organization requires a second factor the user does not hold.
    #[error("this organization requires a second factor: enrol one")]
    MfaEnrollmentRequired,
    /// The MFA challenge is unknown, used, replaced, or not this user's.
    #[error("invalid or used MFA challenge")]
    MfaChallengeInvalid,
    /// The MFA challenge expired.
    #[error("the MFA challenge expired; sign in again")]
    MfaChallengeExpired,
    /// No TOTP factor (or none confirmed, for a verification; or the pending one expired).
    #[error("TOTP is not enrolled")]
    TotpNotEnrolled,
    /// A confirmed TOTP factor exists already.
    #[error("TOTP is already enrolled")]
    TotpAlreadyEnrolled,
    /// Fresh proof of identity is required (the password, or a recent sign-in).
    #[error("sign in again (or give your password) to do this")]
    ReauthenticationRequired,
    /// Not allowed.
    #[error("forbidden: {0}")]
    Forbidden(Cow<'static, str>),
    /// The credential lacks a scope.
    #[error("insufficient scope: requires {required}")]
    InsufficientScope {
        /// The scope required, `resource:action`.
        required: String,
    },
    /// The mailer refused the message.
    #[error("email delivery failed")]
    DeliveryFailed(#[source] BoxError),
    /// The app did not configure what this needs.
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
    /// Every password-hashing worker is busy and the wait queue is full
    /// ([`HashingLimits`](crate::passwords::HashingLimits)); retry in a moment.
    #[error("too many sign-ins in progress; retry in a moment")]
    Overloaded,
    /// The store failed. (A store's `Conflict` and `MissingReference` become the typed
    /// errors they stand for when converted with `From`.)
    #[error(transparent)]
    Store(StoreError),
    /// An internal error.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl AuthError {
    /// The stable machine code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::InvalidInput { .. } => ErrorCode::InvalidInput,
            AuthError::InvalidEmail(_) => ErrorCode::InvalidEmail,
            AuthError::WeakPassword(_) => ErrorCode::WeakPassword,
            AuthError::PasswordTooCommon => ErrorCode::PasswordTooCommon,
            AuthError::PasswordBreached => ErrorCode::PasswordBreached,
            AuthError::InvalidCursor => ErrorCode::InvalidCursor,
            AuthError::InvalidToken => ErrorCode::InvalidToken,
            AuthError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AuthError::EmailNotVerified => ErrorCode::EmailNotVerified,
            AuthError::EmailInUse => ErrorCode::EmailInUse,
            AuthError::NotSignedIn => ErrorCode::NotSignedIn,
            AuthError::SessionExpired => ErrorCode::SessionExpired,
            AuthError::SessionRevoked => ErrorCode::SessionRevoked,
            AuthError::RefreshTokenInvalid => ErrorCode::RefreshTokenInvalid,
            AuthError::RefreshTokenReused => ErrorCode::RefreshTokenReused,
            AuthError::CodeInvalid => ErrorCode::CodeInvalid,
            AuthError::CodeExpired => ErrorCode::CodeExpired,
            AuthError::TooManyAttempts => ErrorCode::TooManyAttempts,
            AuthError::NotFound(entity) => entity.not_found_code(),
            AuthError::AccountAlreadyLinked => ErrorCode::AccountAlreadyLinked,
            AuthError::LastSignInMethod => ErrorCode::LastSignInMethod,
            AuthError::HasDependents { .. } => ErrorCode::HasDependents,
            AuthError::SlugTaken => ErrorCode::SlugTaken,
            AuthError::GroupCycle => ErrorCode::GroupCycle,
            AuthError::DuplicateMembership => ErrorCode::DuplicateMembership,
            AuthError::DuplicateInvite => ErrorCode::DuplicateInvite,
            AuthError::InviteNotPending(_) => ErrorCode::InviteNotPending,
            AuthError::InviteExpired => ErrorCode::InviteExpired,
            AuthError::InviteEmailMismatch => ErrorCode::InviteEmailMismatch,
            AuthError::InviteInviterUnauthorized => ErrorCode::InviteInviterUnauthorized,
            AuthError::InviteRequired => ErrorCode::InviteRequired,
            AuthError::LastOwner => ErrorCode::LastOwner,
            AuthError::ApiKeyInvalid => ErrorCode::ApiKeyInvalid,
            AuthError::ApiKeyRevoked => ErrorCode::ApiKeyRevoked,
            AuthError::ApiKeyNotActive => ErrorCode::ApiKeyNotActive,
            AuthError::ApiKeyExpired => ErrorCode::ApiKeyExpired,
            AuthError::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            AuthError::RateLimited { .. } => ErrorCode::RateLimited,
            AuthError::CeremonyInvalid => ErrorCode::CeremonyInvalid,
            AuthError::CeremonyExpired => ErrorCode::CeremonyExpired,
            AuthError::Passkey(refusal) => refusal.code(),
            AuthError::SsoConnectionInactive => ErrorCode::SsoConnectionInactive,
            AuthError::SsoConnectionNotReady { .. } => ErrorCode::SsoConnectionNotReady,
            AuthError::DomainTaken => ErrorCode::DomainTaken,
            AuthError::DomainNotVerified => ErrorCode::DomainNotVerified,
            AuthError::DomainVerificationFailed(_) => ErrorCode::DomainVerificationFailed,
            AuthError::DnsUnavailable => ErrorCode::DnsUnavailable,
            AuthError::SsoRequired => ErrorCode::SsoRequired,
            AuthError::SsoEmailNotAllowed => ErrorCode::SsoEmailNotAllowed,
            AuthError::SsoLinkRefused => ErrorCode::SsoLinkRefused,
            AuthError::SsoEmailNotVerified => ErrorCode::SsoEmailNotVerified,
            AuthError::SsoProtocolNotSupported(_) => ErrorCode::SsoProtocolNotSupported,
            AuthError::Oidc(refusal) => refusal.code(),
            AuthError::Saml(refusal) => refusal.code(),
            AuthError::MfaRequired => ErrorCode::MfaRequired,
            AuthError::MfaEnrollmentRequired => ErrorCode::MfaEnrollmentRequired,
            AuthError::MfaChallengeInvalid => ErrorCode::MfaChallengeInvalid,
            AuthError::MfaChallengeExpired => ErrorCode::MfaChallengeExpired,
            AuthError::TotpNotEnrolled => ErrorCode::TotpNotEnrolled,
            AuthError::TotpAlreadyEnrolled => ErrorCode::TotpAlreadyEnrolled,
            AuthError::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            AuthError::Forbidden(_) => ErrorCode::Forbidden,
            AuthError::InsufficientScope { .. } => ErrorCode::InsufficientScope,
            AuthError::DeliveryFailed(_) => ErrorCode::DeliveryFailed,
            AuthError::NotConfigured(_) => ErrorCode::NotConfigured,
            AuthError::Overloaded => ErrorCode::Overloaded,
            AuthError::Store(StoreError::Unavailable(_)) => ErrorCode::StoreUnavailable,
            AuthError::Store(_) | AuthError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// A message safe to show a client: the error's text, except for store and internal
    /// errors, whose details stay in the server log.
    pub fn public_message(&self) -> String {
        match self {
            AuthError::Store(StoreError::Unavailable(_)) => {
                "the service is temporarily unavailable".to_owned()
            }
            AuthError::Store(_) | AuthError::Internal(_) => "internal error".to_owned(),
            AuthError::DeliveryFailed(_) => "email delivery failed".to_owned(),
            other => other.to_string(),
        }
    }

    /// Shorthand for [`AuthError::InvalidInput`].
    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        AuthError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`AuthError::Internal`].
    pub(crate) fn internal(what: &'static str) -> Self {
        AuthError::Internal(what)
    }
}

/// Why an OpenID Connect sign-in was refused; each kind has its own [`ErrorCode`]. The
/// texts never carry a token, code, secret or the provider's free-form description.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OidcRefusal {
    /// The provider answered with `error` (its code, reduced to `[a-z0-9_]`, at most 64
    /// characters): `OIDC_PROVIDER_ERROR`.
    Provider {
        /// The provider's error code, e.g. `access_denied`.
        error: String,
    },
    /// Unknown, used, malformed or another provider's `state`: `OIDC_STATE_INVALID`.
    StateInvalid,
    /// The flow expired: `OIDC_FLOW_EXPIRED`.
    FlowExpired,
    /// `iss` in the callback is not the flow's issuer: `OIDC_ISSUER_MISMATCH`.
    IssuerMismatch,
    /// The code exchange failed: `OIDC_EXCHANGE_FAILED`.
    ExchangeFailed(&'static str),
    /// The ID token or userinfo answer does not validate: `OIDC_TOKEN_INVALID`.
    TokenInvalid(&'static str),
    /// Discovery or keys unavailable or unusable: `OIDC_DISCOVERY_FAILED`.
    DiscoveryFailed(&'static str),
}

impl OidcRefusal {
    /// The stable code of this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            OidcRefusal::Provider { .. } => ErrorCode::OidcProviderError,
            OidcRefusal::StateInvalid => ErrorCode::OidcStateInvalid,
            OidcRefusal::FlowExpired => ErrorCode::OidcFlowExpired,
            OidcRefusal::IssuerMismatch => ErrorCode::OidcIssuerMismatch,
            OidcRefusal::ExchangeFailed(_) => ErrorCode::OidcExchangeFailed,
            OidcRefusal::TokenInvalid(_) => ErrorCode::OidcTokenInvalid,
            OidcRefusal::DiscoveryFailed(_) => ErrorCode::OidcDiscoveryFailed,
        }
    }
}

impl fmt::Display for OidcRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OidcRefusal::Provider { error } => {
                write!(f, "the identity provider refused the sign-in: {error}")
            }
            OidcRefusal::StateInvalid => f.write_str("unknown or used sign-in state"),
            OidcRefusal::FlowExpired => f.write_str("the sign-in expired; start again"),
            OidcRefusal::IssuerMismatch => {
                f.write_str("the answer comes from another identity provider")
            }
            OidcRefusal::ExchangeFailed(why) => {
                write!(f, "the identity provider refused the code: {why}")
            }
            OidcRefusal::TokenInvalid(why) => write!(f, "invalid ID token: {why}"),
            OidcRefusal::DiscoveryFailed(why) => {
                write!(f, "the identity provider is unavailable: {why}")
            }
        }
    }
}

/// Why a SAML response was refused; each kind has its own [`ErrorCode`]. The texts never
/// carry the response's XML or an attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SamlRefusal {
    /// Malformed, too large or unusable: `SAML_RESPONSE_INVALID`.
    ResponseInvalid(&'static str),
    /// Unsigned, wrong key, tampered or wrapped: `SAML_SIGNATURE_INVALID`.
    SignatureInvalid,
    /// Another audience: `SAML_AUDIENCE_MISMATCH`.
    AudienceMismatch,
    /// Another Destination or Recipient: `SAML_DESTINATION_MISMATCH`.
    DestinationMismatch,
    /// Not valid now: `SAML_EXPIRED`.
    Expired,
    /// `InResponseTo` names no pending request of this connection: `SAML_REQUEST_UNKNOWN`.
    RequestUnknown,
    /// Unsolicited, and the connection does not allow it: `SAML_IDP_INITIATED_REFUSED`.
    IdpInitiatedRefused,
    /// The assertion was used already: `SAML_REPLAYED`.
    Replayed,
    /// The IdP's status is not Success: `SAML_STATUS`.
    Status,
}

impl SamlRefusal {
    /// The stable code of this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            SamlRefusal::ResponseInvalid(_) => ErrorCode::SamlResponseInvalid,
            SamlRefusal::SignatureInvalid => ErrorCode::SamlSignatureInvalid,
            SamlRefusal::AudienceMismatch => ErrorCode::SamlAudienceMismatch,
            SamlRefusal::DestinationMismatch => ErrorCode::SamlDestinationMismatch,
            SamlRefusal::Expired => ErrorCode::SamlExpired,
            SamlRefusal::RequestUnknown => ErrorCode::SamlRequestUnknown,
            SamlRefusal::IdpInitiatedRefused => ErrorCode::SamlIdpInitiatedRefused,
            SamlRefusal::Replayed => ErrorCode::SamlReplayed,
            SamlRefusal::Status => ErrorCode::SamlStatus,
        }
    }
}

impl fmt::Display for SamlRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamlRefusal::ResponseInvalid(why) => write!(f, "invalid SAML response: {why}"),
            SamlRefusal::SignatureInvalid => {
                f.write_str("the SAML response is not signed by the identity provider")
            }
            SamlRefusal::AudienceMismatch => {
                f.write_str("the SAML assertion is for another service provider")
            }
            SamlRefusal::DestinationMismatch => {
                f.write_str("the SAML response was sent to another address")
            }
            SamlRefusal::Expired => f.write_str("the SAML assertion is not valid now"),
            SamlRefusal::RequestUnknown => {
                f.write_str("the SAML response answers no pending sign-in; start again")
            }
            SamlRefusal::IdpInitiatedRefused => {
                f.write_str("sign-ins started at the identity provider are not accepted")
            }
            SamlRefusal::Replayed => f.write_str("the SAML assertion was used already"),
            SamlRefusal::Status => f.write_str("the identity provider did not sign the user in"),
        }
    }
}

/// Why a passkey (WebAuthn) response was refused; each has its own [`ErrorCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasskeyRefusal {
    /// It does not verify (signature, tampered or malformed data, challenge, user
    /// verification): `PASSKEY_REJECTED`.
    Rejected,
    /// The credential is not registered: `PASSKEY_UNKNOWN_CREDENTIAL`.
    UnknownCredential,
    /// The credential is another user's: `PASSKEY_USER_MISMATCH`.
    UserMismatch,
    /// Made for an origin that is not allowed: `PASSKEY_ORIGIN_MISMATCH`.
    OriginMismatch,
    /// Made for another relying party id: `PASSKEY_RP_ID_MISMATCH`.
    RpIdMismatch,
    /// The signature counter went backwards (or did not advance): `PASSKEY_COUNTER_REGRESSION`.
    CounterRegression,
    /// The credential is registered already: `PASSKEY_ALREADY_REGISTERED`.
    AlreadyRegistered,
}

impl PasskeyRefusal {
    /// The stable code of this refusal.
    pub fn code(self) -> ErrorCode {
        match self {
            PasskeyRefusal::Rejected => ErrorCode::PasskeyRejected,
            PasskeyRefusal::UnknownCredential => ErrorCode::PasskeyUnknownCredential,
            PasskeyRefusal::UserMismatch => ErrorCode::PasskeyUserMismatch,
            PasskeyRefusal::OriginMismatch => ErrorCode::PasskeyOriginMismatch,
            PasskeyRefusal::RpIdMismatch => ErrorCode::PasskeyRpIdMismatch,
            PasskeyRefusal::CounterRegression => ErrorCode::PasskeyCounterRegression,
            PasskeyRefusal::AlreadyRegistered => ErrorCode::PasskeyAlreadyRegistered,
        }
    }
}

impl fmt::Display for PasskeyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PasskeyRefusal::Rejected => "the passkey response does not verify",
            PasskeyRefusal::UnknownCredential => "unknown passkey",
            PasskeyRefusal::UserMismatch => "the passkey belongs to another user",
            PasskeyRefusal::OriginMismatch => "the passkey response is for another origin",
            PasskeyRefusal::RpIdMismatch => "the passkey response is for another site",
            PasskeyRefusal::CounterRegression => {
                "the passkey's counter went backwards; it may have been cloned"
            }
            PasskeyRefusal::AlreadyRegistered => "this passkey is registered already",
        })
    }
}

/// A unique constraint the store refused to break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Conflict {
    /// A user with this (normalised) email exists.
    UserEmail,
    /// An account with this provider and provider account id exists.
    Account,
    /// A record with this id exists.
    Id,
    /// A group with this slug exists.
    GroupSlug,
    /// The user is a member of the group already.
    Membership,
    /// A pending invite for this email and group exists.
    Invite,
    /// A passkey with this credential id exists (for any user).
    PasskeyCredential,
    /// The organization has this domain already, or another organization verified it.
    Domain,
    /// The connection's directory provisioned a user with this `userName` already.
    ScimUserName,
}

impl From<StoreError> for AuthError {
    /// A refused constraint becomes the typed error it stands for (a taken email is
    /// `EMAIL_IN_USE`, a missing group `GROUP_NOT_FOUND`); anything else is
    /// [`AuthError::Store`].
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Conflict::UserEmail) => AuthError::EmailInUse,
            StoreError::Conflict(Conflict::Account) => AuthError::AccountAlreadyLinked,
            StoreError::Conflict(Conflict::GroupSlug) => AuthError::SlugTaken,
            StoreError::Conflict(Conflict::Membership) => AuthError::DuplicateMembership,
            StoreError::Conflict(Conflict::Invite) => AuthError::DuplicateInvite,
            StoreError::Conflict(Conflict::PasskeyCredential) => {
                AuthError::Passkey(PasskeyRefusal::AlreadyRegistered)
            }
            StoreError::Conflict(Conflict::Domain) => AuthError::DomainTaken,
            StoreError::MissingReference(entity) => AuthError::NotFound(entity),
            other => AuthError::Store(other),
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::UserEmail => "user email",
            Conflict::Account => "account provider id",
            Conflict::Id => "id",
            Conflict::GroupSlug => "group slug",
            Conflict::Membership => "membership",
            Conflict::Invite => "pending invite",
            Conflict::PasskeyCredential => "passkey credential id",
            Conflict::Domain => "domain",
            Conflict::ScimUserName => "SCIM userName",
        })
    }
}

/// The error of every store call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached (connection refused or lost, pool timeout). Retryable;
    /// surfaces as `STORE_UNAVAILABLE` (HTTP 503).
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// A unique constraint would be broken (a duplicate). Every store reports duplicates
    /// this way, never as an outcome value.
    #[error("conflict on {0}")]
    Conflict(Conflict),
    /// A record the write refers to does not exist (the group of a new membership, the
    /// owner of a new key, a new parent). Every store reports missing references this
    /// way, never as an outcome value or a `false`.
    #[error("referenced {} does not exist", .0.name())]
    MissingReference(Entity),
    /// A stored row could not be read back into the model (a bug or a manual edit).
    #[error("stored data is invalid: {0}")]
    Corrupt(Cow<'static, str>),
    /// Any other backend failure.
    #[error("store backend error")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// Wraps a backend error as [`StoreError::Backend`].
    pub fn backend(error: impl Into<BoxError>) -> Self {
        StoreError::Backend(error.into())
    }

    /// Wraps a connectivity error as [`StoreError::Unavailable`].
    pub fn unavailable(error: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(error.into())
    }

    /// A [`StoreError::Corrupt`] naming what could not be read.
    pub fn corrupt(what: impl Into<Cow<'static, str>>) -> Self {
        StoreError::Corrupt(what.into())
    }
}

/// A mistake in how the app configured [`Auth`](crate::Auth).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No secret key was given to the builder.
    #[error("a secret key is required (AuthBuilder::secret_key)")]
    MissingSecretKey,
    /// The secret key is shorter than 32 bytes or not valid base64.
    #[error("the secret key must be at least 32 bytes (base64-encoded)")]
    WeakSecretKey,
    /// A key id has characters other than `[A-Za-z0-9_-]` or is too long.
    #[error("a key id is 1 to 32 characters of [A-Za-z0-9_-]")]
    InvalidKeyId,
    /// A setting is out of range.
    #[error("invalid setting {setting}: {reason}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_screaming_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "duplicate {text}");
            assert!(
                text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{text}"
            );
        }
    }

    #[test]
    fn store_errors_never_show_their_source_to_clients() {
        let err = AuthError::from(StoreError::backend("SELECT * FROM users WHERE oops"));
        assert_eq!(err.code(), ErrorCode::Internal);
        assert!(!err.public_message().contains("SELECT"));
        assert!(!err.to_string().contains("SELECT"));

        let err = AuthError::from(StoreError::unavailable("connection refused 10.0.0.5"));
        assert_eq!(err.code(), ErrorCode::StoreUnavailable);
        assert!(!err.public_message().contains("10.0.0.5"));
    }

    #[test]
    fn not_found_codes_name_the_entity() {
        assert_eq!(
            AuthError::NotFound(Entity::User).code().as_str(),
            "USER_NOT_FOUND"
        );
        assert_eq!(
            AuthError::NotFound(Entity::Session).to_string(),
            "session not found"
        );
    }
}
