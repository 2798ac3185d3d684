//! LAN discovery over mDNS / DNS-SD: the `mdns-sd` wrapper shared by `registry-server serve --announce`
//! and `mcp-reg announce | discover`.
//!
//! - [`MdnsConfig`]: which interfaces and UDP port the daemon uses (`--mdns-interface`, `--mdns-port`);
//! - [`Announcer`]: registers one service (a `_mcp._tcp` server or a `_mcp-registry._tcp` registry),
//!   re-announces when the host's addresses change, and sends goodbye packets on [`Announcer::stop`] or
//!   drop;
//! - [`Browser`]: browses service types and turns the daemon's answers into typed [`Event`]s
//!   (appeared / left / invalid) with the parsed TXT record ([`registry_schema::discovery`]);
//! - [`testing`] (feature `testing`): runs tests inside throwaway network namespaces, behind a guard
//!   that fails the test before any daemon could touch a real interface.
//!
//! Creating a daemon joins the mDNS multicast group on every interface that is up (before any
//! interface selection applies); selection only limits where packets are sent.

mod announce;
mod browse;
#[cfg(feature = "testing")]
pub mod testing;

use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{IfKind, ServiceDaemon};

pub use announce::{AnnounceEvent, Announcer, ServiceSpec};
pub use browse::{Browser, Event, Service};
pub use registry_schema::discovery::{ServiceKind, Txt};

/// The mDNS port (RFC 6762).
pub const MDNS_PORT: u16 = 5353;

/// Where the daemon listens and sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsConfig {
    /// Interfaces to use, by name (`eth0`, `lo`) or by one of their addresses; empty: all.
    pub interfaces: Vec<String>,
    /// UDP port; both ends must use the same one ([`MDNS_PORT`] unless isolating tests).
    pub port: u16,
    /// How often the daemon looks for address changes (announcers re-announce on a change).
    pub ip_check_interval: Duration,
}

impl Default for MdnsConfig {
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            port: MDNS_PORT,
            ip_check_interval: Duration::from_secs(5),
        }
    }
}

/// What can go wrong in LAN discovery.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("mDNS: {0}")]
    Mdns(#[from] mdns_sd::Error),
    #[error("TXT record: {0}")]
    Txt(#[from] registry_schema::discovery::TxtError),
    #[error("invalid instance name `{name}`: {reason}")]
    Instance { name: String, reason: &'static str },
    #[error("the mDNS daemon stopped")]
    Stopped,
}

impl MdnsConfig {
    /// Starts a daemon with this configuration.
    pub(crate) fn daemon(&self) -> Result<ServiceDaemon, Error> {
        let daemon = ServiceDaemon::new_with_port(self.port)?;
        if !self.interfaces.is_empty() {
            daemon.disable_interface(IfKind::All)?;
            for interface in &self.interfaces {
                daemon.enable_interface(if_kind(interface))?;
            }
        }
        let secs = u32::try_from(self.ip_check_interval.as_secs().max(1)).unwrap_or(u32::MAX);
        daemon.set_ip_check_interval(secs)?;
        Ok(daemon)
    }
}

fn if_kind(interface: &str) -> IfKind {
    match interface.parse::<IpAddr>() {
        Ok(addr) => IfKind::Addr(addr),
        Err(_) => IfKind::Name(interface.to_owned()),
    }
}

/// This machine's host name as an mDNS name (`studio.local.`), from the kernel or `$HOSTNAME`.
pub fn local_host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
        })
        .unwrap_or_default();
    host_label(&raw)
}

/// `raw` as a single DNS label plus `.local.`: first label only, characters outside
/// `[A-Za-z0-9-]` become `-`; `mcp-reg` when nothing is left.
pub fn host_label(raw: &str) -> String {
    let first = raw.trim().split('.').next().unwrap_or_default();
    let label: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "mcp-reg.local.".to_owned()
    } else {
        format!("{label}.local.")
    }
}

/// The instance part of a DNS-SD full name (`Weather\.x._mcp._tcp.local.` → `Weather.x`), with
/// RFC 6763 §4.3 escapes (`\.`, `\\`, `\DDD`) undone.
pub fn instance_of(fullname: &str, service_type: &str) -> String {
    let escaped = fullname
        .len()
        .checked_sub(service_type.len() + 1)
        .filter(|&cut| {
            fullname.is_char_boundary(cut)
                && fullname[cut + 1..].eq_ignore_ascii_case(service_type)
                && fullname.as_bytes()[cut] == b'.'
        })
        .map_or(fullname, |cut| &fullname[..cut]);
    unescape(escaped)
}

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let digits = &bytes[i + 1..bytes.len().min(i + 4)];
            if digits.len() == 3 && digits.iter().all(u8::is_ascii_digit) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
            out.push(bytes[i + 1]);
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_unescaped() {
        assert_eq!(
            instance_of(
                r"Weather (io\.github\.acme/w) on vm._mcp._tcp.local.",
                "_mcp._tcp.local."
            ),
            "Weather (io.github.acme/w) on vm"
        );
        assert_eq!(
            instance_of(r"a\\b\032c._MCP._tcp.local.", "_mcp._tcp.local."),
            r"a\b c"
        );
        // Not of this type: the whole name, unescaped.
        assert_eq!(
            instance_of("x._other._tcp.local.", "_mcp._tcp.local."),
            "x._other._tcp.local."
        );
    }

    #[test]
    fn host_names_become_one_local_label() {
        assert_eq!(host_label("studio.example.com\n"), "studio.local.");
        assert_eq!(host_label("my_box"), "my-box.local.");
        assert_eq!(host_label(""), "mcp-reg.local.");
    }
}
