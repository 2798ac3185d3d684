//! The guard on outgoing requests to user-named hosts: resolve first, refuse addresses that are not
//! public, then connect only to the addresses judged.
//!
//! An IPv6 address can carry an IPv4 address (IPv4-mapped and -translated, IPv4-compatible, NAT64,
//! 6to4, Teredo); the IPv4 address inside is judged as if it had been given directly, so
//! `::ffff:127.0.0.1`, `::7f00:1`, `64:ff9b::a9fe:a9fe` and `2002:7f00:1::` are refused like
//! `127.0.0.1` and `169.254.169.254`. Callers re-check after every DNS resolution and on every
//! redirect: the `/auth/http` proof pins the judged addresses and follows no redirects; the ownership
//! clients judge each name in their resolver and each redirect target that is an IP literal.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Why an address may not be fetched: what it is, and the IPv6 form that carried it when the judged
/// address is an IPv4 address embedded in an IPv6 one. Displays as `loopback` or
/// `loopback (via 6to4)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// `loopback`, `private`, `link-local`, `cloud metadata`, ...
    pub kind: &'static str,
    /// `IPv4-mapped`, `IPv4-compatible`, `IPv4-translated`, `NAT64`, `6to4`, `Teredo server` or
    /// `Teredo client`.
    pub via: Option<&'static str>,
}

impl Refusal {
    const fn plain(kind: &'static str) -> Self {
        Self { kind, via: None }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.via {
            Some(via) => write!(f, "{} (via {via})", self.kind),
            None => f.write_str(self.kind),
        }
    }
}

/// Cloud instance metadata endpoints that are not in a range refused anyway (AWS, GCP and Azure's
/// 169.254.169.254 is link-local, Alibaba's 100.100.100.200 is CGNAT; named here so the reason says
/// what they are).
const METADATA_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
    // Azure's WireServer: a public-looking address answered by the host inside every VNet.
    Ipv4Addr::new(168, 63, 129, 16),
    // Oracle Cloud's metadata service.
    Ipv4Addr::new(192, 0, 0, 192),
];
/// AWS's IPv6 instance metadata endpoint (inside fc00::/7 too).
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// Why an address may not be fetched, or `None` for a public unicast address.
pub fn forbidden_reason(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4).map(Refusal::plain),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if METADATA_V4.contains(&ip) {
        Some("cloud metadata")
    } else if a == 0 {
        // 0.0.0.0/8: "this network"; connecting to it reaches the local host.
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved")
    } else if a == 192 && b == 0 && c == 0 {
        Some("IETF protocol assignment")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if a == 198 && (b & 0xfe) == 18 {
        Some("benchmarking")
    } else if a == 192 && b == 88 && c == 99 {
        Some("6to4 relay anycast")
    } else {
        None
    }
}

/// The IPv4 address held by `segments[at]` and `segments[at + 1]`.
fn v4_at(segments: &[u16; 8], at: usize) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(segments[at]) << 16) | u32::from(segments[at + 1]))
}

