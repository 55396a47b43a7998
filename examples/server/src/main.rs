//! `cargo run -p example-server` — the demo on http://127.0.0.1:3000 with SQLite in
//! `auth-demo.db`. Options (or environment variables):
//!
//! - `--addr` / `AUTH_ADDR`: where to listen (default `127.0.0.1:3000`);
//! - `--database-url` / `DATABASE_URL`: `sqlite:...` or `postgres://...`
//!   (default `sqlite:auth-demo.db`);
//! - `AUTH_ORIGIN`: the public origin (default `http://<addr>`; https for anything but
//!   localhost);
//! - `AUTH_SECRET_KEY`: base64 key (default: read or create `auth-demo.key`);
//! - `--seed-demo`: create a demo user and organization;
//! - `--dns-txt-file` / `AUTH_DNS_TXT_FILE`: verify SSO domains from this file of TXT
//!   records (`<name> <value>` a line) instead of DNS: for tests and offline demos only;
//! - `--node-name` / `AUTH_NODE_NAME`: on PostgreSQL, names this node's cache-invalidation
//!   listener in `pg_stat_activity` (`application_name` `auth-invalidation <name>`).
//!
//! On PostgreSQL, the nodes sharing the database evict each other's cached sessions and
//! API keys through `LISTEN`/`NOTIFY` ([`PgInvalidation`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use auth_axum::AuthState;
use auth_core::error::BoxError;
use auth_sqlx::{PgInvalidation, PgStore, SqliteStore};
use clap::Parser;
use example_server::{
    DemoDns, app, auth_builder, http_config, secret_key, seed_demo, serve, spawn_maintenance,
};

#[derive(Parser, Debug)]
#[command(about = "The auth-rs demo server")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "AUTH_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// `sqlite:<file>`, `sqlite::memory:` or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:auth-demo.db")]
    database_url: String,
    /// The public origin (default: http://<addr>).
    #[arg(long, env = "AUTH_ORIGIN")]
    origin: Option<String>,
    /// Where the development secret key is kept when `AUTH_SECRET_KEY` is not set.
    #[arg(long, default_value = "auth-demo.key")]
    secret_key_file: PathBuf,
    /// Create a demo user (demo@example.com) who owns "Demo Org".
    #[arg(long)]
    seed_demo: bool,
    /// A proxy whose `X-Forwarded-For` is believed (an address or a CIDR; repeat, or
    /// comma-separate in the variable). None by default: the TCP peer is the client.
    #[arg(
        long = "trusted-proxy",
        env = "AUTH_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
    /// On PostgreSQL: this node's name in `pg_stat_activity` (the application_name of its
    /// cache-invalidation listener is `auth-invalidation <name>`).
    #[arg(long, env = "AUTH_NODE_NAME")]
    node_name: Option<String>,
    /// Verify SSO domains from this file of TXT records (`<name> <value>` a line) instead
    /// of DNS. For tests and offline demos only: whoever writes it proves any domain.
    #[arg(long, env = "AUTH_DNS_TXT_FILE")]
    dns_txt_file: Option<PathBuf>,
}

/// How often the server purges what ended.
const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into()),
        )
        .init();
    let args = Args::parse();
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    let key = secret_key(
        std::env::var("AUTH_SECRET_KEY").ok().as_deref(),
        &args.secret_key_file,
    )?;
    let http = http_config(&origin, &args.trusted_proxies)?;
    let dns = DemoDns::new(args.dns_txt_file.clone())?;
    if args.database_url.starts_with("postgres") {
        let store = PgStore::connect(&args.database_url).await?;
        store.migrate().await?;
        let mut bus = PgInvalidation::new(&store);
        if let Some(name) = &args.node_name {
            bus = bus.application_name(&format!("auth-invalidation {name}"))?;
        }
        let auth = auth_builder(store, key, &origin)
            .invalidation(bus)
            .domain_verifier(dns)
            .build()?;
        if args.seed_demo {
            seed_demo(&auth).await?;
        }
        spawn_maintenance(auth.clone(), MAINTENANCE_EVERY);
        serve(app(AuthState::new(auth, http))?, args.addr).await
    } else if args.database_url.starts_with("sqlite") {
        let store = SqliteStore::connect(&args.database_url).await?;
        store.migrate().await?;
        let auth = auth_builder(store, key, &origin)
            .domain_verifier(dns)
            .build()?;
        if args.seed_demo {
            seed_demo(&auth).await?;
        }
        spawn_maintenance(auth.clone(), MAINTENANCE_EVERY);
        serve(app(AuthState::new(auth, http))?, args.addr).await
    } else {
        Err("--database-url must start with sqlite: or postgres://".into())
    }
}
