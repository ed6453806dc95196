//! `mediaImport(url)`: fetching a picture from a URL a staff member gives, without letting
//! that URL reach inside our network (SSRF). Every address a name resolves to is checked
//! in our own resolver, so redirects and DNS rebinding go through the same check; literal
//! addresses (which skip the resolver) are checked on the URL and on every redirect.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect,
};

use crate::Error;

/// How long one import may take, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// Whether an address is somewhere a staff member's URL must not reach: loopback,
/// private, link-local (cloud metadata), unique-local, unspecified, multicast, broadcast,
/// documentation or shared (CGNAT) ranges, and IPv4 inside IPv6.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local fe80::/10
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || (first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 to anywhere
                || v6.segments()[..6].iter().all(|s| *s == 0) // IPv4-compatible
        }
    }
}

/// Resolves with the system resolver and refuses names with an internal address.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.iter().any(|a| is_internal(a.ip())) {
                return Err(format!("{host} resolves to an internal address").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

fn literal_internal(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => false,
        None => true,
    }
}

/// The import client: 10 s, no proxy (a proxy would resolve for us), and, unless
/// `allow_private`, the address checks.
pub fn client(allow_private: bool) -> Result<reqwest::Client, Error> {
    let policy = redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if !matches!(attempt.url().scheme(), "http" | "https") {
            attempt.error("redirect to another scheme")
        } else if !allow_private && literal_internal(attempt.url()) {
            attempt.error("redirect to an internal address")
        } else {
            attempt.follow()
        }
    });
    let mut b = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .no_proxy()
        .redirect(policy)
        .user_agent("Jangteo media import");
    if !allow_private {
        b = b.dns_resolver(Arc::new(GuardedResolver));
    }
    b.build().map_err(|e| Error::Fault {
        what: "media.import",
        reason: e.to_string(),
    })
}

fn bad_url(reason: impl Into<String>) -> Error {
    Error::Invalid {
        field: "url",
        reason: reason.into(),
    }
}

/// Fetches `url`, at most `max_bytes` of it (counted while streaming, whatever
/// `Content-Length` says). Errors: `INVALID_INPUT` (`url`: not http(s), an internal
/// address, unreachable, not 2xx, timed out), `TOO_LARGE`.
pub async fn fetch(client: &reqwest::Client, url: &str, max_bytes: u64, allow_private: bool) -> Result<Vec<u8>, Error> {
    let parsed = Url::parse(url.trim()).map_err(|_| bad_url("not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad_url("only http and https URLs"));
    }
    if !allow_private && literal_internal(&parsed) {
        return Err(bad_url("the address is not allowed"));
    }
    let too_large = Error::TooLarge {
        what: "bytes",
        limit: max_bytes,
    };
    let mut resp = client.get(parsed).send().await.map_err(|e| {
        tracing::info!(error = %e, "media import failed");
        if e.is_timeout() {
            bad_url("timed out")
        } else if e.is_redirect() {
            bad_url("a redirect was refused")
        } else if format!("{e:?}").contains("internal address") {
            bad_url("the address is not allowed")
        } else {
            bad_url("could not fetch it")
        }
    })?;
    if !resp.status().is_success() {
        return Err(bad_url(format!("the server answered {}", resp.status().as_u16())));
    }
    if resp.content_length().is_some_and(|l| l > max_bytes) {
        return Err(too_large);
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > max_bytes {
                    return Err(too_large);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(bad_url("timed out")),
            Err(_) => return Err(bad_url("the download broke off")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }
}
