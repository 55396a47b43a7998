//! Fault injection: PostgreSQL terminated and restarted under load.
//!
//! The test makes a throwaway cluster of its own (`initdb`, `pg_ctl`; as the `postgres`
//! user when run as root) on a free port, starts the example server on it, and drives
//! concurrent clients through compound operations (sign up, sign in, create an
//! organization, invite and accept, create, use and revoke an API key, read `/auth/me`).
//! It stops PostgreSQL with `pg_ctl stop -m immediate` for a few seconds: every answer is
//! then `503 STORE_UNAVAILABLE`, within the pool's acquire timeout, except cache hits (a
//! cached session or key may still answer 200: docs/security.md, "Faults"); no 500, and
//! the server stays up. It starts PostgreSQL again and measures how long until a sign-up
//! lands, retries every invite whose accept failed, and checks the invariants in SQL.
//!
//! Skipped, saying so, without `AUTH_TEST_POSTGRES_URL` (the switch for every PostgreSQL
//! test) or without `initdb`. `FAULTS_DEBUG=1` prints every answer around the outage
//! (seconds from the stop, time taken, route, status and code).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Concurrent clients.
const CLIENTS: usize = 6;
/// Load before the outage, length of the outage, load after the restart.
const WARM_UP: Duration = Duration::from_secs(4);
const OUTAGE: Duration = Duration::from_secs(5);
const AFTER: Duration = Duration::from_secs(4);
/// The longest a request may take (a hang fails the test).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a request may take to fail while the store is down: one wait of the pool's
/// acquire timeout (`auth_sqlx::PgStore::ACQUIRE_TIMEOUT`), and slack for a loaded machine.
const DOWN_ANSWER_WITHIN: Duration =
    Duration::from_millis(auth_sqlx::PgStore::ACQUIRE_TIMEOUT.as_millis() as u64 + 1500);
/// The longest recovery accepted after PostgreSQL is back.
const RECOVERY_WITHIN: Duration = Duration::from_secs(10);
const PASSWORD: &str = "correct horse battery staple";

// --- the throwaway cluster -----------------------------------------------------------------

/// `initdb` on PATH or under /usr/lib/postgresql/*/bin.
fn find_initdb() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("initdb"));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin/initdb"));
    on_path.chain(debian).find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// A cluster in a temporary folder, stopped and removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    async fn create(initdb: &Path) -> Cluster {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("auth-faults-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&dir)).await;
        }
        let cluster = Cluster {
            bin: initdb.parent().unwrap().to_path_buf(),
            dir,
            port: free_port(),
            as_postgres,
        };
        let data = cluster.dir.join("data");
        run(cluster.pg("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]))
        .await;
        cluster.start().await;
        cluster
    }

    /// A command of the PostgreSQL binaries, as the postgres user when we are root.
    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        command
    }

    async fn start(&self) {
        let options = format!(
            "-p {} -k {} -h 127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.display()
        );
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-t", "30", "-o", &options, "start"]))
        .await;
    }

    /// Stops the server at once: backends are killed, nothing is checkpointed.
    async fn stop_immediately(&self) {
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"]))
        .await;
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            std::process::Command::new(pg_ctl)
        };
        let _ = command
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn run(command: &mut Command) {
    let output = command.output().await.expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// --- a small HTTP client -------------------------------------------------------------------

/// One answer: status and JSON body (`Null` when there is none).
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// One request on its own connection. `Err` when the server cannot be reached or does not
/// answer within [`REQUEST_TIMEOUT`].
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Result<Answer, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{method} {path}: no answer in {REQUEST_TIMEOUT:?}"))?
        .map_err(|e| format!("{method} {path}: {e}"))?;
    parse(&raw).ok_or_else(|| format!("{method} {path}: not an HTTP answer"))
}

fn parse(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..split)?).ok()?;
    let mut body = raw.get(split + 4..)?.to_vec();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body)?;
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    Some(Answer { status, body })
}

fn unchunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(rest.get(..line_end)?).ok()?, 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(line_end + 2..line_end + 2 + size)?);
        rest = rest.get(line_end + 4 + size..)?;
    }
}

// --- the load --------------------------------------------------------------------------------

/// Every answer the clients got: when it was asked, how long it took, which route.
#[derive(Debug)]
struct Record {
    sent: Instant,
    took: Duration,
    route: &'static str,
    outcome: Result<(u16, Option<String>), String>,
}

#[derive(Default)]
struct Log {
    records: Mutex<Vec<Record>>,
    /// Sign-ups answered 201: their addresses must be in the database afterwards.
    signed_up: Mutex<Vec<String>>,
    /// Invites whose accept did not answer 200: (token, the invitee's session token).
    unaccepted: Mutex<Vec<(String, String)>>,
}

struct Load {
    addr: SocketAddr,
    log: Arc<Log>,
}

