//! Request and response bodies of the JSON API.

use auth_core::api_keys::{ApiKey, QuotaSpec, RateLimit};
use auth_core::groups::Group;
use auth_core::invites::Invite;
use auth_core::members::{Member, MemberStatus};
use auth_core::sessions::SessionView;
use auth_core::{Account, AccountId, GroupId, Provider, Secret, User, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// How the client keeps its session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenMode {
    /// A browser: the session goes into an HttpOnly cookie and never into the body.
    #[default]
    Cookie,
    /// A non-browser client: the body carries a session token and a refresh token.
    Token,
}

/// `POST /auth/sign-up`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpBody {
    /// Email address.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
    /// Display name.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub name: Option<String>,
    /// Cookie (default) or token.
    #[serde(default)]
    pub mode: TokenMode,
}

/// `POST /auth/sign-in`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// Email address.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
    /// Cookie (default) or token.
    #[serde(default)]
    pub mode: TokenMode,
}

/// Stands in for a secret in `Debug` output (responses carrying one-time secrets may be
/// logged by an app's middleware; the secret must not be).
struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A signed-in user and their new session.
#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    /// The user.
    pub user: User,
    /// The session.
    pub session: SessionView,
    /// Token mode only: the session token (`Authorization: Bearer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// Token mode only: the refresh token (`POST /auth/refresh`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for SessionResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionResponse")
            .field("user", &self.user)
            .field("session", &self.session)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| Redacted),
            )
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

/// A user created who must verify their email before signing in.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationPending {
    /// The new user.
    pub user: User,
    /// Always true: a code was sent to the address.
    pub verification_required: bool,
}

/// A sign-in that needs a second factor (`202`): no session yet. Complete the challenge
/// with one of `methods` (`totp`, `recovery_code`, `passkey`).
#[derive(Serialize, ToSchema)]
pub struct MfaChallengeResponse {
    /// Always `MFA_REQUIRED`.
    pub code: &'static str,
    /// The challenge token, given back with the second factor.
    pub challenge: String,
    /// The second factors that complete it.
    pub methods: Vec<&'static str>,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: time::OffsetDateTime,
}

impl std::fmt::Debug for MfaChallengeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallengeResponse")
            .field("challenge", &Redacted)
            .field("methods", &self.methods)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `POST /auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token from sign-in or the previous refresh.
    #[schema(value_type = String)]
    pub refresh_token: Secret,
}

/// A one-time code (with its address) or the token from an emailed link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The address the code was sent to (with `code`).
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// The emailed code.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub code: Option<Secret>,
    /// The emailed link's token (instead of `email` and `code`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub token: Option<Secret>,
}

/// `POST /auth/password/forgot`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotBody {
    /// The account's address.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// `POST /auth/password/reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    /// The address the code was sent to (with `code`).
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// The emailed code.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub code: Option<Secret>,
    /// The emailed link's token (instead of `email` and `code`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub token: Option<Secret>,
    /// The new password.
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
}

/// `GET /auth/me`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The user.
    pub user: User,
    /// The current session.
    pub session: SessionView,
}

/// Paging parameters of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `POST /auth/api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    /// A name to recognise the key by.
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// `resource:action` scopes.
    #[schema(value_type = Vec<auth_core::Permission>)]
    pub scopes: Vec<String>,
    /// Make it a key of this group (needs `api_key:create` there) instead of your own.
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// When it stops working.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Per-key rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Usage quota.
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
    /// App-defined data.
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// A new key: shown once.
#[derive(Serialize, ToSchema)]
pub struct CreatedKeyResponse {
    /// The key as stored.
    pub key: ApiKey,
    /// The raw key: copy it now, it cannot be shown again.
    pub secret: String,
}

impl std::fmt::Debug for CreatedKeyResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKeyResponse")
            .field("key", &self.key)
            .field("secret", &Redacted)
            .finish()
    }
}

