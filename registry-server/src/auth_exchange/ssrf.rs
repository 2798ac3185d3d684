//! The guard on outgoing requests to user-named hosts: resolve first, refuse addresses that are not
//! public, then connect only to the addresses judged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Why an address may not be fetched, or `None` for a public unicast address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_reason(v4),
            None => v6_reason(v6),
        },
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("multicast or reserved")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast or reserved")
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

    #[test]
    fn only_public_addresses_pass() {
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = blocked.parse().unwrap();
            assert!(forbidden_reason(ip).is_some(), "{blocked}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert_eq!(forbidden_reason(public.parse().unwrap()), None, "{public}");
        }
    }
}