impl Load {
    /// Sends one request and records it; `None` unless it answered `expected`.
    async fn call(
        &self,
        route: &'static str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
        expected: u16,
    ) -> Option<Value> {
        let sent = Instant::now();
        let outcome = request(self.addr, method, path, headers, body.as_ref()).await;
        let record = Record {
            sent,
            took: sent.elapsed(),
            route,
            outcome: outcome
                .as_ref()
                .map(|a| (a.status, a.code().map(str::to_owned)))
                .map_err(Clone::clone),
        };
        self.log.records.lock().unwrap().push(record);
        match outcome {
            Ok(answer) if answer.status == expected => Some(answer.body),
            _ => None,
        }
    }

    /// One round of compound operations as a new user from a new address (the server
    /// believes `X-Forwarded-For` from loopback, so the per-network limits do not stop the
    /// load). Returns the user's (email, session token) for the next round's invite.
    async fn round(
        &self,
        client: usize,
        round: usize,
        invitee: Option<&(String, String)>,
    ) -> Option<(String, String)> {
        let ip = format!("10.{client}.{}.{}", round / 250, round % 250 + 1);
        let xff = [("x-forwarded-for", ip.as_str())];
        if let Some((known, token)) = invitee {
            // The previous user reads with its session (cached on the server: a hit may
            // answer during the outage) and signs in again (a store read and write).
            let bearer = format!("Bearer {token}");
            self.call(
                "me",
                "GET",
                "/auth/me",
                &[("authorization", bearer.as_str()), xff[0]],
                None,
                200,
            )
            .await;
            let again = json!({ "email": known, "password": PASSWORD, "mode": "token" });
            self.call("sign-in", "POST", "/auth/sign-in", &xff, Some(again), 200)
                .await;
        }
        let email = format!("c{client}-r{round}@example.com");
        let credentials = json!({ "email": email, "password": PASSWORD, "mode": "token" });
        self.call(
            "sign-up",
            "POST",
            "/auth/sign-up",
            &xff,
            Some(credentials.clone()),
            201,
        )
        .await?;
        self.log.signed_up.lock().unwrap().push(email.clone());
        let signed_in = self
            .call(
                "sign-in",
                "POST",
                "/auth/sign-in",
                &xff,
                Some(credentials),
                200,
            )
            .await?;
        let token = signed_in["session_token"].as_str()?.to_owned();
        let bearer = format!("Bearer {token}");
        let auth = [("authorization", bearer.as_str()), xff[0]];
        self.call("me", "GET", "/auth/me", &auth, None, 200).await?;
        let group = self
            .call(
                "create-group",
                "POST",
                "/auth/groups",
                &auth,
                Some(json!({ "name": format!("Org {client}-{round}") })),
                201,
            )
            .await?;
        let group_id = group["id"].as_str()?.to_owned();
        if let Some((_, invitee_token)) = invitee {
            let invite = self
                .call(
                    "invite",
                    "POST",
                    &format!("/auth/groups/{group_id}/invites"),
                    &auth,
                    Some(json!({ "role": "member" })),
                    201,
                )
                .await?;
            let invite_token = invite["token"].as_str()?.to_owned();
            let invitee_bearer = format!("Bearer {invitee_token}");
            let accepted = self
                .call(
                    "accept",
                    "POST",
                    "/auth/invites/accept",
                    &[("authorization", invitee_bearer.as_str()), xff[0]],
                    Some(json!({ "token": invite_token })),
                    200,
                )
                .await;
            if accepted.is_none() {
                self.log
                    .unaccepted
                    .lock()
                    .unwrap()
                    .push((invite_token, invitee_token.clone()));
                return None;
            }
        }
        let key = self
            .call(
                "create-key",
                "POST",
                "/auth/api-keys",
                &auth,
                Some(json!({ "name": "load", "scopes": ["data:read"] })),
                201,
            )
            .await?;
        let key_id = key["key"]["id"].as_str()?.to_owned();
        let secret = key["secret"].as_str()?.to_owned();
        self.call(
            "use-key",
            "GET",
            "/api/data",
            &[("x-api-key", secret.as_str()), xff[0]],
            None,
            200,
        )
        .await?;
        self.call(
            "revoke-key",
            "POST",
            &format!("/auth/api-keys/{key_id}/revoke"),
            &auth,
            None,
            200,
        )
        .await?;
        self.call("me", "GET", "/auth/me", &auth, None, 200).await?;
        Some((email, token))
    }