/// Which keys `GET /auth/api-keys` lists.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// List this group's keys (needs `api_key:read` there) instead of your own.
    pub group_id: Option<GroupId>,
    /// Only revoked (true) or unrevoked (false) keys.
    pub revoked: Option<bool>,
    /// Page size, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `POST /auth/api-keys/{id}/rotate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Seconds during which the old key keeps working (0 to 30 days).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub grace_seconds: Option<i64>,
}

/// `POST /auth/groups/{id}/members`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberBody {
    /// The user to add.
    pub user_id: UserId,
    /// Their role (the policy's default role if absent).
    #[serde(default)]
    pub role: Option<String>,
    /// Active (default) or suspended.
    #[serde(default)]
    pub status: Option<MemberStatus>,
    /// App-defined data.
    #[serde(default)]
    pub extend: Option<Value>,
}

/// `POST /auth/groups/{id}/invites`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// Only this address may accept.
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// The role granted on acceptance.
    #[serde(default)]
    pub role: Option<String>,
    /// When it stops working.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// App-defined data.
    #[serde(default)]
    pub extend: Option<Value>,
}

/// A new invite: its token is shown once.
#[derive(Serialize, ToSchema)]
pub struct CreatedInviteResponse {
    /// The invite.
    pub invite: Invite,
    /// The raw token: put it in the invitation link.
    pub token: String,
}

impl std::fmt::Debug for CreatedInviteResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedInviteResponse")
            .field("invite", &self.invite)
            .field("token", &Redacted)
            .finish()
    }
}

/// `POST /auth/invites/accept`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The invite's token.
    #[schema(value_type = String)]
    pub token: Secret,
}

/// An accepted invite.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedResponse {
    /// The invite, now accepted.
    pub invite: Invite,
    /// The membership it created, for a group invite.
    pub member: Option<Member>,
}

/// A group the caller belongs to, with their membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyGroup {
    /// The group.
    pub group: Group,
    /// The caller's membership.
    pub member: Member,
}

/// `POST /auth/password/change`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    /// The current password (required when the account has one).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub current_password: Option<Secret>,
    /// The new password.
    #[schema(value_type = String, format = Password)]
    pub new_password: Secret,
}

/// `POST /auth/sign-in/email/send`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendSignInCodeBody {
    /// The address to send a sign-in code and link to.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// `POST /auth/sign-in/email`: the emailed code with its address, or the link's token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSignInBody {
    /// The address the code was sent to (with `code`).
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// The emailed code.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub code: Option<Secret>,
    /// The emailed link's token (instead of `email` and `code`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub token: Option<Secret>,
    /// Cookie (default) or token.
    #[serde(default)]
    pub mode: TokenMode,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `PATCH /auth/me`: your profile. An absent field stays as it is; `null` clears it. The
/// email address is not set here: it changes through `POST /auth/email/change`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// Display name (`null` clears it).
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<String>, max_length = 256)]
    pub name: Option<Option<String>>,
    /// Avatar URL, `https://` or `http://` (`null` clears it).
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<String>, format = "uri", max_length = 2048)]
    pub image: Option<Option<String>>,
    /// Replaces the app-defined data (a JSON object).
    #[serde(default)]
    pub extend: Option<Value>,
}

/// `POST /auth/email/change`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailBody {
    /// The new address; a code and link go there.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// `DELETE /auth/me`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMeBody {
    /// Your password (required when the account has one; without one, a sign-in within
    /// the last few minutes proves it is you).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Secret>,
}

/// One way you sign in, as `GET /auth/accounts` lists it (never a password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// The account's id (for `DELETE /auth/accounts/{id}`).
    #[schema(value_type = String)]
    pub id: AccountId,
    /// `password`, `email`, `oidc:<issuer>`, `saml:<connection>`, ...
    #[schema(value_type = String)]
    pub provider: Provider,
    /// Your id at an external provider (absent for `password` and `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_account_id: Option<String>,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        let external = !account.provider.is_local();
        Self {
            id: account.id,
            provider_account_id: external.then_some(account.provider_account_id),
            provider: account.provider,
            created_at: account.created_at,
            updated_at: account.updated_at,
        }
    }
}