/// An embedded IPv4 address judged with the form that carried it.
fn embedded(v4: Ipv4Addr, via: &'static str) -> Option<Refusal> {
    v4_reason(v4).map(|kind| Refusal {
        kind,
        via: Some(via),
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<Refusal> {
    let bits = u128::from(ip);
    let segments = ip.segments();
    let low32 = v4_at(&segments, 6);
    let plain = |kind| Some(Refusal::plain(kind));
    if ip.is_unspecified() {
        return plain("unspecified");
    }
    if ip.is_loopback() {
        return plain("loopback");
    }
    if ip == METADATA_V6 {
        return plain("cloud metadata");
    }
    // ::ffff:0:0/96, IPv4-mapped: the socket connects to the IPv4 address.
    if bits >> 32 == 0xffff {
        return embedded(low32, "IPv4-mapped");
    }
    // ::ffff:0:0:0/96, IPv4-translated (SIIT).
    if bits >> 32 == 0xffff_0000 {
        return embedded(low32, "IPv4-translated");
    }
    // ::/96, IPv4-compatible (deprecated by RFC 4291; `::` and `::1` are handled above). Nothing
    // public lives here, so it is refused whatever it embeds.
    if bits >> 32 == 0 {
        return embedded(low32, "IPv4-compatible").or(Some(Refusal {
            kind: "reserved",
            via: Some("IPv4-compatible"),
        }));
    }
    // 64:ff9b::/96, the well-known NAT64 prefix: the translator connects to the embedded address.
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return embedded(low32, "NAT64");
    }
    // 64:ff9b:1::/48, local-use NAT64 (RFC 8215): the operator picks where the IPv4 address sits, and
    // the prefix is never globally reachable.
    if segments[..3] == [0x64, 0xff9b, 0x1] {
        return plain("local-use NAT64");
    }
    // 100::/64, discard-only.
    if segments[..4] == [0x100, 0, 0, 0] {
        return plain("discard-only");
    }
    // 2001::/32, Teredo: the server's IPv4 address in bits 32..64, the client's (XOR 0xffffffff) in
    // the last 32 bits.
    if segments[..2] == [0x2001, 0] {
        let server = v4_at(&segments, 2);
        let client = Ipv4Addr::from(!u32::from(low32));
        return embedded(client, "Teredo client").or_else(|| embedded(server, "Teredo server"));
    }
    // 2001:2::/48, benchmarking; 2001:db8::/32 and 3fff::/20, documentation.
    if segments[..3] == [0x2001, 0x2, 0] {
        return plain("benchmarking");
    }
    if segments[..2] == [0x2001, 0xdb8] || segments[0] & 0xfff0 == 0x3ff0 {
        return plain("documentation");
    }
    // 2002::/16, 6to4: the IPv4 address in bits 16..48.
    if segments[0] == 0x2002 {
        return embedded(v4_at(&segments, 1), "6to4");
    }
    let first = segments[0];
    if first == 0x5f00 {
        // 5f00::/16, SRv6 segment identifiers: never globally reachable.
        plain("reserved")
    } else if first & 0xfe00 == 0xfc00 {
        plain("private")
    } else if first & 0xffc0 == 0xfe80 {
        plain("link-local")
    } else if first & 0xffc0 == 0xfec0 {
        plain("site-local")
    } else if ip.is_multicast() {
        plain("multicast")
    } else {
        None
    }
}

/// Resolves `host` (through `overrides` first), within `timeout`.
pub async fn resolve(
    host: &str,
    port: u16,
    overrides: &[(String, SocketAddr)],
    timeout: Duration,
) -> Result<Vec<SocketAddr>, String> {
    if let Some((_, addr)) = overrides.iter().find(|(name, _)| name == host) {
        return Ok(vec![*addr]);
    }
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<SocketAddr> = tokio::time::timeout(timeout, lookup)
        .await
        .map_err(|_| format!("resolving {host} timed out"))?
        .map_err(|_| format!("{host} does not resolve"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no addresses"));
    }
    Ok(addrs)
}

/// Refuses when any address is not public (unless `allow_private`, for tests).
pub fn check_addresses(
    host: &str,
    addrs: &[SocketAddr],
    allow_private: bool,
) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    for addr in addrs {
        if let Some(reason) = forbidden_reason(addr.ip()) {
            return Err(format!(
                "{host} resolves to a {reason} address; the registry only fetches from public addresses"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(address, kind, via)`: every form that must be refused, and why.
    const REFUSED: &[(&str, &str, Option<&str>)] = &[
        // IPv4.
        ("127.0.0.1", "loopback", None),
        ("127.255.255.254", "loopback", None),
        ("10.1.2.3", "private", None),
        ("172.16.0.1", "private", None),
        ("172.31.255.255", "private", None),
        ("192.168.1.1", "private", None),
        ("169.254.169.254", "cloud metadata", None),
        ("169.254.170.2", "cloud metadata", None),
        ("168.63.129.16", "cloud metadata", None),
        ("100.100.100.200", "cloud metadata", None),
        ("192.0.0.192", "cloud metadata", None),
        ("169.254.1.1", "link-local", None),
        ("100.64.0.1", "carrier-grade NAT", None),
        ("100.127.255.255", "carrier-grade NAT", None),
        ("0.0.0.0", "unspecified", None),
        ("0.1.2.3", "unspecified", None),
        ("224.0.0.1", "multicast", None),
        ("239.255.255.250", "multicast", None),
        ("255.255.255.255", "broadcast", None),
        ("240.0.0.1", "reserved", None),
        ("192.0.0.8", "IETF protocol assignment", None),
        ("192.0.2.1", "documentation", None),
        ("198.51.100.7", "documentation", None),
        ("203.0.113.9", "documentation", None),
        ("198.18.0.1", "benchmarking", None),
        ("198.19.255.255", "benchmarking", None),
        ("192.88.99.1", "6to4 relay anycast", None),
        // IPv6 proper.
        ("::1", "loopback", None),
        ("::", "unspecified", None),
        ("fd00::1", "private", None),
        ("fc00::1", "private", None),
        ("fd00:ec2::254", "cloud metadata", None),
        ("fe80::1", "link-local", None),
        ("febf::1", "link-local", None),
        ("fec0::1", "site-local", None),
        ("ff02::1", "multicast", None),
        ("ff0e::1", "multicast", None),
        ("100::1", "discard-only", None),
        ("2001:db8::1", "documentation", None),
        ("3fff::1", "documentation", None),
        ("2001:2::1", "benchmarking", None),
        ("5f00::1", "reserved", None),
        ("64:ff9b:1::1", "local-use NAT64", None),
        ("64:ff9b:1:ffff::808:808", "local-use NAT64", None),
        // IPv4-mapped (::ffff:0:0/96).
        ("::ffff:127.0.0.1", "loopback", Some("IPv4-mapped")),
        ("::ffff:10.0.0.1", "private", Some("IPv4-mapped")),
        (
            "::ffff:169.254.169.254",
            "cloud metadata",
            Some("IPv4-mapped"),
        ),
        ("::ffff:169.254.0.1", "link-local", Some("IPv4-mapped")),
        (
            "::ffff:100.64.0.1",
            "carrier-grade NAT",
            Some("IPv4-mapped"),
        ),
        ("::ffff:0.0.0.0", "unspecified", Some("IPv4-mapped")),
        ("::ffff:255.255.255.255", "broadcast", Some("IPv4-mapped")),
        ("::ffff:224.0.0.1", "multicast", Some("IPv4-mapped")),
        // IPv4-translated (::ffff:0:0:0/96).
        ("::ffff:0:7f00:1", "loopback", Some("IPv4-translated")),
        ("::ffff:0:c0a8:101", "private", Some("IPv4-translated")),
        // IPv4-compatible (::/96), public or not.
        ("::7f00:1", "loopback", Some("IPv4-compatible")),
        ("::127.0.0.2", "loopback", Some("IPv4-compatible")),
        ("::a00:1", "private", Some("IPv4-compatible")),
        ("::a9fe:a9fe", "cloud metadata", Some("IPv4-compatible")),
        ("::0.0.0.2", "unspecified", Some("IPv4-compatible")),
        ("::808:808", "reserved", Some("IPv4-compatible")),
        // NAT64, well-known prefix (64:ff9b::/96).
        ("64:ff9b::7f00:1", "loopback", Some("NAT64")),
        ("64:ff9b::10.0.0.1", "private", Some("NAT64")),
        ("64:ff9b::a9fe:a9fe", "cloud metadata", Some("NAT64")),
        ("64:ff9b::6440:1", "carrier-grade NAT", Some("NAT64")),
        ("64:ff9b::", "unspecified", Some("NAT64")),
        ("64:ff9b::ffff:ffff", "broadcast", Some("NAT64")),
        ("64:ff9b::e000:1", "multicast", Some("NAT64")),
        // 6to4 (2002::/16, the IPv4 address in bits 16..48).
        ("2002:7f00:1::", "loopback", Some("6to4")),
        ("2002:7f00:1:1:1:1:1:1", "loopback", Some("6to4")),
        ("2002:c0a8:101::1", "private", Some("6to4")),
        ("2002:a9fe:a9fe::", "cloud metadata", Some("6to4")),
        ("2002:a9fe:101::", "link-local", Some("6to4")),
        ("2002:6440:1::", "carrier-grade NAT", Some("6to4")),
        ("2002::", "unspecified", Some("6to4")),
        ("2002:ffff:ffff::", "broadcast", Some("6to4")),
        ("2002:e000:1::", "multicast", Some("6to4")),
        // Teredo (2001::/32): client = last 32 bits XOR 0xffffffff, server = bits 32..64.
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "loopback",
            Some("Teredo client"),
        ),
        (
            "2001:0:4136:e378:8000:63bf:f5ff:fffe",
            "private",
            Some("Teredo client"),
        ),
        (
            "2001:0:4136:e378::5601:5601",
            "cloud metadata",
            Some("Teredo client"),
        ),
        (
            "2001:0:4136:e378:8000:63bf:9bbf:fffe",
            "carrier-grade NAT",
            Some("Teredo client"),
        ),
        (
            "2001:0:4136:e378:8000:63bf:ffff:ffff",
            "unspecified",
            Some("Teredo client"),
        ),
        ("2001:0:4136:e378::", "broadcast", Some("Teredo client")),
        (
            "2001:0:a00:1:8000:63bf:f7f7:f7f7",
            "private",
            Some("Teredo server"),
        ),
        (
            "2001:0:7f00:1:8000:63bf:f7f7:f7f7",
            "loopback",
            Some("Teredo server"),
        ),
        (
            "2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7",
            "cloud metadata",
            Some("Teredo server"),
        ),
    ];

    /// Public unicast addresses, plain and in every embedding form that may carry a public address.
    const ALLOWED: &[&str] = &[
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.0",
        "172.32.0.1",
        "169.253.255.255",
        "192.0.1.1",
        "198.20.0.1",
        "223.255.255.255",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "2a00:1450:4001::1",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        "2001:4:112::1",
    ];

    #[test]
    fn refuses_every_non_public_form() {
        for &(text, kind, via) in REFUSED {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(forbidden_reason(ip), Some(Refusal { kind, via }), "{text}");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for &text in ALLOWED {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(forbidden_reason(ip), None, "{text}");
        }
    }

    #[test]
    fn reasons_read_as_address_kinds() {
        let reason = |text: &str| forbidden_reason(text.parse().unwrap()).unwrap().to_string();
        assert_eq!(reason("10.1.2.3"), "private");
        assert_eq!(reason("2002:7f00:1::"), "loopback (via 6to4)");
        assert_eq!(
            reason("2001:0:4136:e378::5601:5601"),
            "cloud metadata (via Teredo client)"
        );
    }

    #[test]
    fn any_refused_address_refuses_the_host() {
        let addrs = |list: &[&str]| -> Vec<SocketAddr> {
            list.iter()
                .map(|ip| SocketAddr::new(ip.parse().unwrap(), 443))
                .collect()
        };
        assert_eq!(
            check_addresses(
                "example.com",
                &addrs(&["93.184.216.34", "2606:4700::1111"]),
                false
            ),
            Ok(())
        );
        let err = check_addresses(
            "rebind.example",
            &addrs(&["93.184.216.34", "::ffff:127.0.0.1"]),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "rebind.example resolves to a loopback (via IPv4-mapped) address; the registry only fetches from public addresses"
        );
        assert!(check_addresses("nat64.example", &addrs(&["64:ff9b::a9fe:a9fe"]), false).is_err());
        // Tests' own servers: the guard is lifted explicitly.
        assert_eq!(
            check_addresses("localhost", &addrs(&["127.0.0.1"]), true),
            Ok(())
        );
    }

    #[tokio::test]
    async fn overrides_answer_before_dns() {
        let pinned: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let overrides = vec![("proof.example".to_owned(), pinned)];
        let resolved = resolve("proof.example", 443, &overrides, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(resolved, vec![pinned]);
        // And the guard still judges what the override answered.
        assert!(check_addresses("proof.example", &resolved, false).is_err());
    }
}
