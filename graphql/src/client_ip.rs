//! Who the client is on the network: the TCP peer, or the address a trusted proxy put in
//! `X-Forwarded-For`, and the key rate limits count it under.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`http.trusted_proxies`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts the peers inside `nets`.
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    ///
    /// A peer that is not a trusted proxy is the client, whatever it says in
    /// `X-Forwarded-For` (anyone can send that header). Behind trusted proxies the client is
    /// the right-most address of `X-Forwarded-For` that is not itself a trusted proxy: each
    /// proxy appends the peer it saw, so everything to the left of that address was written
    /// by the client and proves nothing.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A trusted proxy wrote this entry; if it is not an address, the chain is broken
            // here and the last proxy seen is the best we know.
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:80`) as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })?;
    Some(ip.to_canonical())
}

/// The key a client counts under in rate limits: an IPv4 address as it is, an IPv6
/// address by its /64 (one subscriber gets a whole /64 and picks addresses from it freely).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().expect("cidr")).collect())
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().expect("header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_ip(ip("203.0.113.7"), &xff(&["198.51.100.1"])),
            ip("203.0.113.7")
        );
        assert_eq!(
            TrustedProxies::default().client_ip(ip("127.0.0.1"), &xff(&["198.51.100.1"])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "fd00::/8"]);
        // The client forged the first entry; the proxy appended the real peer.
        let h = xff(&["1.1.1.1, 198.51.100.9, 10.1.2.3"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &h), ip("198.51.100.9"));
        // Several headers are one list, in order.
        let h = xff(&["1.1.1.1", "198.51.100.9 , 10.1.2.3"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &h), ip("198.51.100.9"));
        // Ports and brackets as some proxies write them; IPv4-mapped IPv6 is IPv4.
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), &xff(&["198.51.100.9:4711"])),
            ip("198.51.100.9")
        );
        assert_eq!(
            p.client_ip(ip("fd00::1"), &xff(&["[2001:db8::5]:443"])),
            ip("2001:db8::5")
        );
        assert_eq!(
            p.client_ip(ip("::ffff:10.0.0.1"), &xff(&["::ffff:192.0.2.4"])),
            ip("192.0.2.4")
        );
    }

    #[test]
    fn a_trusted_peer_without_a_usable_header_is_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        // All hops are proxies: the left-most one is as far as we can see.
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), &xff(&["10.9.9.9, 10.0.0.2"])),
            ip("10.9.9.9")
        );
        // Garbage written by a proxy stops the walk at the last proxy seen.
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), &xff(&["198.51.100.9, unknown"])),
            ip("10.0.0.1")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), &xff(&["198.51.100.9, garbage, 10.0.0.2"])),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let a = limit_key(ip("2001:db8:1:2:aaaa::1"));
        assert_eq!(a, limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assert_eq!(a, ip("2001:db8:1:2::"));
        assert_ne!(a, limit_key(ip("2001:db8:1:3::1")));
        assert_ne!(limit_key(ip("192.0.2.1")), limit_key(ip("192.0.2.2")));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }
}