/// The browser and operating system a session signed in from, read from its stored user
/// agent when listed (not stored): `{"browser": "Chrome 131", "os": "Linux"}`. `Unknown`
/// where the user agent says nothing recognisable (or was not sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Device {
    /// Browser name and major version, e.g. `Firefox 133`.
    pub browser: String,
    /// Operating system, e.g. `Windows 10`, `Mac OSX`, `Android`.
    pub os: String,
}

/// What a [`Device`] says when the user agent is not recognised.
const UNKNOWN: &str = "Unknown";

impl Device {
    /// Parses a user agent.
    pub fn of(user_agent: Option<&str>) -> Self {
        let parsed = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua));
        let known = |v: &str| !v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN;
        let Some(parsed) = parsed else {
            return Self {
                browser: UNKNOWN.to_owned(),
                os: UNKNOWN.to_owned(),
            };
        };
        let browser = if known(parsed.name) {
            let major = parsed.version.split('.').next().unwrap_or_default();
            if known(major) {
                format!("{} {major}", parsed.name)
            } else {
                parsed.name.to_owned()
            }
        } else {
            UNKNOWN.to_owned()
        };
        let os = if known(parsed.os) {
            parsed.os.to_owned()
        } else {
            UNKNOWN.to_owned()
        };
        Self { browser, os }
    }
}

/// A session as `GET /auth/sessions` lists it: the session and its device.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionItem {
    /// The session.
    #[serde(flatten)]
    pub session: SessionView,
    /// Its browser and OS, read from `user_agent`.
    pub device: Device,
}

impl SessionItem {
    /// The item of `session`, parsing its user agent.
    pub fn of(session: SessionView) -> Self {
        let device = Device::of(session.user_agent.as_deref());
        Self { session, device }
    }
}

#[cfg(test)]
mod tests {
    use super::Device;

    fn device(ua: &str) -> (String, String) {
        let d = Device::of(Some(ua));
        (d.browser, d.os)
    }

    #[test]
    fn user_agents_read_as_browser_and_os() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device(chrome), ("Chrome 131".into(), "Linux".into()));
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(device(firefox), ("Firefox 133".into(), "Windows 10".into()));
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(device(safari).0, "Safari 17");
    }

    #[test]
    fn unknown_or_missing_user_agents_are_unknown() {
        for d in [
            Device::of(None),
            Device::of(Some("")),
            Device::of(Some("\u{0}garbage")),
        ] {
            assert_eq!((d.browser.as_str(), d.os.as_str()), ("Unknown", "Unknown"));
        }
        let curl = device("curl/8.5.0");
        assert_eq!(curl.1, "Unknown");
    }
}

/// `POST /auth/mfa/totp`: a new TOTP enrolment, shown once (each field reveals the seed).
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolmentResponse {
    /// The `otpauth://totp/...` URI authenticator apps import.
    pub otpauth_uri: String,
    /// The URI as a QR code: an SVG document.
    pub qr_svg: String,
    /// The seed in base32, for typing into an app that cannot scan.
    pub secret_base32: String,
}

impl std::fmt::Debug for TotpEnrolmentResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolmentResponse")
            .finish_non_exhaustive()
    }
}

/// `POST /auth/mfa/totp/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeBody {
    /// The code the authenticator app shows now.
    #[schema(value_type = String, example = "123456")]
    pub code: Secret,
}

/// `POST /auth/mfa/challenge`: the challenge from sign-in and ONE second factor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaChallengeBody {
    /// The `challenge` of the `202 MFA_REQUIRED` sign-in answer.
    #[schema(value_type = String)]
    pub challenge: Secret,
    /// A TOTP code.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<Secret>,
    /// A recovery code (used up).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub recovery_code: Option<Secret>,
    /// Cookie (default) or token, as at sign-in.
    #[serde(default)]
    pub mode: TokenMode,
}

/// `POST /auth/mfa/step-up`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpBody {
    /// The code the authenticator app shows now.
    #[schema(value_type = String, example = "123456")]
    pub code: Secret,
}

