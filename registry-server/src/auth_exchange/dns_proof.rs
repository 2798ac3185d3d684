//! `/auth/dns`: the signed timestamp checked against the TXT records at the domain's apex, asked of a
//! configurable DNS server with a minimal UDP query (no resolver library).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::AuthExchangeConfig;
use crate::error::ApiError;

/// Time allowed for the whole lookup.
pub const TIMEOUT: Duration = Duration::from_secs(5);
const TYPE_TXT: u16 = 16;
const CLASS_IN: u16 = 1;

/// The TXT records of `domain`; a 401 naming the subdomain when the record is only found under
/// `_mcp-auth.` or `_mcp-registry.`.
pub async fn fetch_records(
    config: &AuthExchangeConfig,
    domain: &str,
) -> Result<Vec<String>, ApiError> {
    let resolver = match config.dns_resolver {
        Some(addr) => addr,
        None => system_resolver().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "no DNS resolver: set --auth-dns-resolver or a nameserver in /etc/resolv.conf"
            ))
        })?,
    };
    let lookup = async {
        let records = txt_lookup(resolver, domain).await?;
        if records.iter().any(|record| record.contains("v=MCPv1")) {
            return Ok(records);
        }
        for prefix in ["_mcp-auth", "_mcp-registry"] {
            let misplaced = format!("{prefix}.{domain}");
            if txt_lookup(resolver, &misplaced)
                .await
                .is_ok_and(|found| found.iter().any(|record| record.contains("v=MCPv1")))
            {
                return Err(format!(
                    "the MCPv1 TXT record was found at {misplaced}; it must be at {domain} itself"
                ));
            }
        }
        Ok(records)
    };
    tokio::time::timeout(TIMEOUT, lookup)
        .await
        .map_err(|_| ApiError::Unauthorized(format!("the DNS lookup of {domain} timed out")))?
        .map_err(ApiError::Unauthorized)
}

/// The first `nameserver` of /etc/resolv.conf.
fn system_resolver() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines().find_map(|line| {
        let ip = line.trim().strip_prefix("nameserver")?.trim();
        let ip: std::net::IpAddr = ip.split('%').next()?.parse().ok()?;
        Some(SocketAddr::new(ip, 53))
    })
}

/// Asks `resolver` for the TXT records of `name` (each record's strings joined).
pub async fn txt_lookup(resolver: SocketAddr, name: &str) -> Result<Vec<String>, String> {
    let bind: SocketAddr = if resolver.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(|_| "cannot open a UDP socket for DNS".to_owned())?;
    socket
        .connect(resolver)
        .await
        .map_err(|_| "cannot reach the DNS resolver".to_owned())?;
    let mut id = [0u8; 2];
    getrandom::fill(&mut id).map_err(|_| "no randomness for the DNS query id".to_owned())?;
    let query = build_query(u16::from_be_bytes(id), name)?;
    socket
        .send(&query)
        .await
        .map_err(|_| "cannot send the DNS query".to_owned())?;
    let mut buffer = vec![0u8; 4096];
    loop {
        let len = socket
            .recv(&mut buffer)
            .await
            .map_err(|_| "the DNS resolver did not answer".to_owned())?;
        // Ignore stray datagrams with another id (spoofing or late answers).
        if len >= 2 && buffer[..2] == id {
            return parse_response(&buffer[..len], name);
        }
    }
}

fn build_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut query = Vec::with_capacity(name.len() + 18);
    query.extend_from_slice(&id.to_be_bytes());
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|len| (1..=63).contains(len))
            .ok_or_else(|| format!("{name} is not a valid DNS name"))?;
        query.push(len);
        query.extend_from_slice(label.as_bytes());
    }
    query.push(0);
    query.extend_from_slice(&TYPE_TXT.to_be_bytes());
    query.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(query)
}

fn parse_response(message: &[u8], name: &str) -> Result<Vec<String>, String> {
    let bad = || format!("malformed DNS answer for {name}");
    let header = message.get(..12).ok_or_else(bad)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & 0x8000 == 0 {
        return Err(bad());
    }
    if flags & 0x0200 != 0 {
        return Err(format!(
            "the DNS answer for {name} was truncated (too many TXT records)"
        ));
    }
    match flags & 0x000f {
        0 => {}
        3 => return Ok(Vec::new()),
        rcode => return Err(format!("the DNS lookup of {name} failed (rcode {rcode})")),
    }
    let questions = u16::from_be_bytes([header[4], header[5]]);
    let answers = u16::from_be_bytes([header[6], header[7]]);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(message, at).ok_or_else(bad)? + 4;
    }
    let mut records = Vec::new();
    for _ in 0..answers {
        at = skip_name(message, at).ok_or_else(bad)?;
        let fixed = message.get(at..at + 10).ok_or_else(bad)?;
        let kind = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        at += 10;
        let rdata = message.get(at..at + rdlength).ok_or_else(bad)?;
        at += rdlength;
        if kind != TYPE_TXT {
            continue;
        }
        let mut text = Vec::new();
        let mut i = 0;
        while i < rdata.len() {
            let len = usize::from(rdata[i]);
            text.extend_from_slice(rdata.get(i + 1..i + 1 + len).ok_or_else(bad)?);
            i += 1 + len;
        }
        records.push(String::from_utf8_lossy(&text).into_owned());
    }
    Ok(records)
}

/// The offset after the (possibly compressed) name at `at`.
fn skip_name(message: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *message.get(at)?;
        match len {
            0 => return Some(at + 1),
            len if len & 0xc0 == 0xc0 => return Some(at + 2),
            len => at += 1 + usize::from(len),
        }
    }
}
