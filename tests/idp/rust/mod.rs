//! The Rust tests' side of the identity providers of tests/idp, shared by the crates that
//! run them (included with `#[path = ".../tests/idp/rust/mod.rs"] mod idp;`): where they
//! are, the SKIPPED line, the browser drivers, a process killed on drop; the OpenID
//! provider in [`oidc`], the SAML IdP in [`saml`].

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub mod oidc;
pub mod saml;

/// `tests/idp` of the workspace (found above the including crate's directory).
pub fn idp_dir() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .map(|dir| dir.join("tests/idp"))
        .find(|dir| dir.join("oidc.mjs").is_file())
        .expect("tests/idp above the crate")
}

/// Says that `test` is skipped for want of `needs`, past the test harness's capture
/// (seen even though the test passes) where the platform allows, and through it too.
pub fn skipped(test: &str, needs: &str) {
    let line = format!("SKIPPED {test}: needs {needs} (run scripts/setup.sh)");
    if let Ok(mut stderr) = std::fs::OpenOptions::new().write(true).open("/dev/stderr") {
        let _ = writeln!(stderr, "{line}");
    }
    eprintln!("{line}");
}

/// Whether `program arg` runs and succeeds.
pub fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the driver `script` (`drive-oidc.mjs`, `drive-saml.mjs`) with `url` and `login`;
/// its standard output.
pub fn drive(script: &str, url: &str, login: &str) -> Vec<u8> {
    let out = Command::new("node")
        .arg(idp_dir().join(script))
        .args([url, login])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A child process, killed (and reaped) on drop.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program` (node, or the pysaml2 venv's python) on the IdP `script` with `args`;
/// the process and the first line it prints (its ready line).
pub fn start(program: &Path, script: &str, args: &[&str]) -> (Process, String) {
    let mut child = Command::new(program)
        .arg(idp_dir().join(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {script}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Process(child), line)
}
