//! Who is calling: the [`Principal`] of a request and the extractors built on it.
//!
//! Credentials are looked for in this order, and the first one present decides:
//! 1. `x-api-key: <key>` — an API key; authoritative, never falls through to a cookie;
//! 2. `Authorization: Bearer <token>` — an API key if it has the key format, else a
//!    session token;
//! 3. the session cookie — and then, for unsafe methods (POST, PUT, PATCH, DELETE), the
//!    `Origin` (or `Referer`) must be the app's origin, or the request is refused
//!    (`CSRF_REJECTED`).
//!
//! A principal the caches answer is answered again by each extractor or guard that asks
//! (a hash and a lookup, no allocation); one resolved through the services (a store read,
//! an API key's rate limit spent, a session touched) is kept in the request's extensions,
//! so a guard and a handler do that once.

use std::sync::Arc;

use auth_core::api_keys::{KeyOwner, VerifiedKey};
use auth_core::{AuthError, Authenticated, Caller, Session, User, UserId};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, Method, header};

use crate::config::HttpConfig;
use crate::error::ApiError;
use crate::layer::{RequestAuth, layer_state};
use crate::meta::request_meta;
use crate::state::{AuthState, Inner};

/// How a session was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The session cookie (a browser).
    Cookie,
    /// `Authorization: Bearer` (a token client).
    Bearer,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A signed-in user's session.
    Session {
        /// The session and its user.
        auth: Arc<Authenticated>,
        /// Cookie or bearer.
        via: Via,
    },
    /// An API key.
    ApiKey(VerifiedKey),
}

impl Principal {
    /// The user acting: the session's user, or a user-owned key's owner.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Principal::Session { auth, .. } => Some(auth.user.id),
            Principal::ApiKey(key) => match key.key.owner {
                KeyOwner::User(id) => Some(id),
                KeyOwner::Group(_) => None,
            },
        }
    }

    /// The principal as the caller of a service.
    pub fn caller(&self) -> Caller {
        match self {
            Principal::Session { auth, .. } => Caller::Session(Arc::clone(auth)),
            Principal::ApiKey(key) => Caller::ApiKey(key.clone()),
        }
    }
}

/// The [`AuthState`] the request carries (an earlier resolution's, or one an app put in
/// its extensions), if any.
fn carried_state(parts: &Parts) -> Option<AuthState> {
    match parts.extensions.get::<RequestAuth>() {
        Some(ctx) => Some(ctx.state.clone()),
        None => parts.extensions.get::<AuthState>().cloned(),
    }
}

/// The [`AuthState`] of a guard: the [`AuthLayer`](crate::AuthLayer)'s, else the one the
/// request carries.
pub(crate) fn layered_state(parts: &Parts) -> Option<AuthState> {
    layer_state().or_else(|| carried_state(parts))
}

/// The principal resolved earlier in this request, if any: kept in one place, the
/// request's [`RequestAuth`] slot.
fn remembered(parts: &Parts) -> Option<Option<Principal>> {
    parts
        .extensions
        .get::<RequestAuth>()
        .and_then(|ctx| ctx.principal.get())
        .cloned()
}

/// Keeps a principal resolved through the services for the rest of the request, in the
/// [`RequestAuth`] slot (added, with `state`, the first time).
fn remember(parts: &mut Parts, state: &AuthState, principal: &Option<Principal>) {
    match parts.extensions.get::<RequestAuth>() {
        Some(ctx) => {
            let _ = ctx.principal.set(principal.clone());
        }
        None => {
            let ctx = RequestAuth::new(state.clone());
            let _ = ctx.principal.set(principal.clone());
            parts.extensions.insert(ctx);
        }
    }
}

/// Finds the [`AuthState`] of an extractor: the router's state, else the
/// [`AuthLayer`](crate::AuthLayer)'s, else one the request carries in its extensions
/// (`Extension(state)`). The first two cost no lookup in the request.
pub(crate) fn auth_state<St>(parts: &Parts, state: &St) -> Result<AuthState, ApiError>
where
    AuthState: FromRef<St>,
{
    let from_state = AuthState::from_ref(state);
    if from_state.inner().is_some() {
        return Ok(from_state);
    }
    layered_state(parts).ok_or_else(ApiError::not_configured)
}

/// The `x-api-key` header. It is authoritative: present but not text is an invalid key,
/// never "no key" (which would fall through to a cookie).
fn api_key_header(parts: &Parts) -> Result<Option<&str>, ApiError> {
    match parts.headers.get(&API_KEY_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::presented(AuthError::ApiKeyInvalid)),
    }
}

