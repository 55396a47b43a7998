//! `auth.oidc()`: starting and finishing sign-ins with an OpenID provider.

use std::future::Future;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm,
    CoreTokenResponse,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, LoginHint, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::cache::{Metadata, ProviderEntry};
use super::model::{OidcCallback, OidcProvider, OidcStart, VerifiedIdentity, check_url};
use crate::auth::Auth;
use crate::ceremonies::{CeremonyKind, CeremonyStore};
use crate::error::{AuthError, OidcRefusal, StoreError};
use crate::secret::{SealedSecret, generate_token, is_token};

/// Signature algorithms an ID token may use: asymmetric ones only (never `none`, never a
/// MAC keyed with the client secret).
const ALGORITHMS: &[CoreJwsSigningAlgorithm] = &[
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Largest identity field taken from claims (bytes), and most groups.
const MAX_CLAIM: usize = 1024;
const MAX_GROUPS: usize = 1000;

/// The flow record kept in the ceremony (format version 1). The PKCE verifier and the
/// nonce are sealed with the app's key.
#[derive(Serialize, Deserialize)]
struct FlowRecord {
    v: u8,
    provider: String,
    issuer: String,
    client_id: String,
    redirect_uri: String,
    /// `{"pkce": .., "nonce": ..}` sealed under the context `oidc-flow:<provider>`.
    sealed: String,
}

#[derive(Serialize, Deserialize)]
struct FlowSecrets {
    pkce: String,
    nonce: String,
}

/// Counters of the provider cache, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OidcStats {
    /// Discovery documents fetched.
    pub discovery_fetches: u64,
    /// Key sets (JWKS) fetched, first fetches and refreshes.
    pub jwks_fetches: u64,
}

/// OpenID Connect sign-ins: `auth.oidc()`.
pub struct Oidc<'a, S> {
    auth: &'a Auth<S>,
}

impl<S: CeremonyStore> Auth<S> {
    /// The OpenID Connect relying party.
    pub fn oidc(&self) -> Oidc<'_, S> {
        Oidc { auth: self }
    }
}

fn refuse(refusal: OidcRefusal) -> AuthError {
    AuthError::Oidc(refusal)
}

fn token_invalid(why: &'static str) -> AuthError {
    refuse(OidcRefusal::TokenInvalid(why))
}

fn corrupt(_: impl std::fmt::Display) -> AuthError {
    AuthError::Store(StoreError::corrupt("OIDC flow record"))
}

/// The provider's error code reduced to `[a-z0-9_]`, at most 64 characters.
fn provider_error_code(error: &str) -> String {
    let code: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if code.is_empty() {
        "unknown".into()
    } else {
        code
    }
}

fn chrono_of(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

/// The openidconnect client built from a discovery document (authorization endpoint set,
/// token and userinfo endpoints maybe).
type RpClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client_for(provider: &OidcProvider, metadata: &Metadata) -> RpClient {
    CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(
            provider.client_secret.expose().to_owned(),
        )),
    )
    .set_auth_type(AuthType::BasicAuth)
}

