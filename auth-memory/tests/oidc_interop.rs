//! The OpenID Connect relying party against a real provider: npm `oidc-provider` 8.x
//! (tests/idp/oidc.mjs) on 127.0.0.1, signed in through tests/idp/drive-oidc.mjs. Needs
//! Node and tests/idp/node_modules (`scripts/setup.sh`); prints SKIPPED otherwise.

use std::net::TcpListener;

use auth_core::oidc::{ClaimNames, OidcCallback, OidcProvider, VerifiedIdentity};
use auth_core::{Auth, AuthConfig, AuthError, ErrorCode, Secret, SecretKey, TestClock};
use auth_memory::MemoryStore;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse, reqwest,
};
use time::{Duration, OffsetDateTime};

const CLIENT_ID: &str = "auth-rs-test";
const CLIENT_SECRET: &str = "auth-rs-test-secret-0123456789abcdef";
const REDIRECT: &str = "http://127.0.0.1:3000/sso/oidc/callback";

#[path = "../../tests/idp/rust/mod.rs"]
mod idp;

use idp::oidc::{Idp, available};

/// The test provider as a client of it.
trait AsProvider {
    fn provider(&self) -> OidcProvider;
}

impl AsProvider for Idp {
    fn provider(&self) -> OidcProvider {
        OidcProvider::new(
            "test-idp",
            &self.issuer,
            CLIENT_ID,
            Secret::new(CLIENT_SECRET),
        )
        .unwrap()
        .scopes(["email", "profile", "groups"])
        .unwrap()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Plays the browser: signs `login` in and answers the callback URL (not requested).
fn drive(url: &str, login: &str) -> openidconnect::url::Url {
    openidconnect::url::Url::parse(&idp::oidc::drive(url, login)).unwrap()
}

fn callback_of(url: &openidconnect::url::Url) -> OidcCallback {
    let mut callback = OidcCallback::default();
    for (k, v) in url.query_pairs() {
        let v = Some(v.into_owned());
        match &*k {
            "code" => callback.code = v,
            "state" => callback.state = v,
            "iss" => callback.iss = v,
            "error" => callback.error = v,
            "error_description" => callback.error_description = v,
            _ => {}
        }
    }
    callback
}

fn auth_with(clock: &TestClock, config: AuthConfig) -> Auth<MemoryStore> {
    Auth::builder(MemoryStore::new())
        .clock(clock.clone())
        .secret_key(SecretKey::generate())
        .config(config)
        .build()
        .unwrap()
}

fn new_auth() -> (Auth<MemoryStore>, TestClock) {
    // The provider's tokens carry real times: the injected clock starts at the real now.
    let clock = TestClock::at(OffsetDateTime::now_utc());
    (auth_with(&clock, AuthConfig::default()), clock)
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

async fn finish(
    auth: &Auth<MemoryStore>,
    provider: &OidcProvider,
    callback: &OidcCallback,
) -> Result<VerifiedIdentity, AuthError> {
    let provider = provider.clone();
    // The future is Send (an axum handler needs that).
    assert_send(auth.oidc().finish(callback, move |id| async move {
        assert_eq!(id, provider.id());
        Ok(provider)
    }))
    .await
}

fn code_of<T>(result: Result<T, AuthError>) -> ErrorCode {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(error) => error.code(),
    }
}

/// Signs `login` in through the whole flow.
async fn sign_in(
    auth: &Auth<MemoryStore>,
    provider: &OidcProvider,
    login: &str,
) -> (OidcCallback, Result<VerifiedIdentity, AuthError>) {
    let start = auth.oidc().begin(provider, REDIRECT, None).await.unwrap();
    let callback = callback_of(&drive(start.authorization_url.as_str(), login));
    let result = finish(auth, provider, &callback).await;
    (callback, result)
}

#[tokio::test]
async fn alice_signs_in_with_her_groups_once_per_state() {
    if !available("alice_signs_in_with_her_groups_once_per_state") {
        return;
    }
    let idp = Idp::start(0, REDIRECT);
    let provider = idp.provider();
    let (auth, _clock) = new_auth();
    let start = auth
        .oidc()
        .begin(&provider, REDIRECT, Some("alice@example.com"))
        .await
        .unwrap();
    let url = start.authorization_url.to_string();
    for part in [
        "response_type=code",
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        "login_hint=alice%40example.com",
        "scope=openid+email+profile+groups",
    ] {
        assert!(url.contains(part), "{part} in {url}");
    }
    assert!(url.contains(&format!("state={}", start.state.expose())));
    assert!(!format!("{start:?}").contains(start.state.expose()));

    let callback = callback_of(&drive(&url, "alice"));
    assert_eq!(callback.iss.as_deref(), Some(idp.issuer.as_str()));
    let alice = finish(&auth, &provider, &callback).await.unwrap();
    assert_eq!(alice.issuer, idp.issuer);
    assert_eq!(alice.subject, "u-alice-0001");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert!(alice.email_verified);
    assert_eq!(alice.name.as_deref(), Some("Alice Anders"));
    assert_eq!(alice.given_name.as_deref(), Some("Alice"));
    assert_eq!(alice.family_name.as_deref(), Some("Anders"));
    assert_eq!(alice.groups, ["engineering", "admins"]);
    assert_eq!(alice.claims["aud"], CLIENT_ID);

    // The same callback again: the flow is single use.
    assert_eq!(
        code_of(finish(&auth, &provider, &callback).await),
        ErrorCode::OidcStateInvalid
    );
    // One discovery and one key fetch for both.
    let stats = auth.oidc().stats();
    assert_eq!((stats.discovery_fetches, stats.jwks_fetches), (1, 1));
}

#[tokio::test]
async fn mallorys_email_is_not_verified() {
    if !available("mallorys_email_is_not_verified") {
        return;
    }
    let idp = Idp::start(0, REDIRECT);
    let (auth, _clock) = new_auth();
    let (_, mallory) = sign_in(&auth, &idp.provider(), "mallory").await;
    let mallory = mallory.unwrap();
    assert_eq!(mallory.subject, "u-mallory-0003");
    assert_eq!(mallory.email.as_deref(), Some("alice@example.com"));
    assert!(!mallory.email_verified);
    assert!(mallory.groups.is_empty());
}

#[tokio::test]
async fn tampered_state_wrong_issuer_and_provider_errors_are_refused() {
    if !available("tampered_state_wrong_issuer_and_provider_errors_are_refused") {
        return;
    }
    let idp = Idp::start(0, REDIRECT);
    let provider = idp.provider();
    let (auth, _clock) = new_auth();
    let start = auth.oidc().begin(&provider, REDIRECT, None).await.unwrap();
    let callback = callback_of(&drive(start.authorization_url.as_str(), "bob"));

    // A state changed in one character, cut, or missing: refused, the flow stays.
    let state = callback.state.clone().unwrap();
    let flipped = if state.starts_with('A') { "B" } else { "A" };
    for bad in [
        Some(format!("{flipped}{}", &state[1..])),
        Some(state[..20].to_owned()),
        None,
    ] {
        let tampered = OidcCallback {
            state: bad,
            ..callback.clone()
        };
        assert_eq!(
            code_of(finish(&auth, &provider, &tampered).await),
            ErrorCode::OidcStateInvalid
        );
    }
    // Another issuer in `iss` (a mix-up): refused, and the flow is spent.
    let mixed_up = OidcCallback {
        iss: Some("https://evil.example.com".into()),
        ..callback.clone()
    };
    assert_eq!(
        code_of(finish(&auth, &provider, &mixed_up).await),
        ErrorCode::OidcIssuerMismatch
    );
    assert_eq!(
        code_of(finish(&auth, &provider, &callback).await),
        ErrorCode::OidcStateInvalid
    );

    // No `iss` although the provider advertises it (RFC 9207): refused.
    let start = auth.oidc().begin(&provider, REDIRECT, None).await.unwrap();
    let callback = callback_of(&drive(start.authorization_url.as_str(), "bob"));
    let without_iss = OidcCallback {
        iss: None,
        ..callback.clone()
    };
    assert_eq!(
        code_of(finish(&auth, &provider, &without_iss).await),
        ErrorCode::OidcIssuerMismatch
    );

    // A real provider error: prompt=none without a session is login_required.
    let silent = provider.clone().extra_param("prompt", "none").unwrap();
    let start = auth.oidc().begin(&silent, REDIRECT, None).await.unwrap();
    let answer = callback_of(&drive(start.authorization_url.as_str(), "alice"));
    assert_eq!(answer.error.as_deref(), Some("login_required"));
    match finish(&auth, &silent, &answer).await {
        Err(AuthError::Oidc(auth_core::OidcRefusal::Provider { error })) => {
            assert_eq!(error, "login_required")
        }
        other => panic!("{other:?}"),
    }
    // error=access_denied (the user said no) on a live flow.
    let start = auth.oidc().begin(&provider, REDIRECT, None).await.unwrap();
    let denied = OidcCallback {
        state: Some(start.state.expose().to_owned()),
        error: Some("access_denied".into()),
        error_description: Some("secret-ish <b>text</b>".into()),
        ..OidcCallback::default()
    };
    let error = finish(&auth, &provider, &denied).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::OidcProviderError);
    assert_eq!(error.code().as_str(), "OIDC_PROVIDER_ERROR");
    assert!(error.to_string().contains("access_denied"));
    assert!(!error.to_string().contains("secret-ish"));
    // A flow of another provider reference is refused.
    let start = auth.oidc().begin(&provider, REDIRECT, None).await.unwrap();
    let other = OidcProvider::new("other", &idp.issuer, "other-client", Secret::new("x")).unwrap();
    let callback = OidcCallback {
        state: Some(start.state.expose().to_owned()),
        code: Some("whatever".into()),
        ..OidcCallback::default()
    };
    let result = auth
        .oidc()
        .finish(&callback, move |_| async move { Ok(other) })
        .await;
    assert_eq!(code_of(result), ErrorCode::OidcStateInvalid);
}

#[tokio::test]
async fn userinfo_is_asked_when_a_configured_claim_is_missing() {
    if !available("userinfo_is_asked_when_a_configured_claim_is_missing") {
        return;
    }
    let idp = Idp::start(0, REDIRECT);
    let (auth, _clock) = new_auth();
    let mut names = ClaimNames::default();
    names.family_name = "surname".into();
    let provider = idp.provider().claims(names).unwrap();
    let (_, bob) = sign_in(&auth, &provider, "bob").await;
    let bob = bob.unwrap();
    let info = bob.userinfo.expect("userinfo asked");
    assert_eq!(info["sub"], "u-bob-0002");
    assert_eq!(info["email"], "bob@example.com");
    assert_eq!(bob.family_name, None);
    assert_eq!(bob.groups, ["sales"]);
    // Not when told not to.
    let (_, bob) = sign_in(&auth, &provider.userinfo(false), "bob").await;
    assert_eq!(bob.unwrap().userinfo, None);
    // Nor when the ID token has every configured claim.
    let (_, bob) = sign_in(&auth, &idp.provider(), "bob").await;
    assert_eq!(bob.unwrap().userinfo, None);
}

#[tokio::test]
async fn an_expired_flow_is_refused() {
    if !available("an_expired_flow_is_refused") {
        return;
    }
    let idp = Idp::start(0, REDIRECT);
    let provider = idp.provider();
    let (auth, clock) = new_auth();
    let start = auth.oidc().begin(&provider, REDIRECT, None).await.unwrap();
    assert_eq!(start.expires_at - start.created_at, Duration::minutes(5));
    let callback = callback_of(&drive(start.authorization_url.as_str(), "alice"));
    clock.advance(Duration::minutes(5));
    assert_eq!(
        code_of(finish(&auth, &provider, &callback).await),
        ErrorCode::OidcFlowExpired
    );
}

/// A raw ID token for `client` (authorization code flow done by openidconnect directly),
/// with the nonce it was requested with.
async fn raw_id_token(issuer: &str, client_id: &str, secret: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.into()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let callback = callback_of(&drive(url.as_str(), "bob"));
    let token = client
        .exchange_code(AuthorizationCode::new(callback.code.unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    (
        token.id_token().unwrap().to_string(),
        nonce.secret().clone(),
    )
}

/// Registers another client at the provider (dynamic registration): its id and secret.
async fn register_client(issuer: &str) -> (String, String) {
    let body = reqwest::Client::new()
        .post(format!("{issuer}/reg"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "redirect_uris": [REDIRECT] }).to_string())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    (
        answer["client_id"].as_str().unwrap().to_owned(),
        answer["client_secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn wrong_audience_wrong_nonce_and_expired_tokens_are_refused() {
    if !available("wrong_audience_wrong_nonce_and_expired_tokens_are_refused") {
        return;
    }
    let idp = Idp::start(0, REDIRECT);
    let (auth, clock) = new_auth();
    let (other_id, other_secret) = register_client(&idp.issuer).await;
    let other =
        OidcProvider::new("other", &idp.issuer, &other_id, Secret::new(&*other_secret)).unwrap();
    let (token, nonce) = raw_id_token(&idp.issuer, &other_id, &other_secret).await;
    // Its own client accepts it (so the refusals below are about what they change).
    let bob = auth
        .oidc()
        .verify_id_token(&other, &token, &nonce)
        .await
        .unwrap();
    assert_eq!(bob.subject, "u-bob-0002");
    let refused = |result: Result<VerifiedIdentity, AuthError>, why: &str| {
        let error = result.unwrap_err();
        assert_eq!(error.code(), ErrorCode::OidcTokenInvalid, "{error}");
        assert!(error.to_string().contains(why), "{error}");
        assert!(!error.to_string().contains(&token[..30]));
    };
    // Another client (the test IdP's default one) must not accept it.
    refused(
        auth.oidc()
            .verify_id_token(&idp.provider(), &token, &nonce)
            .await,
        "wrong audience",
    );
    refused(
        auth.oidc()
            .verify_id_token(&other, &token, "another-nonce")
            .await,
        "wrong nonce",
    );
    // A byte of the payload changed: the signature no longer holds.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    let tampered = parts.join(".");
    assert_eq!(
        code_of(auth.oidc().verify_id_token(&other, &tampered, &nonce).await),
        ErrorCode::OidcTokenInvalid
    );
    // Unsigned (alg none) is refused.
    let unsigned = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert_eq!(
        code_of(auth.oidc().verify_id_token(&other, &unsigned, &nonce).await),
        ErrorCode::OidcTokenInvalid
    );
    // ID tokens live 10 minutes; past that plus the 60 s skew on the injected clock: expired.
    clock.advance(Duration::minutes(10) + Duration::seconds(30));
    auth.oidc()
        .verify_id_token(&other, &token, &nonce)
        .await
        .expect("within the skew");
    clock.advance(Duration::seconds(40));
    refused(
        auth.oidc().verify_id_token(&other, &token, &nonce).await,
        "expired",
    );
}

fn base64_url(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn an_unknown_key_id_refreshes_the_keys_once() {
    if !available("an_unknown_key_id_refreshes_the_keys_once") {
        return;
    }
    let port = free_port();
    let mut idp = Idp::start(port, REDIRECT);
    let clock = TestClock::at(OffsetDateTime::now_utc());
    let mut config = AuthConfig::default();
    config.oidc.jwks_refresh_min_interval = Duration::ZERO;
    let auth = auth_with(&clock, config);
    let provider = idp.provider();

    // A token signed with the first run's key; keys fetched once.
    let (old_token, old_nonce) = raw_id_token(&idp.issuer, CLIENT_ID, CLIENT_SECRET).await;
    auth.oidc()
        .verify_id_token(&provider, &old_token, &old_nonce)
        .await
        .unwrap();
    assert_eq!(auth.oidc().stats().jwks_fetches, 1);

    // The provider restarts with a new key on the same issuer: the cached keys do not
    // know it, one refresh finds it.
    drop(idp);
    idp = Idp::start(port, REDIRECT);
    // Let the client's pool notice the old process's connections closed.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, alice) = sign_in(&auth, &provider, "alice").await;
    assert_eq!(alice.unwrap().subject, "u-alice-0001");
    let stats = auth.oidc().stats();
    assert_eq!((stats.discovery_fetches, stats.jwks_fetches), (1, 2));
    // Known keys now: no refetch.
    let (_, bob) = sign_in(&auth, &provider, "bob").await;
    assert_eq!(bob.unwrap().subject, "u-bob-0002");
    assert_eq!(auth.oidc().stats().jwks_fetches, 2);

    // The old key is gone for good: one refresh, then refused.
    let error = auth
        .oidc()
        .verify_id_token(&provider, &old_token, &old_nonce)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::OidcTokenInvalid);
    assert!(error.to_string().contains("unknown key"), "{error}");
    assert_eq!(auth.oidc().stats().jwks_fetches, 3);
    drop(idp);
}

#[tokio::test]
async fn with_the_default_interval_unknown_keys_do_not_hammer_the_provider() {
    if !available("with_the_default_interval_unknown_keys_do_not_hammer_the_provider") {
        return;
    }
    let port = free_port();
    let idp = Idp::start(port, REDIRECT);
    let (auth, clock) = new_auth();
    let provider = idp.provider();
    let (old_token, old_nonce) = raw_id_token(&idp.issuer, CLIENT_ID, CLIENT_SECRET).await;
    drop(idp);
    let idp = Idp::start(port, REDIRECT);
    // The first sight of the key set is this very call: no refresh right after it.
    let (token, nonce) = raw_id_token(&idp.issuer, CLIENT_ID, CLIENT_SECRET).await;
    auth.oidc()
        .verify_id_token(&provider, &token, &nonce)
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            code_of(
                auth.oidc()
                    .verify_id_token(&provider, &old_token, &old_nonce)
                    .await
            ),
            ErrorCode::OidcTokenInvalid
        );
    }
    assert_eq!(auth.oidc().stats().jwks_fetches, 1);
    // After the interval, one refresh again.
    clock.advance(Duration::seconds(10));
    assert_eq!(
        code_of(
            auth.oidc()
                .verify_id_token(&provider, &old_token, &old_nonce)
                .await
        ),
        ErrorCode::OidcTokenInvalid
    );
    assert_eq!(auth.oidc().stats().jwks_fetches, 2);
}

#[test]
fn provider_configuration_is_validated() {
    let ok = |issuer: &str| OidcProvider::new("p", issuer, "c", Secret::new("s")).is_ok();
    assert!(ok("https://idp.example.com"));
    assert!(ok("https://login.example.com/tenant/v2.0"));
    assert!(ok("http://127.0.0.1:8080"));
    assert!(ok("http://localhost:8080"));
    assert!(ok("http://[::1]:8080"));
    for bad in [
        "http://idp.example.com",
        "http://10.0.0.1",
        "ftp://idp.example.com",
        "idp.example.com",
        "https://user:pw@idp.example.com",
        "https://idp.example.com/#x",
        "https://idp.example.com/?x=1",
    ] {
        let error = OidcProvider::new("p", bad, "c", Secret::new("s")).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidInput, "{bad}");
    }
    let provider =
        OidcProvider::new("p", "https://idp.example.com", "c", Secret::new("hunter2")).unwrap();
    assert!(!format!("{provider:?}").contains("hunter2"));
    for reserved in [
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "scope",
        "Scope",
        "request_uri",
    ] {
        assert!(
            provider.clone().extra_param(reserved, "x").is_err(),
            "{reserved}"
        );
    }
    assert!(
        provider
            .clone()
            .extra_param("prompt", "select_account")
            .is_ok()
    );
    assert!(provider.clone().extra_param("hd", "bad\nvalue").is_err());
    assert!(provider.clone().scopes(["email", "bad scope"]).is_err());
    let scoped = provider
        .clone()
        .scopes(["openid", "email", "email"])
        .unwrap();
    assert_eq!(scoped.scope_list(), ["email"]);
    assert!(provider.clone().clock_skew(Duration::minutes(6)).is_err());
}

#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_code_state_or_secret_reaches_logs_or_errors() {
    if !available("no_code_state_or_secret_reaches_logs_or_errors") {
        return;
    }
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("auth_core=trace,openidconnect=trace,oauth2=trace,reqwest=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // A current-thread runtime: every poll, the client's connection tasks included, sees it.
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests of this binary run on other threads without this subscriber; a callsite
    // first hit there may have cached "never"; recompute with this one registered.
    tracing::callsite::rebuild_interest_cache();

    let idp = Idp::start(0, REDIRECT);
    let provider = idp.provider();
    let (auth, _clock) = new_auth();
    let (callback, alice) = sign_in(&auth, &provider, "alice").await;
    alice.unwrap();
    let mut errors = Vec::new();
    errors.push(format!("{:?}", finish(&auth, &provider, &callback).await));
    let start = auth.oidc().begin(&provider, REDIRECT, None).await.unwrap();
    let other = callback_of(&drive(start.authorization_url.as_str(), "bob"));
    let wrong_iss = OidcCallback {
        iss: Some("https://evil.example.com".into()),
        ..other.clone()
    };
    errors.push(format!("{:?}", finish(&auth, &provider, &wrong_iss).await));
    errors.push(format!("{callback:?} {start:?} {provider:?}"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works (the refusals are logged), so the checks below can fail.
    assert!(
        logs.contains("OIDC sign-in refused code=OIDC_ISSUER_MISMATCH"),
        "the refusals are logged: {logs}"
    );
    let secrets = [
        callback.code.clone().unwrap(),
        callback.state.clone().unwrap(),
        other.code.clone().unwrap(),
        other.state.clone().unwrap(),
        CLIENT_SECRET.to_owned(),
    ];
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
        for error in &errors {
            assert!(!error.contains(secret.as_str()), "a secret in {error}");
        }
    }
}
