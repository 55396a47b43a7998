//! Two example-server processes on one fresh PostgreSQL database: what one node revokes,
//! the other refuses within 100 ms (PostgreSQL `LISTEN`/`NOTIFY` evicting its caches), a
//! key's rate limit holds exactly across both, and a node whose listening connection is
//! killed clears its caches and hears the other again.
//!
//! Needs `AUTH_TEST_POSTGRES_URL` (a server where it may create databases); prints SKIPPED
//! without it. `CROSS_NODE_REPETITIONS` (default 20) sets how many revocations of each kind
//! are measured; the delays (from node A's response to node B's first refusal, polling B
//! about every millisecond) are printed as median and p99 (`--nocapture` shows them).
//! `CROSS_NODE_SERVER_BIN` runs another build of the server (a release build, to measure).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_core::{SecretKey, TokenHash};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PG_ENV: &str = "AUTH_TEST_POSTGRES_URL";
/// The bound the issue sets on a revocation reaching the other node.
const BOUND: Duration = Duration::from_millis(100);
/// Pause between two polls of node B.
const POLL_EVERY: Duration = Duration::from_millis(1);
const PASSWORD: &str = "a long and quite unusual passphrase";
const OTHER_PASSWORD: &str = "another long unusual passphrase";

/// The tests start processes and measure delays: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn server_url() -> Option<String> {
    let url = std::env::var(PG_ENV).ok();
    if url.is_none() {
        eprintln!("SKIPPED cross-node tests: set {PG_ENV} to run them");
    }
    url
}

fn repetitions() -> usize {
    std::env::var("CROSS_NODE_REPETITIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
}

/// A database of its own on the test server, dropped at the end.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(server: &str) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let name = format!("auth_test_{now}_{}_{}", test_run(), uuid_suffix());
        let mut admin = PgConnection::connect(server)
            .await
            .expect("connect to the test server");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        let (base, query) = match server.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (server, String::new()),
        };
        let (host, _) = base
            .rsplit_once('/')
            .expect("a postgres URL with a database");
        let url = format!("{host}/{name}{query}");
        Self {
            server: server.to_owned(),
            name,
            url,
        }
    }

    async fn connect(&self) -> PgConnection {
        PgConnection::connect_with(&PgConnectOptions::from_str(&self.url).unwrap())
            .await
            .unwrap()
    }
}

/// Dropped even when a test fails (after the nodes, declared before it in [`Cluster`]), on
/// a thread of its own: `Drop` cannot wait on the test's runtime.
impl Drop for Database {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// This test run's tag, `AUTH_TEST_RUN` (set by `scripts/test.sh`, which drops only its
/// own run's databases) or `local`.
fn test_run() -> String {
    std::env::var("AUTH_TEST_RUN").unwrap_or_else(|_| "local".to_owned())
}

fn uuid_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}{nanos}", std::process::id())
}

/// One example-server process.
struct Node {
    name: &'static str,
    addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Node {
    fn start(name: &'static str, db: &Database, key: &str) -> Self {
        let addr = free_port();
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cross-node-{}-{name}.log", db.name));
        let binary = std::env::var("CROSS_NODE_SERVER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_example-server").to_owned());
        let child = Command::new(binary)
            .env("AUTH_ADDR", addr.to_string())
            .env("DATABASE_URL", &db.url)
            .env("AUTH_SECRET_KEY", key)
            .env("AUTH_NODE_NAME", name)
            .env("RUST_LOG", "warn,auth_sqlx=info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start example-server");
        Self {
            name,
            addr,
            child,
            log,
        }
    }