impl<S: CeremonyStore> Oidc<'_, S> {
    fn runtime(&self) -> &super::OidcRuntime {
        &self.auth.inner().oidc
    }

    /// Counters of the discovery and key cache.
    pub fn stats(&self) -> OidcStats {
        let runtime = self.runtime();
        OidcStats {
            discovery_fetches: runtime.discovery_fetches.load(Ordering::Relaxed),
            jwks_fetches: runtime.jwks_fetches.load(Ordering::Relaxed),
        }
    }

    /// Starts a sign-in with `provider`: fetches (or reuses) its discovery document, stores
    /// a single-use flow record (PKCE verifier, nonce, provider, redirect URI; valid for
    /// [`AuthConfig::ceremony_ttl`](crate::AuthConfig::ceremony_ttl)) keyed by a new
    /// random `state`, and returns the authorization URL to send the browser to.
    /// `redirect_uri` must be https (or http on loopback) and registered at the provider;
    /// `login_hint` (an email address, at most 320 bytes) is passed on.
    #[tracing::instrument(name = "oidc.begin", skip_all, fields(provider = %provider.id))]
    pub async fn begin(
        &self,
        provider: &OidcProvider,
        redirect_uri: &str,
        login_hint: Option<&str>,
    ) -> Result<OidcStart, AuthError> {
        check_url("redirect_uri", redirect_uri)?;
        if let Some(hint) = login_hint
            && (hint.is_empty() || hint.len() > 320 || hint.chars().any(char::is_control))
        {
            return Err(AuthError::invalid("login_hint", "must be 1 to 320 bytes"));
        }
        let now = self.auth.now();
        let entry = self.runtime().provider(&provider.issuer, now).await?;
        let random = self.auth.inner().random.as_ref();
        let verifier = generate_token(random);
        let nonce = generate_token(random);
        let secrets = Zeroizing::new(
            serde_json::to_vec(&FlowSecrets {
                pkce: verifier.expose().to_owned(),
                nonce: nonce.expose().to_owned(),
            })
            .map_err(|_| AuthError::internal("flow secrets"))?,
        );
        let sealed =
            self.auth
                .secret_box()
                .seal(random, &secrets, &format!("oidc-flow:{}", provider.id))?;
        let record = FlowRecord {
            v: 1,
            provider: provider.id.clone(),
            issuer: provider.issuer.clone(),
            client_id: provider.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            sealed: sealed.to_text(),
        };
        let payload =
            serde_json::to_value(&record).map_err(|_| AuthError::internal("flow record"))?;
        let started = self
            .auth
            .ceremonies()
            .begin(CeremonyKind::OidcSignIn, None, payload)
            .await?;

        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|_| AuthError::invalid("redirect_uri", "not an absolute URL"))?;
        let client = client_for(provider, &entry.metadata).set_redirect_uri(redirect);
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            verifier.expose().to_owned(),
        ));
        let state = started.handle.expose().to_owned();
        let nonce_text = nonce.expose().to_owned();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce_text),
            )
            .set_pkce_challenge(challenge)
            .add_scopes(provider.scopes.iter().cloned().map(Scope::new));
        if let Some(hint) = login_hint {
            request = request.set_login_hint(LoginHint::new(hint.to_owned()));
        }
        for (name, value) in &provider.extra_params {
            request = request.add_extra_param(name.as_str(), value.as_str());
        }
        let (authorization_url, _, _) = request.url();
        Ok(OidcStart {
            authorization_url,
            state: started.handle,
            provider: provider.id.clone(),
            created_at: started.ceremony.created_at,
            expires_at: started.ceremony.expires_at,
        })
    }

    /// Finishes a sign-in from the provider's `callback`. The flow record named by its
    /// `state` is taken first and is spent whatever happens next (a second callback with
    /// the same `state` is `OIDC_STATE_INVALID`; a late one `OIDC_FLOW_EXPIRED`); then
    /// `resolve` is called with the provider reference given to [`Self::begin`] (e.g. a
    /// connection id) and answers that provider's current configuration (a different
    /// issuer or client id than at the start is `OIDC_STATE_INVALID`).
    ///
    /// Then: the provider's `error` (`OIDC_PROVIDER_ERROR`), `iss` against the issuer
    /// (RFC 9207; required when the provider advertises it: `OIDC_ISSUER_MISMATCH`), the
    /// code exchange with `client_secret_basic` and the PKCE verifier
    /// (`OIDC_EXCHANGE_FAILED`), and the ID token: signature against the provider's keys
    /// (an unknown key id refreshes them once), asymmetric algorithm, issuer, audience,
    /// expiry and issue time with the provider's clock skew on the injected clock, nonce
    /// (`OIDC_TOKEN_INVALID`). Userinfo is asked when configured claims are missing.
    #[tracing::instrument(name = "oidc.finish", skip_all)]
    pub async fn finish<F, Fut>(
        &self,
        callback: &OidcCallback,
        resolve: F,
    ) -> Result<VerifiedIdentity, AuthError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<OidcProvider, AuthError>>,
    {
        let result = self.finish_inner(callback, resolve).await;
        if let Err(error) = &result {
            tracing::info!(code = %error.code(), "OIDC sign-in refused");
        }
        result
    }

    async fn finish_inner<F, Fut>(
        &self,
        callback: &OidcCallback,
        resolve: F,
    ) -> Result<VerifiedIdentity, AuthError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<OidcProvider, AuthError>>,
    {
        let state = callback
            .state
            .as_deref()
            .filter(|s| is_token(s))
            .ok_or(refuse(OidcRefusal::StateInvalid))?;
        let ceremony = self
            .auth
            .ceremonies()
            .finish(CeremonyKind::OidcSignIn, state)
            .await
            .map_err(|error| match error {
                AuthError::CeremonyInvalid => refuse(OidcRefusal::StateInvalid),
                AuthError::CeremonyExpired => refuse(OidcRefusal::FlowExpired),
                other => other,
            })?;
        let record: FlowRecord = serde_json::from_value(ceremony.payload).map_err(corrupt)?;
        if record.v != 1 {
            return Err(corrupt("format version"));
        }
        let provider = &resolve(record.provider.clone()).await?;
        if record.provider != provider.id
            || record.issuer != provider.issuer
            || record.client_id != provider.client_id
        {
            return Err(refuse(OidcRefusal::StateInvalid));
        }
        if let Some(error) = &callback.error {
            tracing::debug!(
                provider = %provider.id,
                error = %provider_error_code(error),
                "OIDC provider answered with an error"
            );
            return Err(refuse(OidcRefusal::Provider {
                error: provider_error_code(error),
            }));
        }
        let now = self.auth.now();
        let entry = self.runtime().provider(&provider.issuer, now).await?;
        match &callback.iss {
            Some(iss) if *iss != provider.issuer => {
                return Err(refuse(OidcRefusal::IssuerMismatch));
            }
            None if entry
                .metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported
                == Some(true) =>
            {
                return Err(refuse(OidcRefusal::IssuerMismatch));
            }
            _ => {}
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 4096)
            .ok_or_else(|| AuthError::invalid("code", "missing or too long"))?;
        let sealed = SealedSecret::from_text(&record.sealed).ok_or_else(|| corrupt("sealed"))?;
        let opened = self
            .auth
            .secret_box()
            .open(&sealed, &format!("oidc-flow:{}", record.provider))?;
        let secrets: FlowSecrets = serde_json::from_slice(&opened).map_err(corrupt)?;

        let redirect = RedirectUrl::new(record.redirect_uri.clone()).map_err(corrupt)?;
        let client = client_for(provider, &entry.metadata).set_redirect_uri(redirect);
        let exchange = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| refuse(OidcRefusal::ExchangeFailed("no token endpoint")))?
            .set_pkce_verifier(PkceCodeVerifier::new(secrets.pkce.clone()));
        let token: CoreTokenResponse = exchange
            .request_async(&self.runtime().http)
            .await
            .map_err(|error| {
                let why = match &error {
                    RequestTokenError::ServerResponse(answer) => {
                        tracing::info!(error = %answer.error(), "OIDC token endpoint refused the code");
                        "the code was refused"
                    }
                    RequestTokenError::Request(_) => "the token endpoint could not be reached",
                    RequestTokenError::Parse(..) => "unusable token response",
                    RequestTokenError::Other(_) => "unusable token response",
                };
                refuse(OidcRefusal::ExchangeFailed(why))
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| token_invalid("no ID token in the token response"))?;
        let mut identity = self
            .verify(provider, &entry, id_token, &secrets.nonce, now)
            .await?;

        if provider.userinfo
            && missing_claims(provider, &identity.claims)
            && let Some(endpoint) = entry.metadata.userinfo_endpoint()
        {
            let info = self
                .userinfo(
                    endpoint.as_str(),
                    token.access_token().secret(),
                    &identity.subject,
                )
                .await?;
            if let Some(info) = info {
                fill_from(provider, &mut identity, &info)?;
                identity.userinfo = Some(Value::Object(info));
            }
        }
        Ok(identity)
    }

    /// Validates an ID token obtained by the app outside [`Self::finish`] (for example
    /// from a native app's own sign-in), with the `nonce` the app sent: the same checks
    /// as in `finish`. No userinfo is asked.
    #[tracing::instrument(name = "oidc.verify_id_token", skip_all, fields(provider = %provider.id))]
    pub async fn verify_id_token(
        &self,
        provider: &OidcProvider,
        id_token: &str,
        nonce: &str,
    ) -> Result<VerifiedIdentity, AuthError> {
        if id_token.len() > 16 * 1024 {
            return Err(token_invalid("too long"));
        }
        let token: CoreIdToken = id_token.parse().map_err(|_| token_invalid("malformed"))?;
        let now = self.auth.now();
        let entry = self.runtime().provider(&provider.issuer, now).await?;
        self.verify(provider, &entry, &token, nonce, now).await
    }

    async fn verify(
        &self,
        provider: &OidcProvider,
        entry: &ProviderEntry,
        id_token: &CoreIdToken,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<VerifiedIdentity, AuthError> {
        let checked = check_id_token(provider, entry, id_token, nonce, now);
        let unknown_key = matches!(
            checked,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            ))
        );
        let checked = if unknown_key {
            // The provider may have rotated its keys: refetch them once, then decide.
            match self
                .runtime()
                .refresh_keys(&provider.issuer, entry, now)
                .await?
            {
                Some(fresh) => check_id_token(provider, &fresh, id_token, nonce, now),
                None => checked,
            }
        } else {
            checked
        };
        checked.map_err(|error| {
            let why = match error {
                ClaimsVerificationError::Expired(_) => "expired or issued in the future",
                ClaimsVerificationError::InvalidAudience(_) => "wrong audience",
                ClaimsVerificationError::InvalidIssuer(_) => "wrong issuer",
                ClaimsVerificationError::InvalidNonce(_) => "wrong nonce",
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ) => "signed with an unknown key",
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::DisallowedAlg(_)
                    | SignatureVerificationError::UnsupportedAlg(_)
                    | SignatureVerificationError::NoSignature,
                ) => "algorithm not allowed",
                ClaimsVerificationError::SignatureVerification(_) => "bad signature",
                _ => "claims refused",
            };
            token_invalid(why)
        })?;
        let claims = raw_claims(id_token)?;
        identity_from(provider, claims)
    }

    /// Asks the userinfo endpoint; `None` when it answers something other than JSON (a
    /// signed userinfo JWT is not supported and is ignored).
    async fn userinfo(
        &self,
        endpoint: &str,
        access_token: &str,
        subject: &str,
    ) -> Result<Option<Map<String, Value>>, AuthError> {
        let (body, content_type) = self
            .runtime()
            .http
            .get(endpoint, Some(access_token))
            .await
            .map_err(|error| {
                tracing::warn!(%error, "OIDC userinfo request failed");
                refuse(OidcRefusal::ExchangeFailed("userinfo could not be fetched"))
            })?;
        if !content_type.starts_with("application/json") {
            tracing::debug!(%content_type, "OIDC userinfo is not JSON; ignored");
            return Ok(None);
        }
        let Ok(Value::Object(info)) = serde_json::from_slice::<Value>(&body) else {
            return Err(token_invalid("unusable userinfo answer"));
        };
        if info.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(token_invalid("userinfo names another subject"));
        }
        Ok(Some(info))
    }
}

