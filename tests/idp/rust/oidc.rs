//! The test OpenID provider (`oidc.mjs`, npm `oidc-provider`) and its browser driver
//! (`drive-oidc.mjs`).

use std::path::Path;

use super::{Process, runs, skipped};

/// Whether Node and the provider are installed; prints SKIPPED for `test` when not.
pub fn available(test: &str) -> bool {
    let ready =
        runs("node", "--version") && super::idp_dir().join("node_modules/oidc-provider").is_dir();
    if !ready {
        skipped(test, "node and tests/idp/node_modules");
    }
    ready
}

/// oidc.mjs, killed on drop.
pub struct Idp {
    _process: Process,
    /// `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl Idp {
    /// Starts oidc.mjs on `port` (0: a free one) with the client's `redirect_uri`.
    pub fn start(port: u16, redirect_uri: &str) -> Idp {
        let port = port.to_string();
        let (process, line) = super::start(
            Path::new("node"),
            "oidc.mjs",
            &["--port", &port, "--redirect-uri", redirect_uri],
        );
        let issuer = line.trim().to_owned();
        assert!(issuer.starts_with("http://127.0.0.1:"), "issuer {issuer:?}");
        Idp {
            _process: process,
            issuer,
        }
    }
}

/// Plays the browser at the provider: signs `login` in and answers the URL it was sent
/// back to (not requested).
pub fn drive(url: &str, login: &str) -> String {
    let out = super::drive("drive-oidc.mjs", url, login);
    String::from_utf8(out).expect("a URL").trim().to_owned()
}
