//! HTTP settings: the public origin, cookies, proxies, CORS, body size.

use auth_core::ConfigError;

use crate::proxy::TrustedProxies;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// The app's public origin (`https://app.example.com`): cookie-authenticated requests
    /// with an unsafe method must come from it (or from `extra_origins`).
    pub origin: String,
    /// More origins whose pages may send cookie-authenticated unsafe requests.
    pub extra_origins: Vec<String>,
    /// Cookies are `Secure` and `__Host-` prefixed. Only [`HttpConfig::localhost`] turns
    /// this off, for plain `http://localhost` development; set to `false` for any other
    /// origin, it is ignored (see [`HttpConfig::cookies_secure`]).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` is believed. Empty (the default): the client is
    /// the connecting peer and the header is ignored. Otherwise, when the peer is one of
    /// them, the client is the right-most hop of the header that is not one of them. Set
    /// with [`HttpConfig::behind_proxy`].
    pub trusted_proxies: TrustedProxies,
    /// Origins allowed to call the API cross-origin with tokens (CORS); empty: no CORS.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes. Default 1 MiB.
    pub body_limit: usize,
    /// Where the SSO callback sends the browser after a sign-in (a path of the app, `/` by
    /// default), with `?sso_error=<CODE>` after a refusal. Set with
    /// [`HttpConfig::sso_return_to`].
    sso_return_path: String,
}

fn origin_of(url: &str) -> Result<String, ConfigError> {
    parse_origin(url).ok_or(ConfigError::Invalid {
        setting: "http.origin",
        reason: "an origin is scheme://host[:port], e.g. https://app.example.com",
    })
}

