//! The demo server: the library's JSON API, the demo routes (`/api/whoami`, `/api/data`,
//! the open `/api/public`), and a web page.
//!
//! `main.rs` parses the command line; this library builds the app so tests can drive it.

use std::net::SocketAddr;
use std::path::Path;

use async_trait::async_trait;
use auth_axum::{AuthState, HttpConfig, Principal, Via, require_scope};
use auth_core::api_keys::KeyOwner;
use auth_core::error::BoxError;
use auth_core::groups::NewGroup;
use auth_core::verification::{Mailer, Notice, OutgoingEmail};
use auth_core::{
    Aal, ApiKeyId, Auth, AuthBuilder, AuthConfig, Caller, Email, GroupId, PasskeyConfig,
    Permission, RequestMeta, Secret, SecretKey, SessionId, SignUp, Store, UserId,
};
use axum::Json;
use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY as CONTENT_SECURITY_POLICY_HEADER, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;

mod dns;

pub use dns::DemoDns;

/// The demo's mailer: prints codes and links to the server's console. Development only.
#[derive(Debug, Clone)]
pub struct ConsoleMailer {
    /// The public origin, for the printed links.
    pub origin: String,
}

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, email: OutgoingEmail) -> Result<(), BoxError> {
        // The link carries its token in the fragment (`/#sign_in=...`): the page reads it
        // and POSTs it, so it never reaches a server log or a Referer header.
        let link = email.link(&format!("{}/", self.origin));
        println!(
            "[dev mailer] to {} ({:?}): code {} — or open {}",
            email.to,
            email.purpose,
            email.code.expose(),
            link.expose(),
        );
        Ok(())
    }

    async fn notify(&self, notice: Notice) -> Result<(), BoxError> {
        match notice {
            Notice::EmailChanged { to, new } => println!(
                "[dev mailer] to {to}: your account's email address was changed to {new}; \
                 if that was not you, contact support"
            ),
            Notice::PasskeyAdded { to, name } => println!(
                "[dev mailer] to {to}: a passkey ({name}) was added to your account; if that \
                 was not you, remove it and contact support"
            ),
            Notice::PasskeyRemoved { to, name } => {
                println!("[dev mailer] to {to}: a passkey ({name}) was removed from your account")
            }
            other => println!("[dev mailer] notice: {other:?}"),
        }
        Ok(())
    }
}

/// The secret key: `AUTH_SECRET_KEY` (base64) if set, else the key file, created on first
/// run (a development convenience: production keys belong in a secret manager).
///
/// A new key file appears at once, whole and readable by its owner only (mode 0600 on
/// Unix): the key goes to a fresh temporary file created with that mode, which is then
/// hard-linked to `file`. Linking never replaces an existing file, so of two servers
/// starting together one key wins and both use it.
pub fn secret_key(env: Option<&str>, file: &Path) -> Result<SecretKey, BoxError> {
    if let Some(text) = env {
        return Ok(SecretKey::from_base64(text)?);
    }
    if let Ok(text) = std::fs::read_to_string(file) {
        return Ok(SecretKey::from_base64(&text)?);
    }
    let key = SecretKey::generate();
    match create_key_file(file, &key) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process created it meanwhile: use its key.
            return Ok(SecretKey::from_base64(&std::fs::read_to_string(file)?)?);
        }
        Err(error) => return Err(error.into()),
    }
    tracing::warn!(file = %file.display(), "generated a new secret key; keep it, or sealed data and codes are lost");
    Ok(key)
}

/// Writes `key` to `file`, which must not exist, with mode 0600 from the start.
fn create_key_file(file: &Path, key: &SecretKey) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = file
        .file_name()
        .map_or_else(|| "key".into(), |n| n.to_string_lossy().into_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temporary = file.with_file_name(format!(".{name}.{}-{nanos}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&temporary).map_err(|error| {
        // Only the final link may say "already exists" (another process won).
        std::io::Error::other(format!("cannot create {}: {error}", temporary.display()))
    })?;
    let written = (|| {
        out.write_all(key.to_base64().as_bytes())?;
        out.sync_all()
    })();
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, file));
    let _ = std::fs::remove_file(&temporary);
    linked
}

/// The HTTP settings for `origin` (a localhost origin allows plain-HTTP cookies), believing
/// `X-Forwarded-For` from `trusted_proxies` (addresses or CIDRs; none: the TCP peer is
/// the client).
///
/// An IP-address origin (the default `http://127.0.0.1:3000`) also allows its
/// `localhost` twin (`http://localhost:3000`): the page's passkeys work only there, since
/// WebAuthn refuses IP addresses (see [`passkey_config`]).
pub fn http_config(origin: &str, trusted_proxies: &[String]) -> Result<HttpConfig, BoxError> {
    let mut config = if origin.starts_with("http://") {
        HttpConfig::localhost(origin)?
    } else {
        HttpConfig::new(origin)?
    };
    if let Some(twin) = localhost_twin(origin)? {
        config = config.allow_origin(&twin)?;
    }
    Ok(if trusted_proxies.is_empty() {
        config
    } else {
        config.behind_proxy(trusted_proxies)?
    })
}

