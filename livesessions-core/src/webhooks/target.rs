//! The SSRF guard: [`TargetPolicy`] decides which hosts deliveries may go to.
//!
//! An endpoint URL is checked when it is registered and again before every attempt, because
//! what a name resolves to can change. [`TargetPolicy::vet`] returns the addresses it checked,
//! and the transport connects to exactly those, so a name that resolves to a public address
//! for the check and to a private one for the connection (DNS rebinding) gains nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::Host;

use super::url::{EndpointUrl, URL_FIELD};
use crate::field_error::FieldError;

/// How long resolving an endpoint's host name may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which targets deliveries may be sent to. The default allows neither private targets nor
/// plain `http`: every address must be a public unicast address and the link `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    /// Allow loopback, private, link-local and other non-public unicast addresses (for
    /// development and tests). Unspecified, multicast and broadcast addresses stay refused.
    pub allow_private: bool,
    /// Allow plain `http` links.
    pub allow_http: bool,
}

impl TargetPolicy {
    /// Validates an endpoint URL with this policy's `allow_http` ([`EndpointUrl::parse`]).
    /// The host is not checked: see [`TargetPolicy::vet`].
    pub fn parse_url(&self, text: &str) -> Result<EndpointUrl, FieldError> {
        EndpointUrl::parse(text, self.allow_http)
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        if is_never_a_target(ip) {
            return false;
        }
        self.allow_private || is_public_unicast(ip)
    }

    /// Checks that `url` may be delivered to and returns the socket addresses to connect to:
    /// the IP literal, or every address its host name resolves to (through
    /// [`tokio::net::lookup_host`], within [`RESOLVE_TIMEOUT`]). A refused scheme, a name that
    /// does not resolve, or any refused address is an error naming `url`.
    pub async fn vet(&self, url: &EndpointUrl) -> Result<Vec<SocketAddr>, FieldError> {
        if !url.is_https() && !self.allow_http {
            return Err(FieldError::new(
                URL_FIELD,
                "insecure_url",
                "Use an https:// link.",
            ));
        }
        let port = url.port();
        let addrs: Vec<SocketAddr> = match url.host() {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Host::Domain(name) => resolve(name, port).await?,
        };
        if addrs.is_empty() {
            return Err(unresolvable());
        }
        if let Some(refused) = addrs.iter().find(|addr| !self.allows_ip(addr.ip())) {
            return Err(FieldError::new(
                URL_FIELD,
                "forbidden_target",
                format!(
                    "Use a link to a public internet host; {} is a private or reserved address.",
                    refused.ip()
                ),
            ));
        }
        let mut unique = Vec::with_capacity(addrs.len());
        for addr in addrs {
            if !unique.contains(&addr) {
                unique.push(addr);
            }
        }
        Ok(unique)
    }
}

async fn resolve(name: &str, port: u16) -> Result<Vec<SocketAddr>, FieldError> {
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port))).await {
        Ok(Ok(addrs)) => Ok(addrs.collect()),
        Ok(Err(_)) | Err(_) => Err(unresolvable()),
    }
}

fn unresolvable() -> FieldError {
    FieldError::new(
        URL_FIELD,
        "unresolvable_host",
        "The link's host name could not be resolved.",
    )
}

/// Addresses no policy allows: unspecified, multicast, broadcast (also inside IPv6 forms of
/// IPv4 addresses).
fn is_never_a_target(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_multicast()
                || embedded_ipv4(v6).is_some_and(|v4| is_never_a_target(IpAddr::V4(v4)))
        }
    }
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918), shared
/// (CGNAT, 100.64.0.0/10), link-local (169.254.0.0/16, with cloud metadata services, and
/// fe80::/10), unique-local (fc00::/7), site-local, documentation, benchmarking, reserved,
/// multicast or unspecified, and, for the IPv6 forms that carry an IPv4 address (mapped,
/// compatible, NAT64, 6to4), not carrying a refused one.
pub fn is_public_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", 0.0.0.0/8
        || a == 10 // private
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

/// The IPv4 address an IPv6 address carries, for the forms that route to it: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::/96` and
/// the local-use `64:ff9b:1::/48`) and 6to4 (`2002::/16`).
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return Some(low);
    }
    if (s[0] == 0x64 && s[1] == 0xff9b) && ((s[2..6] == [0; 4]) || s[2] == 1) {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() {
        return false;
    }
    if let Some(v4) = embedded_ipv4(ip) {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let refused = (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: carries an obfuscated IPv4 address
        || (s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only 100::/64
        || s[0] == 0; // the rest of ::/16 (reserved)
    !refused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_and_reserved_addresses_are_refused() {
        for refused in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::c0a8:101",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
        ] {
            assert!(!is_public_unicast(ip(refused)), "{refused} must be refused");
            assert!(!TargetPolicy::default().allows_ip(ip(refused)), "{refused}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for allowed in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "169.253.1.1",
            "192.169.0.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public_unicast(ip(allowed)), "{allowed} must be allowed");
            assert!(TargetPolicy::default().allows_ip(ip(allowed)), "{allowed}");
        }
    }

    #[test]
    fn allowing_private_targets_never_allows_unspecified_or_multicast() {
        let lax = TargetPolicy {
            allow_private: true,
            allow_http: true,
        };
        assert!(lax.allows_ip(ip("127.0.0.1")));
        assert!(lax.allows_ip(ip("10.0.0.1")));
        assert!(lax.allows_ip(ip("::1")));
        for never in [
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
            "::ffff:0.0.0.0",
        ] {
            assert!(!lax.allows_ip(ip(never)), "{never}");
        }
    }

    #[tokio::test]
    async fn vet_checks_literals_and_resolved_names() {
        let strict = TargetPolicy::default();
        let url = strict.parse_url("https://93.184.216.34:8443/hook").unwrap();
        assert_eq!(
            strict.vet(&url).await.unwrap(),
            vec!["93.184.216.34:8443".parse::<SocketAddr>().unwrap()]
        );
        for text in [
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:7f00:1]/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://localhost/",
        ] {
            let url = strict.parse_url(text).unwrap();
            let e = strict.vet(&url).await.expect_err(text);
            assert_eq!(e.field, "url", "{text}");
            assert_eq!(e.code, "forbidden_target", "{text}: {e:?}");
        }
        let e = strict
            .vet(&strict.parse_url("https://no-such-host.invalid/").unwrap())
            .await
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("url", "unresolvable_host"));
        let lax = TargetPolicy {
            allow_private: true,
            allow_http: true,
        };
        let url = lax.parse_url("http://127.0.0.1:9000/").unwrap();
        assert_eq!(lax.vet(&url).await.unwrap().len(), 1);
        let e = strict.vet(&url).await.unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("url", "insecure_url"));
    }
}
