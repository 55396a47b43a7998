//! The configuration of a provider, the callback, and what a finished sign-in yields.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use url::{Host, Url};

use crate::error::AuthError;
use crate::secret::Secret;

/// Authorization parameters the library sets itself; an extra parameter may not name them.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "response_mode",
    "client_id",
    "client_secret",
    "redirect_uri",
    "state",
    "nonce",
    "scope",
    "login_hint",
    "request",
    "request_uri",
];

/// The longest issuer, redirect URI, claim name or parameter value taken.
const MAX_URL: usize = 2048;
const MAX_NAME: usize = 64;
const MAX_VALUE: usize = 1024;

/// Whether `url` may be used to reach a provider (or come back from one): `https`, or
/// `http` on a loopback host (`127.0.0.1`, `::1`, `localhost`) for tests and local IdPs;
/// no credentials and no fragment.
pub(crate) fn check_url(field: &'static str, text: &str) -> Result<Url, AuthError> {
    if text.len() > MAX_URL {
        return Err(AuthError::invalid(field, "too long"));
    }
    let url = Url::parse(text).map_err(|_| AuthError::invalid(field, "not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AuthError::invalid(field, "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(AuthError::invalid(field, "must not have a fragment"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(AuthError::invalid(
            field,
            "must be https (http only on 127.0.0.1, ::1 or localhost)",
        )),
        _ => Err(AuthError::invalid(field, "must be an https URL")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn check_token(field: &'static str, text: &str, max: usize) -> Result<(), AuthError> {
    // RFC 6749 scope-token / parameter names: printable ASCII without space, `"` or `\`.
    if text.is_empty() || text.len() > max {
        return Err(AuthError::invalid(field, "empty or too long"));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        return Err(AuthError::invalid(
            field,
            "has characters outside printable ASCII",
        ));
    }
    Ok(())
}

/// The names of the claims an identity is read from. Defaults are the standard ones
/// (`email`, `email_verified`, `name`, `given_name`, `family_name`) and `groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClaimNames {
    /// The email address. Default `email`.
    pub email: String,
    /// Whether the provider verified it (only a JSON `true` counts). Default `email_verified`.
    pub email_verified: String,
    /// The full name. Default `name`.
    pub name: String,
    /// The given name. Default `given_name`.
    pub given_name: String,
    /// The family name. Default `family_name`.
    pub family_name: String,
    /// The groups: an array of strings (or one string). Default `groups`.
    pub groups: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            email: "email".into(),
            email_verified: "email_verified".into(),
            name: "name".into(),
            given_name: "given_name".into(),
            family_name: "family_name".into(),
            groups: "groups".into(),
        }
    }
}

impl ClaimNames {
    fn all(&self) -> [&str; 6] {
        [
            &self.email,
            &self.email_verified,
            &self.name,
            &self.given_name,
            &self.family_name,
            &self.groups,
        ]
    }

    fn check(&self) -> Result<(), AuthError> {
        for name in self.all() {
            check_token("claims", name, MAX_NAME)?;
        }
        Ok(())
    }
}

/// One OpenID provider as a client of it: an enterprise connection's IdP or an app-wide
/// social provider. Built with [`OidcProvider::new`], which validates; the client secret
/// never prints.
#[derive(Clone)]
pub struct OidcProvider {
    pub(crate) id: String,
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) scopes: Vec<String>,
    pub(crate) extra_params: Vec<(String, String)>,
    pub(crate) claims: ClaimNames,
    pub(crate) clock_skew: Duration,
    pub(crate) userinfo: bool,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scopes", &self.scopes)
            .field("extra_params", &self.extra_params)
            .field("claims", &self.claims)
            .field("clock_skew", &self.clock_skew)
            .field("userinfo", &self.userinfo)
            .finish()
    }
}

impl OidcProvider {
    /// A provider named `id` (the reference kept in the flow record, e.g. a connection id
    /// or `"google"`: 1 to 64 printable ASCII characters) at `issuer` (exactly as the
    /// provider states it in its discovery document; https, or http on a loopback host),
    /// with the client registered there. Scopes default to `openid email profile`, claim
    /// names to [`ClaimNames::default`], clock skew to 60 s, userinfo fetched when a
    /// configured claim is missing from the ID token.
    pub fn new(
        id: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Result<Self, AuthError> {
        let (id, issuer, client_id) = (id.into(), issuer.into(), client_id.into());
        check_token("id", &id, MAX_NAME)?;
        let url = check_url("issuer", &issuer)?;
        if url.query().is_some() {
            return Err(AuthError::invalid("issuer", "must not have a query"));
        }
        check_token("client_id", &client_id, MAX_VALUE)?;
        if client_secret.expose().is_empty() || client_secret.expose().len() > MAX_VALUE {
            return Err(AuthError::invalid(
                "client_secret",
                "must be 1 to 1024 bytes",
            ));
        }
        Ok(Self {
            id,
            issuer,
            client_id,
            client_secret,
            scopes: vec!["email".into(), "profile".into()],
            extra_params: Vec::new(),
            claims: ClaimNames::default(),
            clock_skew: Duration::seconds(60),
            userinfo: true,
        })
    }

    /// Replaces the scopes requested besides `openid` (always requested). Each is a
    /// scope token (printable ASCII, no space); at most 32.
    pub fn scopes<I, T>(mut self, scopes: I) -> Result<Self, AuthError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let mut list: Vec<String> = Vec::new();
        for scope in scopes {
            let scope = scope.into();
            check_token("scopes", &scope, MAX_NAME)?;
            if scope != "openid" && !list.contains(&scope) {
                list.push(scope);
            }
        }
        if list.len() > 32 {
            return Err(AuthError::invalid("scopes", "at most 32"));
        }
        self.scopes = list;
        Ok(self)
    }

    /// Adds an authorization request parameter (`prompt`, `hd`, `domain_hint`, `acr_values`,
    /// ...). Refused: a name the flow sets itself (`response_type`, `client_id`,
    /// `redirect_uri`, `state`, `nonce`, `scope`, `code_challenge*`, `login_hint`,
    /// `request`, ...), a name twice, a name outside `[A-Za-z0-9_.-]` or a value with
    /// control characters or over 1024 bytes; at most 16.
    pub fn extra_param(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, AuthError> {
        let (name, value) = (name.into(), value.into());
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(AuthError::invalid(
                "extra_params",
                "a name is 1 to 64 of [A-Za-z0-9_.-]",
            ));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED_PARAMS.contains(&lower.as_str()) || lower.starts_with("code_challenge") {
            return Err(AuthError::invalid(
                "extra_params",
                "names a parameter the flow sets itself",
            ));
        }
        if self
            .extra_params
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            return Err(AuthError::invalid("extra_params", "a name appears twice"));
        }
        if value.len() > MAX_VALUE || value.chars().any(char::is_control) {
            return Err(AuthError::invalid(
                "extra_params",
                "a value is at most 1024 bytes without control characters",
            ));
        }
        if self.extra_params.len() >= 16 {
            return Err(AuthError::invalid("extra_params", "at most 16"));
        }
        self.extra_params.push((name, value));
        Ok(self)
    }

    /// Replaces the claim names the identity is read from.
    pub fn claims(mut self, claims: ClaimNames) -> Result<Self, AuthError> {
        claims.check()?;
        self.claims = claims;
        Ok(self)
    }

    /// The clock skew allowed on `exp` and `iat`: 0 s to 5 minutes.
    pub fn clock_skew(mut self, skew: Duration) -> Result<Self, AuthError> {
        if skew < Duration::ZERO || skew > Duration::minutes(5) {
            return Err(AuthError::invalid("clock_skew", "must be 0 to 5 minutes"));
        }
        self.clock_skew = skew;
        Ok(self)
    }

    /// Whether to ask the userinfo endpoint when a configured claim is missing from the
    /// ID token (default `true`).
    pub fn userinfo(mut self, fetch: bool) -> Self {
        self.userinfo = fetch;
        self
    }

    /// The reference kept in flow records.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The scopes requested besides `openid`.
    pub fn scope_list(&self) -> &[String] {
        &self.scopes
    }

    /// The claim names.
    pub fn claim_names(&self) -> &ClaimNames {
        &self.claims
    }
}

/// What the provider sent back to the redirect URI (its query parameters).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OidcCallback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` given at the start (the flow's handle).
    pub state: Option<String>,
    /// The issuer (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
    /// The provider's error code (`access_denied`, ...).
    pub error: Option<String>,
    /// The provider's error text (logged at debug level only, never returned).
    pub error_description: Option<String>,
}