/// `http(s)://localhost:PORT` for an origin on an IP address; `None` for a named host.
fn localhost_twin(origin: &str) -> Result<Option<String>, BoxError> {
    let url = url::Url::parse(origin)?;
    Ok(match url.host() {
        Some(url::Host::Domain(_)) | None => None,
        Some(_) => {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            Some(format!("{}://localhost{port}", url.scheme()))
        }
    })
}

/// The demo's passkey relying party for `origin`: its host is the rp id. WebAuthn refuses
/// IP addresses, so an IP-address origin (the default `http://127.0.0.1:3000`) gets
/// `localhost` on the same port: open the page on `http://localhost:3000` to use passkeys.
pub fn passkey_config(origin: &str) -> Result<PasskeyConfig, BoxError> {
    let url = url::Url::parse(origin)?;
    let config = match (url.host(), localhost_twin(origin)?) {
        (Some(url::Host::Domain(host)), _) => {
            PasskeyConfig::new(host, "auth-rs demo", [url.origin().ascii_serialization()])
        }
        (_, Some(twin)) => PasskeyConfig::new("localhost", "auth-rs demo", [twin]),
        _ => return Err("the origin has no host".into()),
    };
    Ok(config)
}

/// Builds the `Auth` over `store` for the demo.
pub fn auth<S: Store + Clone>(store: S, key: SecretKey, origin: &str) -> Result<Auth<S>, BoxError> {
    Ok(auth_builder(store, key, origin).build()?)
}

/// The demo's `Auth` builder over `store`, for what [`auth`] does not set (a cache
/// invalidation bus on PostgreSQL).
///
/// Passkeys are on (see [`passkey_config`]) when the origin gives a relying party.
pub fn auth_builder<S: Store + Clone>(store: S, key: SecretKey, origin: &str) -> AuthBuilder<S> {
    let mut config = AuthConfig::default();
    // The name authenticator apps show beside the account.
    config.totp.issuer = "auth-rs demo".into();
    config.passkeys = passkey_config(origin).ok();
    // A SAML connection saved without SP entity id or ACS URL gets this server's.
    config.saml_sp_base_url = Some(format!("{}/auth/sso/saml", origin.trim_end_matches('/')));
    Auth::builder(store)
        .secret_key(key)
        .config(config)
        .mailer(ConsoleMailer {
            origin: origin.to_owned(),
        })
        .audit_to_store()
}

/// The whole app: the web page, the demo routes, the JSON API. Fails (at start-up) only
/// if a route guard is malformed.
pub fn app(state: AuthState) -> Result<Router, BoxError> {
    let demo = Router::new()
        .route("/api/data", get(data))
        .route_layer(require_scope("data", "read")?)
        .route("/api/whoami", get(whoami));
    let app = Router::new()
        .route(
            "/",
            get(|| async { Html(include_str!("../static/index.html")) }),
        )
        .route(
            "/app.js",
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    include_str!("../static/app.js"),
                )
            }),
        )
        .route(
            "/sso-admin.js",
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    include_str!("../static/sso-admin.js"),
                )
            }),
        )
        .route(
            "/app.css",
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/css; charset=utf-8")],
                    include_str!("../static/app.css"),
                )
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/public", get(public))
        .merge(demo)
        .merge(state.router())
        // SCIM provisioning for each connection's directory (`/scim/v2`).
        .merge(state.scim_router())
        // Unknown paths and methods answer with the API's JSON error body too.
        .fallback(auth_axum::not_found)
        .method_not_allowed_fallback(auth_axum::method_not_allowed);
    // Request ids (and spans) for the demo routes too, outside the auth layer so that its
    // audit events carry them.
    let app = auth_axum::with_request_ids(app.layer(state.layer()));
    Ok(security_headers(app))
}

/// The page's Content-Security-Policy: scripts, styles and requests from this origin only
/// (no inline code: it lives in `app.js` and `app.css`), no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The security headers on every response: the CSP above (whose `frame-ancestors 'none'`
/// forbids framing, with `X-Frame-Options: DENY` for older browsers), `nosniff`, and no
/// `Referer` to other sites. (The JSON API adds `Cache-Control: no-store` itself.)
fn security_headers(app: Router) -> Router {
    let header =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    app.layer(header(
        CONTENT_SECURITY_POLICY_HEADER,
        CONTENT_SECURITY_POLICY,
    ))
    .layer(header(X_FRAME_OPTIONS, "DENY"))
    .layer(header(X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .layer(header(REFERRER_POLICY, "no-referrer"))
}

/// The body of `GET /api/whoami`. Typed (not a `serde_json::Value`), so it is written
/// straight into the response without building maps and strings first.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Whoami<'a> {
    Session {
        via: &'static str,
        user: WhoamiUser<'a>,
        session_id: SessionId,
        aal: Aal,
    },
    ApiKey {
        key: WhoamiKey<'a>,
        owner: WhoamiOwner,
        scopes: &'a [Permission],
    },
}

#[derive(Serialize)]
struct WhoamiUser<'a> {
    id: UserId,
    email: &'a Email,
}