/// The header an API key comes in (a constant name: looking it up parses nothing).
pub(crate) const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// The bearer token of `Authorization`, if any; a malformed header is an error.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::from(AuthError::InvalidToken))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(AuthError::InvalidToken.into()),
    }
}

/// The value of the session cookie `name`, if any: the first `name=value` pair of the
/// `Cookie` headers, the value without surrounding quotes. Read as bytes, on every request,
/// without copying or checking what else the header holds: the pairs are found with
/// `memchr` (vectorised), not by testing every byte.
pub(crate) fn session_cookie<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &str,
) -> Option<&'a str> {
    let name = name.as_bytes();
    for header in headers.get_all(header::COOKIE) {
        let mut rest = header.as_bytes();
        loop {
            let (pair, next) = match memchr::memchr(b';', rest) {
                Some(end) => match rest.split_at_checked(end) {
                    Some((pair, tail)) => (pair, tail.get(1..)),
                    None => (rest, None),
                },
                None => (rest, None),
            };
            if let Some(value) = pair
                .trim_ascii_start()
                .strip_prefix(name)
                .and_then(|value| value.strip_prefix(b"="))
            {
                return cookie_value(value);
            }
            match next {
                Some(next) => rest = next,
                None => break,
            }
        }
    }
    None
}

/// A cookie's value as text, without surrounding blanks after it and quotes around it.
fn cookie_value(value: &[u8]) -> Option<&str> {
    let mut value = value.trim_ascii_end();
    while let [b'"', inner @ ..] = value {
        value = inner;
    }
    while let [inner @ .., b'"'] = value {
        value = inner;
    }
    std::str::from_utf8(value).ok()
}

/// Refuses a cookie-authenticated unsafe request from anywhere but the app's origin.
pub(crate) fn check_origin(parts: &Parts, config: &HttpConfig) -> Result<(), ApiError> {
    if matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return Ok(());
    }
    match request_origin(&parts.headers) {
        Some(origin) if config.is_allowed_origin(&origin) => Ok(()),
        _ => Err(ApiError::csrf()),
    }
}

/// The origin a browser says the request comes from: `Origin`, or else the
/// `scheme://host[:port]` of `Referer`. `None` when neither is present, or parses.
pub(crate) fn request_origin(headers: &axum::http::HeaderMap) -> Option<String> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = text(header::ORIGIN) {
        return Some(origin.to_owned());
    }
    let referer: axum::http::Uri = text(header::REFERER)?.parse().ok()?;
    let (scheme, authority) = (referer.scheme_str()?, referer.authority()?);
    crate::config::parse_origin(&format!("{scheme}://{}", authority.as_str()))
}

/// The credential a request presents. The order is written here once: an `x-api-key`
/// header, then `Authorization: Bearer` (an API key if it has the key format and the app
/// serves keys, else a session token), then the session cookie.
enum Credential<'a> {
    None,
    ApiKey(&'a str),
    Session(&'a str, Via),
}

fn credential<'a>(parts: &'a Parts, inner: &Inner) -> Result<Credential<'a>, ApiError> {
    if let Some(key) = api_key_header(parts)? {
        return Ok(Credential::ApiKey(key));
    }
    if let Some(token) = bearer(&parts.headers)? {
        let is_key = inner.keys.as_ref().is_some_and(|k| k.looks_like_key(token));
        return Ok(if is_key {
            Credential::ApiKey(token)
        } else {
            Credential::Session(token, Via::Bearer)
        });
    }
    Ok(match session_cookie(&parts.headers, inner.cookie_name) {
        Some(cookie) => Credential::Session(cookie, Via::Cookie),
        None => Credential::None,
    })
}

/// Resolves the request's principal without waiting, when it can: a principal resolved
/// earlier, no credential at all (`Some(None)`), or a credential the caches answer. `None`
/// means "needs [`resolve`]" (a cache miss, or a credential to refuse with its reason).
/// Nothing is remembered: asking the caches again costs less than remembering.
pub(crate) fn resolve_now(parts: &Parts, state: &AuthState) -> Option<Option<Principal>> {
    if let Some(found) = remembered(parts) {
        return Some(found);
    }
    let inner = state.inner()?;
    let principal = match credential(parts, inner).ok()? {
        Credential::None => None,
        Credential::ApiKey(raw) => {
            Some(Principal::ApiKey(inner.keys.as_ref()?.verify_cached(raw)?))
        }
        Credential::Session(token, via) => {
            let auth = inner.sessions.session_cached(token)?;
            if via == Via::Cookie {
                check_origin(parts, &inner.config).ok()?;
            }
            Some(Principal::Session { auth, via })
        }
    };
    Some(principal)
}

