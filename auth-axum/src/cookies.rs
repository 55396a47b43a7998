//! The session cookie: `__Host-session` (or `session` on plain-http localhost), HttpOnly,
//! SameSite=Lax, Secure, Path=/, and no Domain (so it never reaches other subdomains).

use axum::http::{HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};

use crate::config::HttpConfig;

fn cookie(config: &HttpConfig, value: String, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build((config.cookie_name(), value))
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
