//! Per-issuer cache of discovery documents and keys, and the fetching behind it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, ProviderMetadata};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::http::{CappedHttp, HttpError, OidcHttpConfig};
use super::model::check_url;
use crate::error::{AuthError, OidcRefusal};

/// Discovery fields openidconnect does not model.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ExtraMetadata {
    /// RFC 9207: the provider sends `iss` in every authorization response.
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

/// A provider's discovery document.
pub(crate) type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// What is cached per issuer.
#[derive(Clone)]
pub(crate) struct ProviderEntry {
    pub(crate) metadata: Metadata,
    pub(crate) jwks: CoreJsonWebKeySet,
    pub(crate) jwks_fetched_at: OffsetDateTime,
}

/// The relying party's process-local state: the HTTP client and the cache. Held by
/// `Auth`; losing it costs a refetch, never a sign-in.
pub(crate) struct OidcRuntime {
    pub(crate) http: CappedHttp,
    pub(crate) config: OidcHttpConfig,
    cache: moka::sync::Cache<String, Arc<ProviderEntry>>,
    pub(crate) discovery_fetches: AtomicU64,
    pub(crate) jwks_fetches: AtomicU64,
}

fn discovery_failed(why: &'static str) -> AuthError {
    AuthError::Oidc(OidcRefusal::DiscoveryFailed(why))
}

fn fetch_failed(error: HttpError) -> AuthError {
    tracing::warn!(%error, "OIDC discovery or key fetch failed");
    discovery_failed(match error {
        HttpError::Transport => "could not be reached",
        HttpError::TooLarge => "answer too large",
        HttpError::Status(_) => "error status",
    })
}

impl OidcRuntime {
    pub(crate) fn new(config: &OidcHttpConfig) -> Result<Self, crate::error::ConfigError> {
        let http = CappedHttp::new(config).map_err(|_| crate::error::ConfigError::Invalid {
            setting: "oidc",
            reason: "the HTTP client could not be built",
        })?;
        Ok(Self {
            http,
            config: config.clone(),
            cache: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(config.cache_ttl.unsigned_abs())
                .build(),
            discovery_fetches: AtomicU64::new(0),
            jwks_fetches: AtomicU64::new(0),
        })
    }