#[derive(Serialize)]
struct WhoamiKey<'a> {
    id: ApiKeyId,
    name: &'a str,
    start: &'a str,
}

/// `{"user_id": ...}` or `{"group_id": ...}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum WhoamiOwner {
    UserId(UserId),
    GroupId(GroupId),
}

/// `GET /api/whoami`: who is calling, by session or API key.
async fn whoami(principal: Principal) -> Response {
    let body = match &principal {
        Principal::Session { auth, via } => Whoami::Session {
            via: match via {
                Via::Cookie => "cookie",
                Via::Bearer => "bearer",
            },
            user: WhoamiUser {
                id: auth.user.id,
                email: &auth.user.email,
            },
            session_id: auth.session.id,
            aal: auth.session.aal,
        },
        Principal::ApiKey(key) => Whoami::ApiKey {
            key: WhoamiKey {
                id: key.key.id,
                name: &key.key.name,
                start: &key.key.start,
            },
            owner: match key.key.owner {
                KeyOwner::User(id) => WhoamiOwner::UserId(id),
                KeyOwner::Group(id) => WhoamiOwner::GroupId(id),
            },
            scopes: &key.key.scopes,
        },
    };
    Json(body).into_response()
}

/// The body of `GET /api/public` and `GET /api/data`: the same document, so that the load
/// test compares the same work with and without authentication.
#[derive(Serialize)]
struct DemoData {
    data: [u32; 8],
    server: &'static str,
    version: &'static str,
    docs: &'static str,
}

fn demo_data() -> Json<DemoData> {
    Json(DemoData {
        data: [1, 2, 3, 5, 8, 13, 21, 34],
        server: "example-server",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/openapi.json",
    })
}

/// `GET /api/public`: no credential needed.
async fn public() -> Json<DemoData> {
    demo_data()
}

/// `GET /api/data`: needs scope `data:read` (checked by the route guard; a session passes
/// with its user's authority). Same body as `/api/public`.
async fn data() -> Json<DemoData> {
    demo_data()
}

/// `--seed-demo`: a demo user who owns a demo organization. Idempotent.
pub async fn seed_demo<S: Store>(auth: &Auth<S>) -> Result<(), BoxError> {
    let meta = RequestMeta::none();
    let email = "demo@example.com";
    let password = "demo password 123";
    // The app's own set-up code: trusted, so it acts as the system.
    let system = Caller::System;
    let user = match auth.users().find_by_email(&system, email).await? {
        Some(user) => user,
        None => match auth
            .password()
            .sign_up(
                SignUp {
                    email: email.into(),
                    password: Secret::new(password),
                    name: Some("Demo User".into()),
                    extend: None,
                },
                &meta,
            )
            .await?
        {
            auth_core::SignUpOutcome::SignedIn(done) => done.user,
            auth_core::SignUpOutcome::VerificationRequired(user) => user,
        },
    };
    if auth
        .groups()
        .get_by_slug(&system, "demo-org")
        .await
        .is_err()
    {
        auth.groups()
            .create_owned_by(
                &system,
                NewGroup {
                    name: "Demo Org".into(),
                    slug: Some("demo-org".into()),
                    kind: Some("org".into()),
                    ..NewGroup::default()
                },
                user.id,
                &meta,
            )
            .await?;
    }
    println!("demo user: {email} / {password} (owner of \"Demo Org\")");
    Ok(())
}

/// Runs [`Auth::purge_expired`] every `every` (the first run at once) for as long as the
/// process lives: ended sessions, used or expired codes, whole rate-limit buckets, and
/// TOTP enrolments never confirmed, expired passkey ceremonies.
pub fn spawn_maintenance<S: Store>(auth: Auth<S>, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match auth.purge_expired().await {
                Ok(purged) => tracing::info!(
                    sessions = purged.sessions,
                    verifications = purged.verifications,
                    rate_limits = purged.rate_limits,
                    "purged what ended"
                ),
                Err(error) => tracing::warn!(%error, "purge failed; retrying at the next tick"),
            }
            match auth.totp().purge_pending().await {
                Ok(0) => {}
                Ok(pending) => tracing::info!(pending, "purged unconfirmed TOTP enrolments"),
                Err(error) => {
                    tracing::warn!(%error, "TOTP purge failed; retrying at the next tick")
                }
            }
            // Passkey ceremonies (not part of the core's purge).
            match auth.ceremonies().purge(auth.now()).await {
                Ok(ceremonies) => tracing::info!(ceremonies, "purged expired ceremonies"),
                Err(error) => tracing::warn!(%error, "ceremony purge failed"),
            }
        }
    });
}

/// Serves `app` on `addr` until Ctrl-C.
pub async fn serve(app: Router, addr: SocketAddr) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!("listening on http://{local}");
    println!("listening on http://{local}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