impl fmt::Debug for OidcCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcCallback")
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("state", &self.state.as_ref().map(|_| "<redacted>"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// A started sign-in: where to send the browser, and the flow's handle.
pub struct OidcStart {
    /// The provider's authorization URL with every parameter.
    pub authorization_url: Url,
    /// The `state` (the flow's handle): an HTTP layer may also bind it to the browser (a
    /// cookie holding it) to refuse callbacks started elsewhere.
    pub state: Secret,
    /// The provider's reference.
    pub provider: String,
    /// When the flow started.
    pub created_at: OffsetDateTime,
    /// When the callback stops being accepted.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for OidcStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcStart")
            .field("provider", &self.provider)
            .field("state", &self.state)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Who the provider says signed in, after every check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VerifiedIdentity {
    /// The provider reference the flow was started with.
    pub provider: String,
    /// The issuer (`iss`).
    pub issuer: String,
    /// The subject (`sub`): with the issuer, the stable key of the external identity.
    pub subject: String,
    /// The email address claim, as sent (not normalised).
    pub email: Option<String>,
    /// Whether the provider says it verified the address: `true` only when the claim is
    /// the JSON value `true`.
    pub email_verified: bool,
    /// The full name.
    pub name: Option<String>,
    /// The given name.
    pub given_name: Option<String>,
    /// The family name.
    pub family_name: Option<String>,
    /// The groups (strings only).
    pub groups: Vec<String>,
    /// Every claim of the validated ID token.
    pub claims: Value,
    /// The userinfo answer, when it was asked (its `sub` matched).
    pub userinfo: Option<Value>,
}