    async fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "node {} exited with {status}: see {}",
                    self.name,
                    self.log.display()
                );
            }
            if let Ok(response) = self.send("GET", "/healthz", &[], None).await
                && response.status == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("node {} not ready: see {}", self.name, self.log.display());
    }

    /// One request on a fresh connection.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> std::io::Result<Response> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok(Response::parse(&raw))
    }

    /// A request that must succeed (2xx); its JSON body.
    async fn ok(&self, method: &str, path: &str, auth: &Credential, body: Option<Value>) -> Value {
        let response = self.call(method, path, auth, body.as_ref()).await;
        assert!(
            (200..300).contains(&response.status),
            "{method} {path} on {}: {} {}",
            self.name,
            response.status,
            response.body
        );
        response.body
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        auth: &Credential,
        body: Option<&Value>,
    ) -> Response {
        let header = auth.header();
        let headers: Vec<(&str, &str)> = header.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.send(method, path, &headers, body).await.unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Response {
    status: u16,
    body: Value,
}

impl Response {
    /// Parses a whole HTTP/1.1 response (`Content-Length` or chunked).
    fn parse(raw: &[u8]) -> Self {
        let text = String::from_utf8_lossy(raw);
        let (head, rest) = text.split_once("\r\n\r\n").expect("a complete response");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        let body = serde_json::from_str(&body).unwrap_or(Value::Null);
        Self { status, body }
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

/// How a request authenticates.
enum Credential {
    None,
    Session(String),
    Key(String),
}

impl Credential {
    fn header(&self) -> Option<(&'static str, String)> {
        match self {
            Self::None => None,
            Self::Session(token) => Some(("Authorization", format!("Bearer {token}"))),
            Self::Key(key) => Some(("x-api-key", key.clone())),
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// Two nodes on one fresh database, both listening for invalidations. Dropping it stops
/// the nodes, then drops the database.
struct Cluster {
    a: Node,
    b: Node,
    db: Database,
}

impl Cluster {
    async fn start(server: &str) -> Self {
        let db = Database::create(server).await;
        let key = SecretKey::generate().to_base64();
        let mut a = Node::start("a", &db, &key);
        a.wait_ready().await; // A migrates the fresh database first.
        let mut b = Node::start("b", &db, &key);
        b.wait_ready().await;
        let cluster = Self { a, b, db };
        for node in ["a", "b"] {
            cluster.listener_pid(node).await;
        }
        cluster
    }

    /// The backend pid of `node`'s listening connection, waiting for it to be there.
    async fn listener_pid(&self, node: &str) -> i32 {
        let mut db = self.db.connect().await;
        let start = Instant::now();
        loop {
            let pid: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
                 AND query LIKE 'LISTEN%'",
            )
            .bind(format!("auth-invalidation {node}"))
            .fetch_optional(&mut db)
            .await
            .unwrap();
            if let Some(pid) = pid {
                return pid;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "node {node} is not listening"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn sign_up(node: &Node, email: &str) -> String {
    let body = node
        .ok(
            "POST",
            "/auth/sign-up",
            &Credential::None,
            Some(json!({ "email": email, "password": PASSWORD, "mode": "token" })),
        )
        .await;
    text(&body["session_token"])
}

async fn sign_in(node: &Node, email: &str, password: &str) -> String {
    let body = node
        .ok(
            "POST",
            "/auth/sign-in",
            &Credential::None,
            Some(json!({ "email": email, "password": password, "mode": "token" })),
        )
        .await;
    text(&body["session_token"])
}

/// The first refusal on node B after node A's response.
struct Refusal {
    /// From A's response to B's refusing response.
    delay: Duration,
    /// How many of B's answers in between still accepted the credential.
    stale: usize,
}

/// Polls `node` with `request` about every millisecond from `since` (node A's response)
/// until it answers `refused`. Any status other than 200 and `refused` fails.
async fn refused_after(
    node: &Node,
    since: Instant,
    path: &str,
    auth: &Credential,
    refused: u16,
) -> Refusal {
    let mut stale = 0;
    loop {
        let response = node.call("GET", path, auth, None).await;
        let delay = since.elapsed();
        match response.status {
            status if status == refused => return Refusal { delay, stale },
            200 => stale += 1,
            other => panic!("{path} on {}: {other} {}", node.name, response.body),
        }
        assert!(
            delay < Duration::from_secs(10),
            "{path} still accepted on node {} after {delay:?}",
            node.name
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The delays of one kind of revocation: printed, and each within the bound.
struct Delays {
    kind: &'static str,
    samples: Vec<Duration>,
    /// Revocations after which B still accepted the credential at least once.
    stale: usize,
}

impl Delays {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            samples: Vec::new(),
            stale: 0,
        }
    }

    fn record(&mut self, refusal: Refusal) {
        self.samples.push(refusal.delay);
        self.stale += usize::from(refusal.stale > 0);
    }

    fn add(&mut self, other: &Self) {
        self.samples.extend(&other.samples);
        self.stale += other.stale;
    }

    fn percentile(sorted: &[Duration], p: f64) -> Duration {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// Prints the median, p99 and maximum, and fails if any is beyond the bound.
    fn report(&self) {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "cross-node {}: n={} median={:.2} ms p99={:.2} ms max={:.2} ms; \
             B still accepted after A's response in {} of them",
            self.kind,
            sorted.len(),
            ms(Self::percentile(&sorted, 50.0)),
            ms(Self::percentile(&sorted, 99.0)),
            ms(*sorted.last().unwrap()),
            self.stale,
        );
        let late: Vec<_> = sorted.iter().filter(|d| **d > BOUND).collect();
        assert!(
            late.is_empty(),
            "{}: refused later than {BOUND:?}: {late:?}",
            self.kind
        );
    }
}

async fn session_sign_out(cluster: &Cluster, reps: usize) -> Delays {
    let (a, b) = (&cluster.a, &cluster.b);
    let mut delays = Delays::new("sign-out");
    sign_up(a, "signout@example.com").await;
    for _ in 0..reps {
        let token = Credential::Session(sign_in(a, "signout@example.com", PASSWORD).await);
        b.ok("GET", "/api/whoami", &token, None).await; // now cached on B
        b.ok("GET", "/api/whoami", &token, None).await;
        a.ok("POST", "/auth/sign-out", &token, None).await;
        let since = Instant::now();
        delays.record(refused_after(b, since, "/api/whoami", &token, 401).await);
    }
    delays
}

async fn password_change(cluster: &Cluster, reps: usize) -> Delays {
    let (a, b) = (&cluster.a, &cluster.b);
    let mut delays = Delays::new("password change");
    sign_up(a, "password@example.com").await;
    let mut passwords = [PASSWORD, OTHER_PASSWORD];
    for _ in 0..reps {
        let token = Credential::Session(sign_in(a, "password@example.com", passwords[0]).await);
        b.ok("GET", "/api/whoami", &token, None).await;
        let change = json!({ "current_password": passwords[0], "new_password": passwords[1] });
        a.ok("POST", "/auth/password/change", &token, Some(change))
            .await;
        let since = Instant::now();
        delays.record(refused_after(b, since, "/api/whoami", &token, 401).await);
        passwords.swap(0, 1);
    }
    delays
}

async fn key_revocation(cluster: &Cluster, reps: usize) -> Delays {
    let (a, b) = (&cluster.a, &cluster.b);
    let mut delays = Delays::new("API key revocation");
    let owner = Credential::Session(sign_up(a, "keys@example.com").await);
    for i in 0..reps {
        let created = a
            .ok(
                "POST",
                "/auth/api-keys",
                &owner,
                Some(json!({ "name": format!("key {i}"), "scopes": ["data:read"] })),
            )
            .await;
        let id = text(&created["key"]["id"]);
        let key = Credential::Key(text(&created["secret"]));
        b.ok("GET", "/api/data", &key, None).await;
        b.ok("GET", "/api/data", &key, None).await;
        a.ok("POST", &format!("/auth/api-keys/{id}/revoke"), &owner, None)
            .await;
        let since = Instant::now();
        delays.record(refused_after(b, since, "/api/data", &key, 401).await);
    }
    delays
}

async fn member_removal(cluster: &Cluster, reps: usize) -> Delays {
    let (a, b) = (&cluster.a, &cluster.b);
    let mut delays = Delays::new("member removal");
    let owner = Credential::Session(sign_up(a, "owner@example.com").await);
    let member = Credential::Session(sign_up(a, "member@example.com").await);
    let group = a
        .ok(
            "POST",
            "/auth/groups",
            &owner,
            Some(json!({ "name": "Cross-node Org" })),
        )
        .await;
    let group = text(&group["id"]);
    let path = format!("/auth/groups/{group}");
    for _ in 0..reps {
        let invite = a
            .ok(
                "POST",
                &format!("{path}/invites"),
                &owner,
                Some(json!({ "role": "member" })),
            )
            .await;
        let accepted = a
            .ok(
                "POST",
                "/auth/invites/accept",
                &member,
                Some(json!({ "token": text(&invite["token"]) })),
            )
            .await;
        let member_id = text(&accepted["member"]["id"]);
        b.ok("GET", &path, &member, None).await;
        a.ok(
            "DELETE",
            &format!("{path}/members/{member_id}"),
            &owner,
            None,
        )
        .await;
        let since = Instant::now();
        delays.record(refused_after(b, since, &path, &member, 404).await);
    }
    delays
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_on_one_node_are_refused_on_the_other_within_100_ms() {
    let Some(server) = server_url() else { return };
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::start(&server).await;
    let reps = repetitions();
    let mut all = Delays::new("all kinds");
    for delays in [
        session_sign_out(&cluster, reps).await,
        password_change(&cluster, reps).await,
        key_revocation(&cluster, reps).await,
        member_removal(&cluster, reps).await,
    ] {
        delays.report();
        all.add(&delays);
    }
    all.report();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rate_limit_holds_exactly_across_both_nodes() {
    let Some(server) = server_url() else { return };
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::start(&server).await;
    let (a, b) = (&cluster.a, &cluster.b);
    let owner = Credential::Session(sign_up(a, "limited@example.com").await);
    const LIMIT: usize = 7;
    let created = a
        .ok(
            "POST",
            "/auth/api-keys",
            &owner,
            Some(json!({
                "name": "limited", "scopes": ["data:read"],
                "rate_limit": { "max": LIMIT, "window": 3600 }
            })),
        )
        .await;
    let key = Credential::Key(text(&created["secret"]));
    let mut statuses = Vec::new();
    for i in 0..3 * LIMIT {
        let node = if i % 2 == 0 { a } else { b };
        statuses.push(node.call("GET", "/api/data", &key, None).await.status);
    }
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(allowed, LIMIT, "{statuses:?}");
    assert!(
        statuses[..LIMIT].iter().all(|s| *s == 200) && statuses[LIMIT..].iter().all(|s| *s == 429),
        "the first {LIMIT} pass, then every request on either node is refused: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_listener_is_killed_clears_its_caches_and_listens_again() {
    let Some(server) = server_url() else { return };
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::start(&server).await;
    let (a, b) = (&cluster.a, &cluster.b);
    sign_up(a, "reconnect@example.com").await;
    let raw = sign_in(a, "reconnect@example.com", PASSWORD).await;
    let token = Credential::Session(raw.clone());
    b.ok("GET", "/api/whoami", &token, None).await;

    // Revoked behind the nodes' backs (no notification): B answers from its cache.
    let mut db = cluster.db.connect().await;
    let revoked = sqlx::query("UPDATE sessions SET revoked_at = now() WHERE token_hash = $1")
        .bind(TokenHash::of(&raw).as_bytes().as_slice())
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(revoked.rows_affected(), 1);
    for _ in 0..3 {
        b.ok("GET", "/api/whoami", &token, None).await;
    }

    // Kill B's listening connection: B reconnects and clears its caches.
    let old_pid = cluster.listener_pid("b").await;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(old_pid)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(killed);
    let since = Instant::now();
    let cleared = refused_after(b, since, "/api/whoami", &token, 401)
        .await
        .delay;
    println!(
        "cross-node reconnect: caches cleared {:.1} ms after the kill",
        cleared.as_secs_f64() * 1e3
    );
    assert!(
        cleared < Duration::from_secs(5),
        "cleared only after {cleared:?}"
    );
    let new_pid = cluster.listener_pid("b").await;
    assert_ne!(new_pid, old_pid, "B listens on a new connection");

    // And B hears A again.
    let token = Credential::Session(sign_in(a, "reconnect@example.com", PASSWORD).await);
    b.ok("GET", "/api/whoami", &token, None).await;
    a.ok("POST", "/auth/sign-out", &token, None).await;
    let delay = refused_after(b, Instant::now(), "/api/whoami", &token, 401)
        .await
        .delay;
    assert!(delay <= BOUND, "refused after {delay:?}");
}
