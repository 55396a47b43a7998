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
