//! Proving control of a domain through DNS: [`DomainVerifier`] reads TXT records; the
//! service looks for `auth-rs-domain-verification=<token>` at
//! `_auth-rs-challenge.<domain>` (a name of its own, so the domain's apex TXT records,
//! SPF and the like, stay untouched).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::BoxError;

/// A DNS lookup that failed (the resolver is unreachable, timed out, or answered with a
/// server failure): not the same as "no such record", which is an empty answer.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed")]
pub struct DnsError(#[source] pub BoxError);

/// Reads TXT records. Implemented by [`HickoryVerifier`] (feature `dns`) and by
/// [`StaticTxtRecords`] (tests); an app may bring its own (DNS over HTTPS, a provider's
/// API).
#[async_trait]
pub trait DomainVerifier: Send + Sync + 'static {
    /// The TXT records at `name`, each record's character strings joined into one; empty
    /// when the name has none or does not exist.
    async fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError>;
}

/// A [`DomainVerifier`] answering from a table the test fills: the conformance suite's
/// double, and a stand-in for apps' own tests. Clones share the table.
#[derive(Debug, Clone, Default)]
pub struct StaticTxtRecords {
    records: Arc<Mutex<HashMap<String, Vec<String>>>>,
    failing: Arc<AtomicBool>,
}

impl StaticTxtRecords {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the TXT records at `name` (lowercase, no trailing dot).
    pub fn set(&self, name: &str, values: &[&str]) {
        if let Ok(mut records) = self.records.lock() {
            records.insert(
                name.to_ascii_lowercase(),
                values.iter().map(|v| (*v).to_owned()).collect(),
            );
        }
    }

    /// Removes every record.
    pub fn clear(&self) {
        if let Ok(mut records) = self.records.lock() {
            records.clear();
        }
    }

    /// Makes every lookup fail (`true`) or answer again (`false`).
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait]
impl DomainVerifier for StaticTxtRecords {
    async fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(DnsError("the test resolver is failing".into()));
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        Ok(self
            .records
            .lock()
            .map_err(|_| DnsError("the test resolver's table is poisoned".into()))?
            .get(&name)
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(feature = "dns")]
pub use hickory::HickoryVerifier;

#[cfg(feature = "dns")]
mod hickory {
    use async_trait::async_trait;
    use hickory_resolver::proto::op::ResponseCode;
    use hickory_resolver::proto::{ProtoError, ProtoErrorKind};
    use hickory_resolver::{ResolveError, TokioResolver};

    use super::{DnsError, DomainVerifier};

    /// A [`DomainVerifier`] over the hickory DNS resolver (feature `dns`).
    #[derive(Clone)]
    pub struct HickoryVerifier {
        resolver: TokioResolver,
    }

    impl std::fmt::Debug for HickoryVerifier {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("HickoryVerifier").finish_non_exhaustive()
        }
    }

    impl HickoryVerifier {
        /// A verifier over the system's resolver configuration (`/etc/resolv.conf`).
        pub fn from_system_conf() -> Result<Self, DnsError> {
            let resolver = TokioResolver::builder_tokio()
                .map_err(|e| DnsError(Box::new(e)))?
                .build();
            Ok(Self { resolver })
        }

        /// A verifier over a resolver the app built (its name servers, its cache).
        pub fn new(resolver: TokioResolver) -> Self {
            Self { resolver }
        }
    }

    /// Whether the resolver's error is an answer saying "no such record" (NOERROR with no
    /// TXT record, or NXDOMAIN), not a failure (SERVFAIL, REFUSED, a timeout), which the
    /// resolver also reports as "no records found".
    fn is_empty_answer(error: &ResolveError) -> bool {
        matches!(
            error.proto().map(ProtoError::kind),
            Some(ProtoErrorKind::NoRecordsFound { response_code, .. })
                if matches!(*response_code, ResponseCode::NoError | ResponseCode::NXDomain)
        )
    }

