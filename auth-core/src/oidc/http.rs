//! The HTTP client of the relying party: timeouts, a response size cap, redirects only
//! within one origin.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use openidconnect::reqwest;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use time::Duration;
use url::Url;

/// How the relying party talks to providers (`AuthConfig::oidc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OidcHttpConfig {
    /// Whole-request timeout. Default 10 s; 1 s to 60 s.
    pub timeout: Duration,
    /// Connection timeout. Default 5 s; 1 s to 60 s.
    pub connect_timeout: Duration,
    /// The largest response body read (discovery, JWKS, token, userinfo); a longer one is
    /// refused. Default 1 MiB; 4 KiB to 16 MiB.
    pub max_response_bytes: usize,
    /// How long a provider's discovery document and keys are kept. Default 1 hour; 1 s to
    /// 1 day.
    pub cache_ttl: Duration,
    /// The least time between two key refreshes of one provider caused by unknown key ids
    /// (so tokens naming random key ids cannot make the app hammer the provider), measured
    /// on the injected clock. Default 10 s; 0 s to 1 hour.
    pub jwks_refresh_min_interval: Duration,
}

impl Default for OidcHttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::seconds(10),
            connect_timeout: Duration::seconds(5),
            max_response_bytes: 1 << 20,
            cache_ttl: Duration::HOUR,
            jwks_refresh_min_interval: Duration::seconds(10),
        }
    }
}

impl OidcHttpConfig {
    /// Checks the ranges; the failing setting and why.
    pub(crate) fn check(&self) -> Result<(), (&'static str, &'static str)> {
        let secs = |d: Duration, lo: i64, hi: i64| {
            d >= Duration::seconds(lo) && d <= Duration::seconds(hi)
        };
        if !secs(self.timeout, 1, 60) {
            return Err(("oidc.timeout", "must be 1 to 60 seconds"));
        }
        if !secs(self.connect_timeout, 1, 60) {
            return Err(("oidc.connect_timeout", "must be 1 to 60 seconds"));
        }
        if !(4096..=16 << 20).contains(&self.max_response_bytes) {
            return Err(("oidc.max_response_bytes", "must be 4 KiB to 16 MiB"));
        }
        if !secs(self.cache_ttl, 1, 86_400) {
            return Err(("oidc.cache_ttl", "must be 1 second to 1 day"));
        }
        if !secs(self.jwks_refresh_min_interval, 0, 3_600) {
            return Err((
                "oidc.jwks_refresh_min_interval",
                "must be 0 seconds to 1 hour",
            ));
        }
        Ok(())
    }
}

/// Why a request to a provider failed; never carries a body, token or secret.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// Could not connect, timed out, or the request could not be built.
    Transport,
    /// The body is larger than the cap.
    TooLarge,
    /// Not a success status (a redirect to another origin ends here too).
    Status(u16),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Transport => f.write_str("the provider could not be reached"),
            HttpError::TooLarge => f.write_str("the provider's answer is too large"),
            HttpError::Status(status) => write!(f, "the provider answered HTTP {status}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// reqwest with the configured limits.
#[derive(Clone)]
pub(crate) struct CappedHttp {
    client: reqwest::Client,
    max: usize,
}

impl fmt::Debug for CappedHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CappedHttp")
            .field("max", &self.max)
            .finish()
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl CappedHttp {
    pub(crate) fn new(config: &OidcHttpConfig) -> Result<Self, reqwest::Error> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let stay = attempt.previous().len() < 3
                && attempt
                    .previous()
                    .first()
                    .is_some_and(|first| same_origin(first, attempt.url()));
            if stay {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(config.timeout.unsigned_abs())
            .connect_timeout(config.connect_timeout.unsigned_abs())
            .redirect(policy)
            .user_agent("auth-rs-oidc")
            .build()?;
        Ok(Self {
            client,
            max: config.max_response_bytes,
        })
    }

    /// Sends `request` and reads at most the cap of its body; any status.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), HttpError> {
        let mut response = request.send().await.map_err(|error| {
            tracing::debug!(%error, "OIDC provider request failed");
            HttpError::Transport
        })?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > self.max as u64)
        {
            return Err(HttpError::TooLarge);
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| HttpError::Transport)? {
            if body.len() + chunk.len() > self.max {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }

    /// GETs `url` (with a bearer token, for userinfo), expecting a 2xx; its body and
    /// content type.
    pub(crate) async fn get(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<(Vec<u8>, String), HttpError> {
        let mut request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let (status, headers, body) = self.send(request).await?;
        if !(200..300).contains(&status) {
            return Err(HttpError::Status(status));
        }
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        Ok((body, content_type))
    }
}

impl<'c> AsyncHttpClient<'c> for CappedHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|_| HttpError::Transport)?;
            let builder = reqwest::RequestBuilder::from_parts(self.client.clone(), request);
            let (status, headers, body) = self.send(builder).await?;
            let mut response = openidconnect::http::Response::builder().status(status);
            for (name, value) in headers.iter() {
                response = response.header(name, value);
            }
            response.body(body).map_err(|_| HttpError::Transport)
        })
    }
}
