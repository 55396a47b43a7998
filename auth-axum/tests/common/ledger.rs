//! The secret ledger: every HTTP test runs with logging at TRACE, and each `TestApp`
//! keeps the secrets its requests and responses carried (passwords, session and refresh
//! tokens, API keys, invite tokens, emailed codes and link tokens, TOTP seeds, codes and
//! recovery codes). A response body that
//! repeats a secret issued earlier fails at once; when the app is dropped, the log lines
//! written during its life are searched for every one of them.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use auth_core::RecordingMailer;
use serde_json::Value;

/// Response fields that issue a secret.
const ISSUED: [&str; 6] = [
    "session_token",
    "refresh_token",
    "secret",
    "token",
    "secret_base32",
    "recovery_codes",
];
/// Request fields that carry one.
const PRESENTED: [&str; 7] = [
    "password",
    "client_secret",
    "current_password",
    "new_password",
    "code",
    "token",
    "refresh_token",
];
/// Shorter values are not searched for: a test's deliberately weak password ("short")
/// is a word any log may hold. Codes are searched as whole numbers instead.
const MIN_SEARCHED: usize = 10;

/// Every log line of the test binary, at TRACE, without timestamps (whose digits could
/// pass for a code).
fn log() -> &'static Capture {
    static LOG: OnceLock<Capture> = OnceLock::new();
    LOG.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = capture.subscriber();
        // A test binary that installed its own subscriber keeps it; its log is then empty
        // here, which `Ledger::check_logs` reports rather than passing silently.
        let _ = tracing::subscriber::set_global_default(subscriber);
        capture
    })
}

/// Log lines written to memory.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// A subscriber writing every event, at TRACE and without timestamps, here.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .finish()
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        self.since(0)
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn since(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()[start..]).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The secrets one app saw, and where its part of the log begins.
pub struct Ledger {
    secrets: Mutex<Vec<String>>,
    log_start: usize,
    mailer: RecordingMailer,
}

impl Ledger {
    /// Starts the TRACE log (once per binary) and an empty ledger for an app whose mail
    /// goes to `mailer`.
    pub fn new(mailer: RecordingMailer) -> Self {
        Self {
            secrets: Mutex::new(Vec::new()),
            log_start: log().len(),
            mailer,
        }
    }

    /// Notes the secrets a request body presents.
    pub fn presented(&self, body: &[u8]) {
        if let Ok(json) = serde_json::from_slice::<Value>(body) {
            self.note_fields(&json, &PRESENTED);
        }
    }

    /// Fails if a response body repeats a secret seen before (including a password or
    /// code of the request it answers), then notes the secrets it issues.
    pub fn answered(&self, body: &[u8]) {
        let text = String::from_utf8_lossy(body);
        if let Some(kind) = self.known().iter().find_map(|s| found_in(&text, s)) {
            panic!(
                "a response body repeats a secret ({kind}): {}",
                redact(&text)
            );
        }
        if let Ok(json) = serde_json::from_slice::<Value>(body) {
            self.note_fields(&json, &ISSUED);
        }
    }

    /// The log lines written since this app was built (by every test of the binary).
    pub fn log(&self) -> String {
        log().since(self.log_start)
    }

    /// Fails if a log line written while this app lived holds one of its secrets.
    pub fn check_logs(&self) {
        let logs = self.log();
        let secrets = self.known();
        if secrets.is_empty() {
            return;
        }
        assert!(
            !logs.is_empty(),
            "the TRACE log was not captured (another subscriber is installed?)"
        );
        for secret in &secrets {
            if let Some(kind) = found_in(&logs, secret) {
                let line = logs
                    .lines()
                    .find(|line| found_in(line, secret).is_some())
                    .unwrap_or_default();
                panic!(
                    "a log line holds a secret ({kind}): {}",
                    line.replace(secret, "[SECRET]")
                );
            }
        }
    }

    /// Every secret noted so far and every code and link token mailed.
    fn known(&self) -> Vec<String> {
        let mut all = self.secrets.lock().unwrap().clone();
        for mail in self.mailer.messages() {
            all.push(mail.code.expose().to_owned());
            all.push(mail.link_token.expose().to_owned());
        }
        all
    }

    fn note_fields(&self, json: &Value, fields: &[&str]) {
        let mut found = Vec::new();
        collect(json, fields, &mut found);
        let mut secrets = self.secrets.lock().unwrap();
        for value in found {
            if !secrets.contains(&value) {
                secrets.push(value);
            }
        }
    }
}

/// The string values of `fields`, at any depth of `json`, that are worth searching for.
fn collect(json: &Value, fields: &[&str], out: &mut Vec<String>) {
    match json {
        Value::Object(map) => {
            for (name, value) in map {
                match value {
                    Value::String(s) if fields.contains(&name.as_str()) && searchable(s) => {
                        out.push(s.clone())
                    }
                    // A list of secrets (recovery codes).
                    Value::Array(items) if fields.contains(&name.as_str()) => out.extend(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .filter(|s| searchable(s))
                            .map(str::to_owned),
                    ),
                    _ => collect(value, fields, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, fields, out)),
        _ => {}
    }
}

fn is_code(s: &str) -> bool {
    (4..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn searchable(s: &str) -> bool {
    is_code(s) || s.len() >= MIN_SEARCHED
}

/// Whether `haystack` holds `secret`; a numeric code counts only as a whole number (not
/// inside a longer run of letters and digits, such as an id or a hash).
fn found_in(haystack: &str, secret: &str) -> Option<&'static str> {
    if !is_code(secret) {
        return haystack
            .contains(secret)
            .then_some("a token, key or password");
    }
    let bytes = haystack.as_bytes();
    haystack
        .match_indices(secret)
        .any(|(at, _)| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + secret.len()).copied();
            !before.is_some_and(|b| b.is_ascii_alphanumeric())
                && !after.is_some_and(|b| b.is_ascii_alphanumeric())
        })
        .then_some("a code")
}

/// A body for a failure message, with every long run of token characters cut short.
fn redact(text: &str) -> String {
    text.split_inclusive(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map(|word| if word.len() > 12 { "[…]" } else { word })
        .collect()
}