/// `scheme://host[:port]`, lowercased, if `text` is exactly an http(s) origin: no path,
/// query, fragment or user info, and a numeric port.
pub(crate) fn parse_origin(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    if !(scheme == "https" || scheme == "http")
        || rest.is_empty()
        || rest.contains(['/', '?', '#', '@'])
    {
        return None;
    }
    let uri: axum::http::Uri = text.parse().ok()?;
    if uri.authority()?.host().is_empty() {
        return None;
    }
    // After an IPv6 literal's `]`, or anywhere in a name, a `:` starts the port.
    let after_host = rest.rsplit_once(']').map_or(rest, |(_, tail)| tail);
    if let Some((_, port)) = after_host.rsplit_once(':')
        && (port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        return None;
    }
    Some(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

fn is_localhost(origin: &str) -> bool {
    let host_port = origin.split_once("://").map_or("", |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

impl HttpConfig {
    /// Production settings for the app served at `origin` (`https://...`): secure,
    /// `__Host-` cookies.
    pub fn new(origin: &str) -> Result<Self, ConfigError> {
        let origin = origin_of(origin)?;
        if !origin.starts_with("https://") && !is_localhost(&origin) {
            return Err(ConfigError::Invalid {
                setting: "http.origin",
                reason: "the origin must be https:// (or localhost)",
            });
        }
        Ok(Self {
            origin,
            extra_origins: Vec::new(),
            secure_cookies: true,
            trusted_proxies: TrustedProxies::default(),
            cors_origins: Vec::new(),
            body_limit: 1 << 20,
            sso_return_path: "/".to_owned(),
        })
    }

    /// Development settings for plain `http://localhost:PORT` (or 127.0.0.1): cookies
    /// without `Secure`, so a browser keeps them over http. Refused for any other host.
    pub fn localhost(origin: &str) -> Result<Self, ConfigError> {
        let mut config = Self::new(origin)?;
        if !is_localhost(&config.origin) {
            return Err(ConfigError::Invalid {
                setting: "http.secure_cookies",
                reason: "insecure cookies are only allowed on localhost",
            });
        }
        config.secure_cookies = false;
        Ok(config)
    }

    /// Adds an origin allowed to send cookie-authenticated unsafe requests.
    pub fn allow_origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.extra_origins.push(origin_of(origin)?);
        Ok(self)
    }

    /// Allows cross-origin token clients from `origin` (CORS).
    pub fn cors(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.cors_origins.push(origin_of(origin)?);
        Ok(self)
    }

    /// Believes `X-Forwarded-For` from these proxies (addresses, or networks in CIDR form:
    /// `["10.0.0.0/8", "fd00::/8"]`): a request whose connecting peer is one of them comes
    /// from the right-most hop of the header that is not one of them (hops left of it are
    /// whatever the client wrote). `INVALID` config error for a malformed entry or an
    /// empty list. Name every proxy tier in front of the app, and nothing else.
    pub fn behind_proxy<I>(mut self, proxies: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.trusted_proxies = TrustedProxies::parse(proxies)?;
        Ok(self)
    }

    /// Sets where the SSO callback sends the browser: a path of this app (one leading `/`,
    /// visible ASCII, no `\\` or `#`, at most 512 bytes), so the redirect never leaves the
    /// app.
    pub fn sso_return_to(mut self, path: &str) -> Result<Self, ConfigError> {
        let ok = path.starts_with('/')
            && !path.starts_with("//")
            && path.len() <= 512
            && !path.contains('#')
            && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
        if !ok {
            return Err(ConfigError::Invalid {
                setting: "http.sso_return_path",
                reason: "a path of the app: starts with one /, visible ASCII, no \\ or #",
            });
        }
        self.sso_return_path = path.to_owned();
        Ok(self)
    }

    /// Where the SSO callback sends the browser (see [`HttpConfig::sso_return_to`]).
    pub fn sso_return_path(&self) -> &str {
        &self.sso_return_path
    }

    /// Whether cookies are `Secure`: always, unless `secure_cookies` is off and the origin
    /// is localhost.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies || !is_localhost(&self.origin)
    }

    /// The session cookie's name: `__Host-session` when secure, `session` otherwise.
    pub fn cookie_name(&self) -> &'static str {
        if self.cookies_secure() {
            "__Host-session"
        } else {
            "session"
        }
    }

    /// Whether `origin` may send cookie-authenticated unsafe requests.
    pub fn is_allowed_origin(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        origin == self.origin || self.extra_origins.contains(&origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_validated() {
        assert!(HttpConfig::new("https://app.example.com").is_ok());
        assert!(HttpConfig::new("https://APP.example.com:8443").is_ok());
        for bad in [
            "app.example.com",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://a/",
            "http://app.example.com",
            "http://localhost:3000@evil.example",
            "http://localhost:abc",
            "https://app.example.com?x",
        ] {
            assert!(HttpConfig::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn insecure_cookies_only_on_localhost() {
        let dev = HttpConfig::localhost("http://127.0.0.1:3000").unwrap();
        assert!(!dev.secure_cookies);
        assert_eq!(dev.cookie_name(), "session");
        assert!(HttpConfig::localhost("http://localhost:3000").is_ok());
        assert!(HttpConfig::localhost("http://[::1]:3000").is_ok());
        assert!(HttpConfig::localhost("https://app.example.com").is_err());
        let mut prod = HttpConfig::new("https://app.example.com").unwrap();
        assert_eq!(prod.cookie_name(), "__Host-session");
        // Switching the field off by hand does not get around the rule.
        prod.secure_cookies = false;
        assert!(prod.cookies_secure());
        assert_eq!(prod.cookie_name(), "__Host-session");
    }

    #[test]
    fn allowed_origins_compare_exactly() {
        let c = HttpConfig::new("https://app.example.com")
            .unwrap()
            .allow_origin("https://admin.example.com")
            .unwrap();
        assert!(c.is_allowed_origin("https://app.example.com"));
        assert!(c.is_allowed_origin("https://ADMIN.example.com"));
        assert!(!c.is_allowed_origin("https://app.example.com.evil.test"));
        assert!(!c.is_allowed_origin("http://app.example.com"));
    }
}
