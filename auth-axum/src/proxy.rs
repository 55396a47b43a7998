//! The client address behind trusted proxies: `X-Forwarded-For` counts only when the
//! connecting peer is a trusted proxy, and then the client is the right-most hop that is
//! not one (the left part of the header is whatever the client wrote).

use std::net::{IpAddr, SocketAddr};

use auth_core::ConfigError;
use axum::http::HeaderValue;
use ipnet::IpNet;

/// The proxies trusted to report the client address: addresses and networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses addresses (`10.0.0.7`, `::1`) and networks in CIDR form (`10.0.0.0/8`,
    /// `fd00::/8`); `INVALID` config error for anything else, or for an empty list.
    pub fn parse<I>(proxies: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let invalid = || ConfigError::Invalid {
            setting: "http.trusted_proxies",
            reason: "each proxy is an IP address or a CIDR network (10.0.0.0/8, fd00::/8)",
        };
        let nets = proxies
            .into_iter()
            .map(|p| {
                let p = p.as_ref().trim();
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| invalid())
            })
            .collect::<Result<Vec<_>, _>>()?;
        if nets.is_empty() {
            return Err(ConfigError::Invalid {
                setting: "http.trusted_proxies",
                reason: "name at least one proxy address or network",
            });
        }
        Ok(Self(nets))
    }

    /// The trusted networks.
    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }

    /// Whether no proxy is trusted (then `X-Forwarded-For` is ignored).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` (an IPv4-mapped IPv6 address as its IPv4 address) is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` carrying the `X-Forwarded-For` header values
    /// `forwarded` (in order): the peer itself unless it is trusted; otherwise, walking
    /// the hops right to left, the first that is not a trusted proxy. A malformed hop
    /// stops the walk at the last good one (all hops left of it are the client's word).
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded: impl DoubleEndedIterator<Item = &'a HeaderValue>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        for value in forwarded.rev() {
            let Ok(value) = value.to_str() else {
                return client;
            };
            for hop in value.rsplit(',') {
                let Some(ip) = parse_hop(hop) else {
                    return client;
                };
                client = ip;
                if !self.contains(ip) {
                    return client;
                }
            }
        }
        client
    }
}

/// One `X-Forwarded-For` hop: an address, with or without a port (`[v6]:port` for IPv6).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn client(proxies: &[&str], peer: &str, headers: &[&str]) -> String {
        let proxies = TrustedProxies::parse(proxies).unwrap();
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|h| HeaderValue::from_str(h).unwrap())
            .collect();
        proxies
            .client(peer.parse().unwrap(), values.iter())
            .to_string()
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        let p = TrustedProxies::parse(["10.0.0.7", " 172.16.0.0/12", "fd00::/8", "::1"]).unwrap();
        assert!(p.contains("10.0.0.7".parse().unwrap()));
        assert!(!p.contains("10.0.0.8".parse().unwrap()));
        assert!(p.contains("172.31.255.1".parse().unwrap()));
        assert!(p.contains("::ffff:172.16.0.1".parse().unwrap()));
        assert!(p.contains("fd12::1".parse().unwrap()));
        for bad in [
            "",
            "10.0.0.0/33",
            "proxy.internal",
            "10.0.0.*",
            "fd00::/129",
        ] {
            assert!(TrustedProxies::parse([bad]).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse(Vec::<String>::new()).is_err());
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let lb = ["10.0.0.0/8"];
        // The client wrote the first entry; the proxy appended the real peer.
        assert_eq!(
            client(&lb, "10.0.0.2", &["6.6.6.6, 203.0.113.5"]),
            "203.0.113.5"
        );
        // Two proxy tiers, several headers, ports and spaces.
        assert_eq!(
            client(
                &lb,
                "10.0.0.2",
                &["1.1.1.1", " 203.0.113.5:4711 ,10.0.0.9", "10.0.0.3"]
            ),
            "203.0.113.5"
        );
        assert_eq!(
            client(&lb, "10.0.0.2", &["[2001:db8::5]:443"]),
            "2001:db8::5"
        );
        assert_eq!(client(&lb, "10.0.0.2", &["2001:db8::5"]), "2001:db8::5");
        assert_eq!(
            client(&lb, "10.0.0.2", &["::ffff:203.0.113.5"]),
            "203.0.113.5"
        );
        // Every hop trusted: the furthest one.
        assert_eq!(client(&lb, "10.0.0.2", &["10.9.9.9, 10.0.0.1"]), "10.9.9.9");
        // No header: the proxy itself.
        assert_eq!(client(&lb, "10.0.0.2", &[]), "10.0.0.2");
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(
            client(&["10.0.0.0/8"], "203.0.113.5", &["1.2.3.4"]),
            "203.0.113.5"
        );
        assert_eq!(
            client(&["10.0.0.0/8"], "::ffff:10.0.0.2", &["1.2.3.4"]),
            "1.2.3.4"
        );
    }

    #[test]
    fn garbage_stops_at_the_last_good_hop() {
        let lb = ["10.0.0.0/8"];
        assert_eq!(
            client(&lb, "10.0.0.2", &["1.2.3.4, unknown, 10.0.0.3"]),
            "10.0.0.3"
        );
        assert_eq!(client(&lb, "10.0.0.2", &["1.2.3.4, "]), "10.0.0.2");
        assert_eq!(client(&lb, "10.0.0.2", &["999.1.1.1"]), "10.0.0.2");
        assert_eq!(
            client(&lb, "10.0.0.2", &["1.2.3.4, 203.0.113.5", "garbage"]),
            "10.0.0.2"
        );
        let proxies = TrustedProxies::parse(lb).unwrap();
        let binary = HeaderValue::from_bytes(b"1.2.3.4, \xff").unwrap();
        assert_eq!(
            proxies
                .client("10.0.0.2".parse().unwrap(), [&binary].into_iter())
                .to_string(),
            "10.0.0.2"
        );
    }
}