    #[async_trait]
    impl DomainVerifier for HickoryVerifier {
        async fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError> {
            // A fully qualified name: no search domains appended.
            let fqdn = format!("{}.", name.trim_end_matches('.'));
            match self.resolver.txt_lookup(fqdn).await {
                Ok(lookup) => Ok(lookup
                    .iter()
                    .map(|txt| {
                        txt.txt_data()
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect::<String>()
                    })
                    .collect()),
                Err(e) if is_empty_answer(&e) => Ok(Vec::new()),
                Err(e) => Err(DnsError(Box::new(e))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_static_table_answers_and_fails_on_demand() {
        let dns = StaticTxtRecords::new();
        dns.set("_x.example.com", &["a", "b"]);
        assert_eq!(
            dns.txt_records("_X.example.com.").await.unwrap(),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert!(dns.txt_records("other.example").await.unwrap().is_empty());
        dns.fail(true);
        assert!(dns.txt_records("_x.example.com").await.is_err());
    }
}

#[cfg(all(test, feature = "dns"))]
mod dns_tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use hickory_resolver::TokioResolver;
    use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
    use hickory_resolver::name_server::TokioConnectionProvider;
    use tokio::net::UdpSocket;

    use super::{DomainVerifier, HickoryVerifier};

    /// The name in a DNS query (the question starting at byte 12), lowercase, dotted.
    fn question_name(packet: &[u8]) -> (String, usize) {
        let mut labels = Vec::new();
        let mut at = 12;
        while let Some(&len) = packet.get(at) {
            at += 1;
            if len == 0 {
                break;
            }
            let label = &packet[at..at + usize::from(len)];
            labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
            at += usize::from(len);
        }
        (labels.join("."), at + 4)
    }

    /// A DNS server on loopback: TXT answers for `_auth-rs-challenge.example.com` (one
    /// record in two character strings, one plain), NXDOMAIN for `nx.example.com`,
    /// SERVFAIL for anything else.
    async fn serve() -> u16 {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = socket.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let query = &buf[..n];
                let (name, question_end) = question_name(query);
                let answers: Vec<Vec<&[u8]>> = match name.as_str() {
                    "_auth-rs-challenge.example.com" => vec![
                        vec![b"auth-rs-domain-verification=", b"tok3n"],
                        vec![b"v=spf1 -all"],
                    ],
                    _ => Vec::new(),
                };
                let rcode: u8 = match name.as_str() {
                    "_auth-rs-challenge.example.com" => 0,
                    "nx.example.com" => 3,
                    _ => 2,
                };
                let mut out = Vec::new();
                out.extend_from_slice(&query[..2]);
                out.extend_from_slice(&[0x81, 0x80 | rcode]);
                out.extend_from_slice(&[0, 1]);
                out.extend_from_slice(&u16::try_from(answers.len()).unwrap().to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, 0]);
                out.extend_from_slice(&query[12..question_end]);
                for strings in answers {
                    let rdata: Vec<u8> = strings
                        .iter()
                        .flat_map(|s| {
                            let mut part = vec![u8::try_from(s.len()).unwrap()];
                            part.extend_from_slice(s);
                            part
                        })
                        .collect();
                    out.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60]);
                    out.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
                    out.extend_from_slice(&rdata);
                }
                let _ = socket.send_to(&out, peer).await;
            }
        });
        port
    }

    #[tokio::test]
    async fn hickory_reads_txt_records_and_tells_none_from_failure() {
        let port = serve().await;
        let servers =
            NameServerConfigGroup::from_ips_clear(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], port, true);
        let mut builder = TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, vec![], servers),
            TokioConnectionProvider::default(),
        );
        builder.options_mut().attempts = 1;
        builder.options_mut().timeout = Duration::from_secs(2);
        builder.options_mut().edns0 = false;
        let verifier = HickoryVerifier::new(builder.build());
        let mut found = verifier
            .txt_records("_auth-rs-challenge.example.com")
            .await
            .unwrap();
        found.sort();
        assert_eq!(
            found,
            vec![
                "auth-rs-domain-verification=tok3n".to_owned(),
                "v=spf1 -all".to_owned()
            ]
        );
        assert!(
            verifier
                .txt_records("nx.example.com")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(verifier.txt_records("broken.example.com").await.is_err());
    }
}