    /// The cached entry of `issuer`, fetched when absent or stale.
    pub(crate) async fn provider(
        &self,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<ProviderEntry>, AuthError> {
        if let Some(entry) = self.cache.get(issuer) {
            return Ok(entry);
        }
        let metadata = self.discover(issuer).await?;
        let jwks = self.fetch_jwks(&metadata).await?;
        let entry = Arc::new(ProviderEntry {
            metadata,
            jwks,
            jwks_fetched_at: now,
        });
        self.cache.insert(issuer.to_owned(), Arc::clone(&entry));
        Ok(entry)
    }

    /// Refetches the keys of `entry`'s issuer unless that was done less than
    /// `jwks_refresh_min_interval` ago; `None` when it was too recent.
    pub(crate) async fn refresh_keys(
        &self,
        issuer: &str,
        entry: &ProviderEntry,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<ProviderEntry>>, AuthError> {
        if let Some(current) = self.cache.get(issuer)
            && now - current.jwks_fetched_at < self.config.jwks_refresh_min_interval
        {
            // Someone refreshed just now (maybe this very request's caller did not see it).
            if current.jwks_fetched_at > entry.jwks_fetched_at {
                return Ok(Some(current));
            }
            return Ok(None);
        }
        let jwks = self.fetch_jwks(&entry.metadata).await?;
        let fresh = Arc::new(ProviderEntry {
            metadata: entry.metadata.clone(),
            jwks,
            jwks_fetched_at: now,
        });
        self.cache.insert(issuer.to_owned(), Arc::clone(&fresh));
        Ok(Some(fresh))
    }

    async fn discover(&self, issuer: &str) -> Result<Metadata, AuthError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        self.discovery_fetches.fetch_add(1, Ordering::Relaxed);
        let (body, _) = self.http.get(&url, None).await.map_err(fetch_failed)?;
        let metadata: Metadata = serde_json::from_slice(&body)
            .map_err(|_| discovery_failed("unusable discovery document"))?;
        if metadata.issuer().as_str() != issuer {
            tracing::warn!(
                expected = issuer,
                "OIDC discovery document names another issuer"
            );
            return Err(discovery_failed(
                "the discovery document names another issuer",
            ));
        }
        // Every endpoint follows the issuer's rule: https, or http on loopback only.
        let endpoints = [
            Some(metadata.authorization_endpoint().as_str()),
            metadata.token_endpoint().map(|u| u.as_str()),
            Some(metadata.jwks_uri().as_str()),
            metadata.userinfo_endpoint().map(|u| u.as_str()),
        ];
        for endpoint in endpoints.into_iter().flatten() {
            check_url("endpoint", endpoint)
                .map_err(|_| discovery_failed("an endpoint is not https"))?;
        }
        if metadata.token_endpoint().is_none() {
            return Err(discovery_failed("no token endpoint"));
        }
        Ok(metadata)
    }

    async fn fetch_jwks(&self, metadata: &Metadata) -> Result<CoreJsonWebKeySet, AuthError> {
        self.jwks_fetches.fetch_add(1, Ordering::Relaxed);
        let (body, _) = self
            .http
            .get(metadata.jwks_uri().as_str(), None)
            .await
            .map_err(fetch_failed)?;
        serde_json::from_slice(&body).map_err(|_| discovery_failed("unusable key set"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::ErrorCode;

    /// A one-route-table HTTP stub on 127.0.0.1: answers each request with what `answer`
    /// gives for its path (status line and headers and body, raw), counting requests.
    async fn stub(
        answer: impl Fn(&str, &str) -> String + Send + Sync + 'static,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let (counter, me) = (Arc::clone(&hits), base.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
                let _ = socket.write_all(answer(&me, &path).as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        (base, hits)
    }

    fn ok_json(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn redirect(to: &str) -> String {
        format!(
            "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    }

    fn metadata(issuer: &str, base: &str) -> String {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/auth"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
        .to_string()
    }

    fn runtime() -> OidcRuntime {
        OidcRuntime::new(&OidcHttpConfig {
            max_response_bytes: 4096,
            ..OidcHttpConfig::default()
        })
        .unwrap()
    }

    fn code(result: Result<Arc<ProviderEntry>, AuthError>) -> ErrorCode {
        match result {
            Ok(_) => panic!("expected a refusal"),
            Err(error) => error.code(),
        }
    }

    fn refusal(result: Result<Arc<ProviderEntry>, AuthError>) -> String {
        match result {
            Ok(_) => panic!("expected a refusal"),
            Err(error) => {
                assert_eq!(error.code(), ErrorCode::OidcDiscoveryFailed);
                error.to_string()
            }
        }
    }

    const WELL_KNOWN: &str = "/.well-known/openid-configuration";

    #[tokio::test]
    async fn redirects_are_followed_within_the_origin_only() {
        let (elsewhere, elsewhere_hits) = stub(|base, _| ok_json(&metadata(base, base))).await;
        let target = elsewhere.clone();
        let (base, _) = stub(move |base, path| match path {
            WELL_KNOWN => redirect(&format!("{base}/moved")),
            "/moved" => ok_json(&metadata(base, base)),
            "/jwks" => ok_json(r#"{"keys":[]}"#),
            _ => redirect(&format!("{target}{WELL_KNOWN}")),
        })
        .await;
        let runtime = runtime();
        let now = OffsetDateTime::now_utc();
        // Same origin: followed.
        let entry = runtime.provider(&base, now).await.unwrap();
        assert_eq!(entry.metadata.issuer().as_str(), base);
        // To another origin (another port): not followed, refused, never reached.
        let (other, _) = stub(move |_, _| redirect(&format!("{elsewhere}{WELL_KNOWN}"))).await;
        assert_eq!(
            code(runtime.provider(&other, now).await),
            ErrorCode::OidcDiscoveryFailed
        );
        assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn answers_over_the_cap_are_refused_with_or_without_a_length() {
        let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(10_000));
        let with_length = ok_json(&big);
        let (base, _) = stub(move |_, _| with_length.clone()).await;
        let now = OffsetDateTime::now_utc();
        let why = refusal(runtime().provider(&base, now).await);
        assert!(why.contains("too large"), "{why}");
        // No content-length: the body is read up to the cap, then refused.
        let streamed = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{big}"
        );
        let (base, _) = stub(move |_, _| streamed.clone()).await;
        let why = refusal(runtime().provider(&base, now).await);
        assert!(why.contains("too large"), "{why}");
    }

    #[tokio::test]
    async fn a_document_naming_another_issuer_or_plain_http_endpoints_is_refused() {
        let (base, _) = stub(|base, path| match path {
            "/jwks" => ok_json(r#"{"keys":[]}"#),
            _ => ok_json(&metadata(&format!("{base}/other"), base)),
        })
        .await;
        let now = OffsetDateTime::now_utc();
        let why = refusal(runtime().provider(&base, now).await);
        assert!(why.contains("another issuer"), "{why}");
        let (base, _) = stub(|base, _| ok_json(&metadata(base, "http://idp.example.com"))).await;
        let why = refusal(runtime().provider(&base, now).await);
        assert!(why.contains("not https"), "{why}");
    }
}