/// Recovery codes, shown once: each signs in once instead of a TOTP code.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// The codes; store them somewhere safe, they cannot be shown again.
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodesResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCodesResponse")
            .field("count", &self.recovery_codes.len())
            .finish()
    }
}

/// The start of a passkey ceremony: send `handle` back with the authenticator's response.
#[derive(Serialize, ToSchema)]
pub struct PasskeyChallengeResponse {
    /// The ceremony's handle (single use, valid for a few minutes).
    pub handle: String,
    /// The WebAuthn options (`{"publicKey": {...}}`, binary fields base64url) for
    /// `navigator.credentials.create()` or `.get()`; `mediation` too for conditional UI.
    #[schema(value_type = Object)]
    pub options: Value,
}

impl std::fmt::Debug for PasskeyChallengeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyChallengeResponse")
            .field("handle", &Redacted)
            .finish_non_exhaustive()
    }
}

/// `POST /auth/passkeys/register/finish`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegisterFinishBody {
    /// The handle from `register/start`.
    #[schema(value_type = String)]
    pub handle: Secret,
    /// A name for the passkey (default "Passkey").
    #[serde(default)]
    #[schema(max_length = 64)]
    pub name: Option<String>,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, as JSON
    /// (`toJSON()`: base64url binary fields).
    #[schema(value_type = Object)]
    pub response: Value,
}

/// `POST /auth/passkeys/sign-in/start`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInStartBody {
    /// Sign in as this address (its passkeys only); without it, discoverable sign-in (the
    /// authenticator offers its passkeys for this site; conditional UI).
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
}

/// `POST /auth/passkeys/sign-in/finish` and `/sign-up/finish`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyFinishBody {
    /// The handle from the matching `start`.
    #[schema(value_type = String)]
    pub handle: Secret,
    /// The `PublicKeyCredential` from the browser, as JSON (base64url binary fields).
    #[schema(value_type = Object)]
    pub response: Value,
    /// Cookie (default) or token.
    #[serde(default)]
    pub mode: TokenMode,
}

/// `POST /auth/passkeys/sign-up/start`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignUpStartBody {
    /// Email address of the new account.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Display name.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub name: Option<String>,
}

/// `PATCH /auth/passkeys/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRenameBody {
    /// The new name, 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

/// `POST /auth/mfa/challenge/passkey/start`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaPasskeyStartBody {
    /// The `challenge` of the `202 MFA_REQUIRED` sign-in answer.
    #[schema(value_type = String)]
    pub challenge: Secret,
}

/// `POST /auth/mfa/challenge/passkey/finish`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaPasskeyFinishBody {
    /// The `challenge` of the `202 MFA_REQUIRED` sign-in answer.
    #[schema(value_type = String)]
    pub challenge: Secret,
    /// The handle from `challenge/passkey/start`.
    #[schema(value_type = String)]
    pub handle: Secret,
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, as JSON.
    #[schema(value_type = Object)]
    pub response: Value,
    /// Cookie (default) or token, as at sign-in.
    #[serde(default)]
    pub mode: TokenMode,
}

/// `POST /auth/sso/sign-in`: exactly one of the fields.
#[cfg(any(feature = "oidc", feature = "saml"))]
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoSignInBody {
    /// Sign in through the organization that verified this address's domain.
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Sign in through the organization that verified this domain.
    #[serde(default)]
    #[schema(max_length = 253)]
    pub domain: Option<String>,
    /// Sign in through this connection.
    #[serde(default)]
    #[schema(format = Uuid)]
    pub connection_id: Option<String>,
    /// Sign in with this social provider of the app (`google`).
    #[serde(default)]
    #[schema(max_length = 57)]
    pub provider: Option<String>,
}

/// The answer to `POST /auth/sso/sign-in`.
#[cfg(any(feature = "oidc", feature = "saml"))]
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoSignInResponse {
    /// The identity provider's URL: navigate the browser there.
    pub url: String,
}
