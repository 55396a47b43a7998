//! The demo's DNS TXT lookups for SSO domain verification: the system's resolver, or a
//! file of records (`AUTH_DNS_TXT_FILE`) for tests and offline demos.

use std::path::PathBuf;

use async_trait::async_trait;
use auth_core::error::BoxError;
use auth_core::sso::{DnsError, DomainVerifier, HickoryVerifier};

/// Where the demo reads TXT records from.
#[derive(Debug, Clone)]
pub enum DemoDns {
    /// Real DNS, through the system's resolver configuration (`/etc/resolv.conf`).
    System(Box<HickoryVerifier>),
    /// A file read at each lookup: one record a line, `<name> <value>` (the value may be
    /// quoted; `#` starts a comment). A missing file has no records. For tests and
    /// offline demos only: whoever can write the file can prove any domain.
    File(PathBuf),
}

impl DemoDns {
    /// The file's records when `txt_file` is given, else the system's resolver.
    pub fn new(txt_file: Option<PathBuf>) -> Result<Self, BoxError> {
        Ok(match txt_file {
            Some(path) => {
                tracing::warn!(file = %path.display(), "SSO domains are verified from a file of TXT records, not DNS");
                DemoDns::File(path)
            }
            None => DemoDns::System(Box::new(HickoryVerifier::from_system_conf()?)),
        })
    }
}

#[async_trait]
impl DomainVerifier for DemoDns {
    async fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError> {
        match self {
            DemoDns::System(resolver) => resolver.txt_records(name).await,
            DemoDns::File(path) => match tokio::fs::read_to_string(path).await {
                Ok(text) => Ok(records_at(&text, name)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(error) => Err(DnsError(Box::new(error))),
            },
        }
    }
}

/// The values of the records at `name` in a records file's `text`.
fn records_at(text: &str, name: &str) -> Vec<String> {
    let wanted = name.trim_end_matches('.');
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(char::is_whitespace))
        .filter(|(at, _)| at.trim_end_matches('.').eq_ignore_ascii_case(wanted))
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_records_file_answers_by_name() {
        let text = "# published by the test\n\
                    _auth-rs-challenge.acme.example. \"auth-rs-domain-verification=abc\"\n\
                    _auth-rs-challenge.acme.example v=spf1 -all\n\
                    _auth-rs-challenge.other.example auth-rs-domain-verification=xyz\n\
                    malformed\n";
        assert_eq!(
            records_at(text, "_AUTH-RS-CHALLENGE.acme.example"),
            vec!["auth-rs-domain-verification=abc", "v=spf1 -all"]
        );
        assert!(records_at(text, "_auth-rs-challenge.nowhere.example").is_empty());
    }

    #[tokio::test]
    async fn a_missing_file_has_no_records() {
        let dns = DemoDns::File("/nonexistent/auth-demo-txt".into());
        assert!(
            dns.txt_records("_auth-rs-challenge.acme.example")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