/// Resolves the request's principal once; `Ok(None)` when no credential was presented.
/// A session cookie that no longer works counts as no credential when `lenient`.
pub(crate) async fn resolve(
    parts: &mut Parts,
    state: &AuthState,
    lenient: bool,
) -> Result<Option<Principal>, ApiError> {
    if let Some(found) = resolve_now(parts, state) {
        return Ok(found);
    }
    let Some(inner) = state.inner() else {
        return Err(ApiError::not_configured());
    };
    // The caches did not answer: ask the services, which explain any refusal. The
    // request's metadata (for audit events and rate limits) is built only here.
    let principal = match credential(parts, inner)? {
        Credential::None => None,
        Credential::ApiKey(raw) => {
            let keys = inner
                .keys
                .as_ref()
                .ok_or_else(|| ApiError::presented(AuthError::ApiKeyInvalid))?;
            let meta = request_meta(parts, &inner.config);
            let key = keys.verify(raw, &meta).await.map_err(ApiError::presented)?;
            Some(Principal::ApiKey(key))
        }
        Credential::Session(token, via) => match inner.sessions.session(token).await {
            Ok(auth) => {
                if via == Via::Cookie {
                    check_origin(parts, &inner.config)?;
                }
                Some(Principal::Session { auth, via })
            }
            Err(e) if lenient && via == Via::Cookie && is_stale_credential(&e) => None,
            Err(e) => return Err(ApiError::presented(e)),
        },
    };
    remember(parts, state, &principal);
    Ok(principal)
}

/// Errors that mean "this credential does not work any more", not "something failed".
fn is_stale_credential(error: &AuthError) -> bool {
    matches!(
        error,
        AuthError::InvalidToken
            | AuthError::NotSignedIn
            | AuthError::SessionExpired
            | AuthError::SessionRevoked
    )
}

impl<St> FromRequestParts<St> for Principal
where
    St: Send + Sync,
    AuthState: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let auth = auth_state(parts, state)?;
        resolve(parts, &auth, false)
            .await?
            .ok_or_else(|| AuthError::NotSignedIn.into())
    }
}

impl<St> OptionalFromRequestParts<St> for Principal
where
    St: Send + Sync,
    AuthState: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Option<Self>, ApiError> {
        let auth = auth_state(parts, state)?;
        resolve(parts, &auth, true).await
    }
}

/// The signed-in user (a session, or a user-owned API key); `401 NOT_SIGNED_IN` if none.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user (shared with the session cache: handing it out copies nothing).
    pub user: Arc<User>,
    /// How they authenticated.
    pub principal: Principal,
}

/// The signed-in user if there is one; never rejects for a missing or stale session cookie.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

/// The caller's session (cookie or bearer); `401 NOT_SIGNED_IN` without a credential, and
/// `403 FORBIDDEN` for an API key (a valid credential, for the wrong kind of route).
#[derive(Debug, Clone)]
pub struct CurrentSession {
    /// The session and its user.
    pub auth: Arc<Authenticated>,
    /// How it was presented.
    pub via: Via,
}

impl CurrentSession {
    /// The session.
    pub fn session(&self) -> &Session {
        &self.auth.session
    }

    /// The user.
    pub fn user(&self) -> &User {
        &self.auth.user
    }

    /// The session as the caller of a service.
    pub fn caller(&self) -> Caller {
        Caller::Session(Arc::clone(&self.auth))
    }
}

/// The verified API key of the request; anything else (no credential, a session) is
/// `401 NOT_SIGNED_IN`.
#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal(pub VerifiedKey);

async fn current_user(principal: Principal, state: &AuthState) -> Result<CurrentUser, ApiError> {
    match &principal {
        Principal::Session { auth, .. } => Ok(CurrentUser {
            user: Arc::clone(&auth.user),
            principal,
        }),
        Principal::ApiKey(key) => match key.key.owner {
            KeyOwner::User(id) => {
                let user = Arc::new(user_of(state, id).await?);
                Ok(CurrentUser { user, principal })
            }
            KeyOwner::Group(_) => {
                Err(AuthError::Forbidden("a group's API key does not act as a user".into()).into())
            }
        },
    }
}

/// The owner of a user-owned key (not cached: keys acting as users are rarer than
/// sessions, and the user record must be current).
async fn user_of(state: &AuthState, id: UserId) -> Result<User, ApiError> {
    let inner = state.inner().ok_or_else(ApiError::not_configured)?;
    Ok(inner.sessions.user(id).await?)
}