fn check_id_token(
    provider: &OidcProvider,
    entry: &ProviderEntry,
    id_token: &CoreIdToken,
    nonce: &str,
    now: OffsetDateTime,
) -> Result<(), ClaimsVerificationError> {
    let skew = provider.clock_skew;
    let (earliest, latest) = (chrono_of(now - skew), chrono_of(now + skew));
    let issuer = IssuerUrl::new(provider.issuer.clone())
        .map_err(|_| ClaimsVerificationError::Other("issuer".into()))?;
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(provider.client_id.clone()),
        issuer,
        entry.jwks.clone(),
    )
    .set_allowed_algs(ALGORITHMS.iter().cloned())
    // `exp` is compared with "now": the skew moves now back.
    .set_time_fn(move || earliest)
    .set_issue_time_verifier_fn(move |iat| {
        if iat > latest {
            Err("issued in the future".into())
        } else {
            Ok(())
        }
    });
    id_token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map(|_| ())
}

/// The payload of a (validated) compact JWS as JSON.
fn raw_claims(id_token: &CoreIdToken) -> Result<Map<String, Value>, AuthError> {
    let text = id_token.to_string();
    let payload = text
        .split('.')
        .nth(1)
        .ok_or_else(|| token_invalid("malformed"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| token_invalid("malformed"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(token_invalid("malformed")),
    }
}

fn missing_claims(provider: &OidcProvider, claims: &Value) -> bool {
    let names = &provider.claims;
    [
        &names.email,
        &names.name,
        &names.given_name,
        &names.family_name,
        &names.groups,
    ]
    .iter()
    .any(|name| claims.get(name.as_str()).is_none())
}

fn text_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, AuthError> {
    match claims.get(name) {
        Some(Value::String(s)) if s.len() > MAX_CLAIM => Err(token_invalid("a claim is too long")),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        _ => Ok(None),
    }
}

fn groups_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, AuthError> {
    let list: Vec<String> = match claims.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => return Ok(None),
    };
    if list.len() > MAX_GROUPS || list.iter().any(|g| g.len() > MAX_CLAIM) {
        return Err(token_invalid("too many or too long groups"));
    }
    Ok(Some(list))
}

fn identity_from(
    provider: &OidcProvider,
    claims: Map<String, Value>,
) -> Result<VerifiedIdentity, AuthError> {
    let names = &provider.claims;
    let subject = text_claim(&claims, "sub")?.ok_or_else(|| token_invalid("no subject"))?;
    let issuer = text_claim(&claims, "iss")?.ok_or_else(|| token_invalid("no issuer"))?;
    let email = text_claim(&claims, &names.email)?;
    let email_verified =
        email.is_some() && claims.get(names.email_verified.as_str()) == Some(&Value::Bool(true));
    Ok(VerifiedIdentity {
        provider: provider.id.clone(),
        issuer,
        subject,
        email,
        email_verified,
        name: text_claim(&claims, &names.name)?,
        given_name: text_claim(&claims, &names.given_name)?,
        family_name: text_claim(&claims, &names.family_name)?,
        groups: groups_claim(&claims, &names.groups)?.unwrap_or_default(),
        claims: Value::Object(claims),
        userinfo: None,
    })
}

/// Fills what the ID token lacked from userinfo (the email and its verification together).
fn fill_from(
    provider: &OidcProvider,
    identity: &mut VerifiedIdentity,
    info: &Map<String, Value>,
) -> Result<(), AuthError> {
    let names = &provider.claims;
    if identity.email.is_none()
        && let Some(email) = text_claim(info, &names.email)?
    {
        identity.email_verified =
            info.get(names.email_verified.as_str()) == Some(&Value::Bool(true));
        identity.email = Some(email);
    }
    if identity.name.is_none() {
        identity.name = text_claim(info, &names.name)?;
    }
    if identity.given_name.is_none() {
        identity.given_name = text_claim(info, &names.given_name)?;
    }
    if identity.family_name.is_none() {
        identity.family_name = text_claim(info, &names.family_name)?;
    }
    if identity.claims.get(names.groups.as_str()).is_none()
        && let Some(groups) = groups_claim(info, &names.groups)?
    {
        identity.groups = groups;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_error_codes_are_reduced() {
        assert_eq!(provider_error_code("access_denied"), "access_denied");
        assert_eq!(provider_error_code("<script>x</script>"), "scriptxscript");
        assert_eq!(provider_error_code(""), "unknown");
        assert_eq!(provider_error_code(&"a".repeat(500)).len(), 64);
    }

    fn provider() -> OidcProvider {
        OidcProvider::new(
            "p",
            "https://idp.example.com",
            "client",
            crate::Secret::new("s3cret"),
        )
        .unwrap()
    }

    #[test]
    fn email_verified_only_when_literally_true() {
        for (value, verified) in [
            (serde_json::json!(true), true),
            (serde_json::json!("true"), false),
            (serde_json::json!(1), false),
            (serde_json::json!(false), false),
        ] {
            let claims = serde_json::json!({
                "iss": "https://idp.example.com", "sub": "u1",
                "email": "a@example.com", "email_verified": value,
            });
            let Value::Object(map) = claims else {
                unreachable!()
            };
            assert_eq!(
                identity_from(&provider(), map).unwrap().email_verified,
                verified
            );
        }
        // No email: never verified.
        let Value::Object(map) = serde_json::json!({
            "iss": "https://idp.example.com", "sub": "u1", "email_verified": true,
        }) else {
            unreachable!()
        };
        let identity = identity_from(&provider(), map).unwrap();
        assert!(!identity.email_verified);
        assert!(identity.groups.is_empty());
    }
}
