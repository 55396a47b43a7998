//! The session cookie: `__Host-session` (or `session` on plain-http localhost), HttpOnly,
//! SameSite=Lax, Secure, Path=/, and no Domain (so it never reaches other subdomains).

use axum::http::{HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};

use crate::config::HttpConfig;

fn cookie(config: &HttpConfig, value: String, max_age: time::Duration) -> Cookie<'static> {
    named(config.cookie_name(), config, value, max_age)
}

fn named(
    name: &'static str,
    config: &HttpConfig,
    value: String,
    max_age: time::Duration,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(config.cookies_secure())
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .build()
}

fn append(response: &mut Response, cookie: Cookie<'static>) {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Sets the session cookie to `token`, living `max_age`.
pub(crate) fn set_session(
    response: &mut Response,
    config: &HttpConfig,
    token: &str,
    max_age: time::Duration,
) {
    append(response, cookie(config, token.to_owned(), max_age));
}

/// Clears the session cookie.
pub(crate) fn clear_session(response: &mut Response, config: &HttpConfig) {
    append(
        response,
        cookie(config, String::new(), time::Duration::ZERO),
    );
}

/// The name of the cookie binding an SSO flow to the browser: `__Host-sso-flow`, or
/// `sso-flow` where the session cookie is not `__Host-` prefixed.
#[cfg(any(feature = "oidc", feature = "saml"))]
pub(crate) fn sso_flow_name(config: &HttpConfig) -> &'static str {
    if config.cookies_secure() {
        "__Host-sso-flow"
    } else {
        "sso-flow"
    }
}

/// Binds an SSO flow to this browser: its handle (OIDC `state`, SAML `RelayState`),
/// HttpOnly, living as long as the flow. SameSite=None where cookies are Secure: a SAML
/// IdP posts its response to the ACS from its own site, and a Lax cookie would not come
/// with it; the cookie holds only the flow's random handle, never a credential. On
/// plain-http localhost it is Lax (browsers refuse None without Secure), which a local IdP
/// on the same host (a same-site post) still gets.
#[cfg(any(feature = "oidc", feature = "saml"))]
pub(crate) fn set_sso_flow(
    response: &mut Response,
    config: &HttpConfig,
    state: &str,
    max_age: time::Duration,
) {
    let mut cookie = named(sso_flow_name(config), config, state.to_owned(), max_age);
    if config.cookies_secure() {
        cookie.set_same_site(SameSite::None);
    }
    append(response, cookie);
}

/// Clears the SSO flow cookie (the callback spends it, whatever the outcome).
#[cfg(any(feature = "oidc", feature = "saml"))]
pub(crate) fn clear_sso_flow(response: &mut Response, config: &HttpConfig) {
    let cookie = named(
        sso_flow_name(config),
        config,
        String::new(),
        time::Duration::ZERO,
    );
    append(response, cookie);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    #[test]
    fn secure_cookie_has_every_attribute() {
        let config = HttpConfig::new("https://app.example.com").unwrap();
        let mut response = ().into_response();
        set_session(&mut response, &config, "tok", time::Duration::days(30));
        let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
        for part in [
            "__Host-session=tok",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=2592000",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        assert!(!set.contains("Domain"));
    }

    #[test]
    fn localhost_cookie_is_not_secure_and_not_host_prefixed() {
        let config = HttpConfig::localhost("http://localhost:3000").unwrap();
        let mut response = ().into_response();
        clear_session(&mut response, &config);
        let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(set.starts_with("session=;") && set.contains("Max-Age=0"));
        assert!(!set.contains("Secure"));
    }
}
