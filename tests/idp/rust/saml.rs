//! The test SAML IdP (`saml_idp.py`, pysaml2) and its browser driver (`drive-saml.mjs`).
//! Needs Node with tests/idp/node_modules, python3 (the pysaml2 venv is installed by
//! tests/idp/idps.sh), xmlsec1, openssl and curl.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use auth_core::sso::AttributeMapping;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Process, idp_dir, runs, skipped};

/// The pysaml2 venv's python, installed once per test process by `idps.sh`
/// (`idp_install`); `None` when a tool is missing or the install fails.
fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let tools = runs("node", "--version")
                && idp_dir().join("node_modules").is_dir()
                && runs("xmlsec1", "--version")
                && runs("openssl", "version")
                && runs("curl", "--version")
                && runs("python3", "--version");
            if !tools {
                return None;
            }
            let out = Command::new("bash")
                .arg("-c")
                .arg(r#"source "$1" && idp_install >&2 && echo "$idp_python"; status=$?; rm -rf "$idp_tmp"; exit $status"#)
                .arg("_")
                .arg(idp_dir().join("idps.sh"))
                .stderr(Stdio::inherit())
                .output()
                .ok()?;
            let path = String::from_utf8(out.stdout).ok()?.trim().to_owned();
            (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
        .as_deref()
}

/// Whether the IdP can run (its python); prints SKIPPED (past the harness's capture too)
/// when not.
pub fn available(test: &str) -> Option<&'static Path> {
    let python = python();
    if python.is_none() {
        skipped(
            test,
            "node with tests/idp/node_modules, python3 (pysaml2), xmlsec1, openssl and curl",
        );
    }
    python
}

/// saml_idp.py, killed on drop.
pub struct Idp {
    _process: Process,
    /// Its SSO URL (HTTP-Redirect binding).
    pub sso_url: String,
    /// Its metadata XML.
    pub metadata: String,
}

impl Idp {
    /// Starts the IdP serving the SPs `(entity id, ACS URL)`, signing `sign`
    /// (`both`, `response` or `assertion`).
    pub fn start(python: &Path, sign: &str, sps: &[(&str, &str)]) -> Idp {
        let (process, line) = super::start(python, "saml_idp.py", &["--port", "0", "--sign", sign]);
        let ready: serde_json::Value = serde_json::from_str(&line).expect("the IdP's ready line");
        let sso_url = ready["sso_url"].as_str().unwrap().to_owned();
        let metadata = curl(&[ready["metadata_url"].as_str().unwrap()]);
        let idp = Idp {
            _process: process,
            sso_url,
            metadata,
        };
        for (entity_id, acs_url) in sps {
            idp.register(entity_id, acs_url);
        }
        idp
    }

    /// Registers the SP `entity_id` with its ACS URL.
    pub fn register(&self, entity_id: &str, acs_url: &str) {
        let base = self.sso_url.trim_end_matches("/sso/redirect");
        curl(&[
            "--data-urlencode",
            &format!("entity_id={entity_id}"),
            "--data-urlencode",
            &format!("acs_url={acs_url}"),
            &format!("{base}/admin/sp"),
        ]);
    }
}

/// `curl -fsS args`: its output.
pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .arg("-fsS")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the IdP's form would post to the ACS.
pub struct Posted {
    /// `SAMLResponse` (base64).
    pub response: String,
    /// `RelayState`.
    pub relay_state: String,
}

impl Posted {
    /// The response's XML.
    pub fn xml(&self) -> String {
        String::from_utf8(STANDARD.decode(&self.response).unwrap()).unwrap()
    }
}

/// Plays the browser: signs `login` in at the redirect URL, answers the form's fields.
pub fn drive(url: &str, login: &str) -> Posted {
    let out = super::drive("drive-saml.mjs", url, login);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    Posted {
        response: v["SAMLResponse"].as_str().unwrap().to_owned(),
        relay_state: v["RelayState"].as_str().unwrap_or("").to_owned(),
    }
}

/// The connection's attribute mapping for this IdP's names (FriendlyName).
pub fn mapping() -> AttributeMapping {
    AttributeMapping {
        subject: None,
        email: "mail".into(),
        name: Some("displayName".into()),
        given_name: Some("givenName".into()),
        family_name: Some("sn".into()),
        groups: Some("isMemberOf".into()),
    }
}