    /// Rounds until `stop`, each with the previous successful round's user as invitee.
    async fn client(self, client: usize, stop: Arc<AtomicBool>) {
        let mut invitee = None;
        let mut round = 0;
        while !stop.load(Ordering::SeqCst) {
            if let Some(user) = self.round(client, round, invitee.as_ref()).await {
                invitee = Some(user);
            }
            round += 1;
            // A failed round (the store is down) does not spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// --- the test --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_restarted_under_load() {
    if std::env::var_os("AUTH_TEST_POSTGRES_URL").is_none() {
        eprintln!(
            "SKIPPED postgres_stopped_and_restarted_under_load: set AUTH_TEST_POSTGRES_URL \
             to run the PostgreSQL fault test"
        );
        return;
    }
    let Some(initdb) = find_initdb() else {
        eprintln!(
            "SKIPPED postgres_stopped_and_restarted_under_load: no initdb on PATH or under \
             /usr/lib/postgresql/*/bin"
        );
        return;
    };
    let cluster = Cluster::create(&initdb).await;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server_log = cluster.dir.join("server.log");
    let mut server = start_server(&cluster, addr, &server_log).await;
    let log = Arc::new(Log::default());
    let load = || Load {
        addr,
        log: Arc::clone(&log),
    };

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(load().client(c, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(WARM_UP).await;

    cluster.stop_immediately().await;
    let down_at = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    let restart_at = Instant::now();
    cluster.start().await;
    let started_at = Instant::now();
    // Recovery: until a sign-up (a compound write) lands again.
    let probe = load();
    let mut attempt = 0;
    let recovered_at = loop {
        attempt += 1;
        let ip = format!("10.200.{}.{}", attempt / 250, attempt % 250 + 1);
        let body = json!({ "email": format!("probe{attempt}@example.com"), "password": PASSWORD });
        let landed = probe
            .call(
                "probe",
                "POST",
                "/auth/sign-up",
                &[("x-forwarded-for", ip.as_str())],
                Some(body),
                201,
            )
            .await;
        if landed.is_some() {
            break Instant::now();
        }
        assert!(
            started_at.elapsed() < RECOVERY_WITHIN,
            "no sign-up landed within {RECOVERY_WITHIN:?} of PostgreSQL being back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("no client panics");
    }
    assert!(
        server.try_wait().unwrap().is_none(),
        "the server exited: {}",
        std::fs::read_to_string(&server_log).unwrap_or_default()
    );

    // Invites whose accept failed are retried once the store is back: each lands once
    // (200) or was already in (409 INVITE_NOT_PENDING), never twice.
    let unaccepted = std::mem::take(&mut *log.unaccepted.lock().unwrap());
    for (invite, invitee) in &unaccepted {
        let bearer = format!("Bearer {invitee}");
        let answer = request(
            addr,
            "POST",
            "/auth/invites/accept",
            &[("authorization", bearer.as_str())],
            Some(&json!({ "token": invite })),
        )
        .await
        .unwrap();
        assert!(
            answer.status == 200 || answer.code() == Some("INVITE_NOT_PENDING"),
            "retrying an accept: {answer:?}"
        );
    }

    let records = std::mem::take(&mut *log.records.lock().unwrap());
    report_and_check(&records, down_at, restart_at, started_at, recovered_at);
    let signed_up = std::mem::take(&mut *log.signed_up.lock().unwrap());
    check_invariants(&cluster.url(), &signed_up).await;
    let server_output = std::fs::read_to_string(&server_log).unwrap_or_default();
    assert!(
        !server_output.contains("panicked"),
        "the server panicked: {server_output}"
    );
    server.kill().await.unwrap();
    eprintln!(
        "faults_postgres: {} rounds' invites retried after the restart",
        unaccepted.len()
    );
}

async fn start_server(cluster: &Cluster, addr: SocketAddr, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    let server = Command::new(env!("CARGO_BIN_EXE_example-server"))
        .arg("--addr")
        .arg(addr.to_string())
        .arg("--database-url")
        .arg(cluster.url())
        .arg("--secret-key-file")
        .arg(cluster.dir.join("auth.key"))
        .args(["--trusted-proxy", "127.0.0.1"])
        .env("RUST_LOG", "warn")
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("the example server starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while request(addr, "GET", "/auth/me", &[], None).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the example server never listened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

/// Prints what happened in each phase and checks: no 5xx but 503, no transport error, every
/// answer in the outage a 503 `STORE_UNAVAILABLE` within [`DOWN_ANSWER_WITHIN`] (a cached
/// session or key may answer 200), and recovery within [`RECOVERY_WITHIN`].
fn report_and_check(
    records: &[Record],
    down_at: Instant,
    restart_at: Instant,
    started_at: Instant,
    recovered_at: Instant,
) {
    let mut outage = 0;
    let mut outage_cached_ok = 0;
    let mut slowest_outage = Duration::ZERO;
    let mut ok_before = 0;
    let mut ok_after = 0;
    for r in records {
        if std::env::var_os("FAULTS_DEBUG").is_some()
            && r.sent + r.took + Duration::from_secs(1) >= down_at
            && r.sent <= restart_at + Duration::from_secs(1)
        {
            eprintln!(
                "{:>8.3}s +{:?} {} {:?}",
                r.sent.saturating_duration_since(down_at).as_secs_f64()
                    - down_at.saturating_duration_since(r.sent).as_secs_f64(),
                r.took,
                r.route,
                r.outcome
            );
        }
        let (status, code) = match &r.outcome {
            Ok(answer) => answer,
            Err(error) => panic!("the server did not answer: {error}"),
        };
        assert!(
            *status < 500 || (*status == 503 && code.is_some()),
            "{} answered {status} {code:?}",
            r.route
        );
        let answered = r.sent + r.took;
        if r.sent >= down_at && answered <= restart_at {
            outage += 1;
            slowest_outage = slowest_outage.max(r.took);
            let cacheable = matches!(r.route, "me" | "use-key");
            match (status, code.as_deref()) {
                (503, Some("STORE_UNAVAILABLE")) => {}
                (200, _) if cacheable => outage_cached_ok += 1,
                other => panic!("{} during the outage: {other:?}", r.route),
            }
            assert!(
                r.took < DOWN_ANSWER_WITHIN,
                "{} took {:?} to fail while the store was down",
                r.route,
                r.took
            );
        } else if (200..300).contains(status) {
            if answered < down_at {
                ok_before += 1;
            } else if r.sent > recovered_at {
                ok_after += 1;
            }
        }
    }
    let recovery = recovered_at - started_at;
    eprintln!(
        "faults_postgres: {} requests; before the outage {ok_before} succeeded; during it \
         {outage} answered ({outage_cached_ok} cache hits with 200, the rest 503 \
         STORE_UNAVAILABLE, the slowest in {slowest_outage:?}); PostgreSQL restarted in \
         {:?}; the first sign-up landed {recovery:?} after it was up ({:?} after the \
         outage ended); after that {ok_after} succeeded",
        records.len(),
        started_at - restart_at,
        recovered_at - restart_at,
    );
    assert!(ok_before > 0, "no load before the outage");
    assert!(outage > 0, "no request was answered during the outage");
    assert!(ok_after > 0, "nothing succeeded after the restart");
    assert!(recovery < RECOVERY_WITHIN);
}

/// The invariants of the schema (auth-sqlx/migrations/postgres) after the fault.
async fn check_invariants(url: &str, signed_up: &[String]) {
    let store = auth_sqlx::PgStore::connect(url).await.unwrap();
    let pool = store.pool();
    let checks = [
        (
            "a session without its user",
            "SELECT count(*) FROM sessions s WHERE NOT EXISTS \
             (SELECT 1 FROM users u WHERE u.id = s.user_id)",
        ),
        (
            "a user without the password account its sign-up creates with it",
            "SELECT count(*) FROM users u WHERE NOT EXISTS \
             (SELECT 1 FROM accounts a WHERE a.user_id = u.id)",
        ),
        (
            "a group without an owner",
            "SELECT count(*) FROM groups g WHERE NOT EXISTS \
             (SELECT 1 FROM members m WHERE m.group_id = g.id AND m.role = 'owner')",
        ),
        (
            "a member without its user or group",
            "SELECT count(*) FROM members m WHERE \
             NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id) OR \
             NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = m.group_id)",
        ),
        (
            "an accepted invite without its member",
            "SELECT count(*) FROM invites i WHERE i.status = 'accepted' AND (\
             i.accepted_by IS NULL OR i.accepted_at IS NULL OR NOT EXISTS \
             (SELECT 1 FROM members m WHERE m.group_id = i.group_id \
              AND m.user_id = i.accepted_by))",
        ),
        (
            // Every non-owner member here came from an invite: one invite, one member.
            "an invite accepted twice (more invited members than accepted invites)",
            "SELECT (SELECT count(*) FROM members WHERE role <> 'owner') - \
             (SELECT count(*) FROM invites WHERE status = 'accepted')",
        ),
        (
            "an API key without its owner",
            "SELECT count(*) FROM api_keys k WHERE k.owner_user_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM users u WHERE u.id = k.owner_user_id)",
        ),
    ];
    for (what, sql) in checks {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
        assert_eq!(n, 0, "{what}: {n}");
    }
    let (found,): (i64,) = sqlx::query_as("SELECT count(*) FROM users WHERE email = ANY($1)")
        .bind(signed_up)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        found,
        i64::try_from(signed_up.len()).unwrap(),
        "a sign-up answered 201 is missing"
    );
    let (accepted,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM invites WHERE status = 'accepted'")
            .fetch_one(pool)
            .await
            .unwrap();
    eprintln!(
        "faults_postgres: invariants hold over {} users answered 201 and {accepted} accepted \
         invites",
        signed_up.len()
    );
    assert!(
        accepted > 0,
        "no invite was accepted: the load did not reach invites"
    );
}