impl<St> FromRequestParts<St> for CurrentUser
where
    St: Send + Sync,
    AuthState: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let auth = auth_state(parts, state)?;
        let principal = resolve(parts, &auth, false)
            .await?
            .ok_or_else(|| ApiError::from(AuthError::NotSignedIn))?;
        current_user(principal, &auth).await
    }
}

impl<St> FromRequestParts<St> for MaybeUser
where
    St: Send + Sync,
    AuthState: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let auth = auth_state(parts, state)?;
        let Some(principal) = resolve(parts, &auth, true).await? else {
            return Ok(MaybeUser(None));
        };
        match current_user(principal, &auth).await {
            Ok(user) => Ok(MaybeUser(Some(user))),
            // A failure to look the user up is not "nobody": the store may be down.
            Err(error) if error.status().is_server_error() => Err(error),
            // A group's key, or a key whose user is gone, acts as nobody.
            Err(_) => Ok(MaybeUser(None)),
        }
    }
}

impl<St> FromRequestParts<St> for CurrentSession
where
    St: Send + Sync,
    AuthState: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let auth = auth_state(parts, state)?;
        match resolve(parts, &auth, false).await? {
            Some(principal) => CurrentSession::of(principal),
            None => Err(AuthError::NotSignedIn.into()),
        }
    }
}

impl CurrentSession {
    /// The session of `principal`; an API key is `403 FORBIDDEN` (a valid credential, for
    /// the wrong kind of route).
    pub(crate) fn of(principal: Principal) -> Result<Self, ApiError> {
        match principal {
            Principal::Session { auth, via } => Ok(CurrentSession { auth, via }),
            Principal::ApiKey(_) => Err(AuthError::Forbidden(
                "this route needs a signed-in session, not an API key".into(),
            )
            .into()),
        }
    }
}

impl<St> FromRequestParts<St> for ApiKeyPrincipal
where
    St: Send + Sync,
    AuthState: FromRef<St>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, ApiError> {
        let auth = auth_state(parts, state)?;
        match resolve(parts, &auth, false).await? {
            Some(Principal::ApiKey(key)) => Ok(ApiKeyPrincipal(key)),
            _ => Err(AuthError::NotSignedIn.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::session_cookie;

    fn cookies(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        headers
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = cookies(&[b"a=1; session=tok; b=2"]);
        assert_eq!(session_cookie(&h, "session"), Some("tok"));
        let h = cookies(&[b"a=1", b"  session=\"tok\"  "]);
        assert_eq!(session_cookie(&h, "session"), Some("tok"));
        // A value may hold '='; the first pair of the name wins.
        let h = cookies(&[b"session=a=b; session=second"]);
        assert_eq!(session_cookie(&h, "session"), Some("a=b"));
    }

    #[test]
    fn names_match_exactly() {
        for h in [
            cookies(&[b"xsession=tok"]),
            cookies(&[b"session_x=tok"]),
            cookies(&[b"session =tok"]),
            cookies(&[b"sess=tok"]),
            cookies(&[]),
        ] {
            assert_eq!(session_cookie(&h, "session"), None, "{h:?}");
        }
        let h = cookies(&[b"__Host-session=tok"]);
        assert_eq!(session_cookie(&h, "__Host-session"), Some("tok"));
        assert_eq!(session_cookie(&h, "session"), None);
    }

    #[test]
    fn the_name_counts_only_where_a_pair_begins() {
        // Inside another cookie's value, at the end of a name, or without '='.
        let h = cookies(&[b"a=session=x; session=tok"]);
        assert_eq!(session_cookie(&h, "session"), Some("tok"));
        let h = cookies(&[b"a=xsession=x;\tsession=tok;b=1"]);
        assert_eq!(session_cookie(&h, "session"), Some("tok"));
        for h in [
            cookies(&[b"a=1; session"]),
            cookies(&[b"a=1; sessionsession=tok"]),
            cookies(&[b"a=x session=tok"]),
        ] {
            assert_eq!(session_cookie(&h, "session"), None, "{h:?}");
        }
        // The value ends at the next ';'; blanks before the name do not matter.
        let h = cookies(&[b";;  session=tok ;b=2"]);
        assert_eq!(session_cookie(&h, "session"), Some("tok"));
    }

    #[test]
    fn a_value_that_is_not_text_is_no_cookie() {
        let h = cookies(&[b"session=\xff\xfe"]);
        assert_eq!(session_cookie(&h, "session"), None);
        // Other cookies' bytes do not hide it.
        let h = cookies(&[b"junk=\xff; session=tok"]);
        assert_eq!(session_cookie(&h, "session"), Some("tok"));
    }
}
