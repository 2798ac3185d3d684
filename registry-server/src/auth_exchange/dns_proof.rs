//! `/auth/dns`: the signed timestamp checked against the TXT records at the domain's apex, asked of a
//! configurable DNS server with a minimal client (no resolver library): UDP first, then TCP when
//! the UDP answer is truncated.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::AuthExchangeConfig;
use crate::error::ApiError;

/// Time allowed for the whole lookup, TCP retries included.
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

/// A validated answer: its records, or only the news that they did not fit in a datagram.
#[derive(Debug)]
enum Answer {
    Records(Vec<String>),
    Truncated,
}

/// Asks `resolver` for the TXT records of `name` (each record's strings joined): over UDP first,
/// and again over TCP when the UDP answer is truncated (RFC 7766). The caller bounds the time, as
/// [`fetch_records`] does for the whole lookup.
pub async fn txt_lookup(resolver: SocketAddr, name: &str) -> Result<Vec<String>, String> {
    let mut id = [0u8; 2];
    getrandom::fill(&mut id).map_err(|_| "no randomness for the DNS query id".to_owned())?;
    let query = build_query(u16::from_be_bytes(id), name)?;
    let failed = |reason: String| format!("the DNS lookup of {name} failed: {reason}");
    let message = udp_exchange(resolver, &query).await.map_err(failed)?;
    if let Answer::Records(records) = parse_response(&message, &query).map_err(failed)? {
        return Ok(records);
    }
    // Too many or too long records for a datagram: the same question to the same resolver over TCP.
    let over_tcp = |reason: String| {
        format!(
            "the DNS answer for {name} was truncated over UDP \
             and the retry over TCP failed: {reason}"
        )
    };
    let message = tcp_exchange(resolver, &query).await.map_err(over_tcp)?;
    match parse_response(&message, &query).map_err(over_tcp)? {
        Answer::Records(records) => Ok(records),
        Answer::Truncated => Err(over_tcp("the TCP answer was truncated too".to_owned())),
    }
}

/// Sends `query` in one datagram and returns the first answer carrying its id.
async fn udp_exchange(resolver: SocketAddr, query: &[u8]) -> Result<Vec<u8>, String> {
    let bind: SocketAddr = if resolver.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(|_| "cannot open a UDP socket".to_owned())?;
    socket
        .connect(resolver)
        .await
        .map_err(|_| "cannot reach the resolver".to_owned())?;
    socket
        .send(query)
        .await
        .map_err(|_| "cannot send the query".to_owned())?;
    let mut buffer = vec![0u8; 4096];
    loop {
        let len = socket
            .recv(&mut buffer)
            .await
            .map_err(|_| "the resolver did not answer".to_owned())?;
        // Ignore stray datagrams with another id (spoofing or late answers).
        if len >= 2 && buffer[..2] == query[..2] {
            buffer.truncate(len);
            return Ok(buffer);
        }
    }
}

/// Sends `query` on a fresh TCP connection and reads one answer. The connection carries only this
/// query, so the answer is not filtered by id here: `parse_response` refuses a mismatch.
async fn tcp_exchange(resolver: SocketAddr, query: &[u8]) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(resolver)
        .await
        .map_err(|error| format!("cannot connect to the resolver ({})", error.kind()))?;
    stream
        .write_all(&frame_tcp(query)?)
        .await
        .map_err(|error| format!("cannot send the query ({})", error.kind()))?;
    read_tcp_message(&mut stream).await
}

/// `message` behind its 2-byte big-endian length, as DNS over TCP carries it.
fn frame_tcp(message: &[u8]) -> Result<Vec<u8>, String> {
    let len = u16::try_from(message.len()).map_err(|_| "the query is too long".to_owned())?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    Ok(framed)
}

/// Reads one length-prefixed DNS message; the 16-bit prefix caps it at 65535 bytes.
async fn read_tcp_message(reader: &mut (impl AsyncRead + Unpin)) -> Result<Vec<u8>, String> {
    let mut prefix = [0u8; 2];
    reader
        .read_exact(&mut prefix)
        .await
        .map_err(|_| "the resolver closed the connection without answering".to_owned())?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    reader
        .read_exact(&mut message)
        .await
        .map_err(|_| "the resolver's answer ended early".to_owned())?;
    Ok(message)
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

/// Checks that `message` answers `query` (id, question) and reads its TXT records; NXDOMAIN is
/// no records.
fn parse_response(message: &[u8], query: &[u8]) -> Result<Answer, String> {
    let bad = || "malformed answer".to_owned();
    let header = message.get(..12).ok_or_else(bad)?;
    if header[..2] != query[..2] {
        return Err("the answer's id does not match the query".to_owned());
    }
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & 0x8000 == 0 {
        return Err(bad());
    }
    // Only the TC bit of a truncated answer is used; the full answer is checked in turn.
    if flags & 0x0200 != 0 {
        return Ok(Answer::Truncated);
    }
    // The question must come back as asked. Names compare without case; the length, type and
    // class bytes of our query are never ASCII letters, so folding them changes nothing.
    let question = query.get(12..).ok_or_else(bad)?;
    let questions = u16::from_be_bytes([header[4], header[5]]);
    let echoed = message.get(12..12 + question.len());
    if questions != 1 || !echoed.is_some_and(|echoed| echoed.eq_ignore_ascii_case(question)) {
        return Err("the answer's question does not match the query".to_owned());
    }
    match flags & 0x000f {
        0 => {}
        3 => return Ok(Answer::Records(Vec::new())),
        rcode => return Err(format!("the resolver answered rcode {rcode}")),
    }
    let answers = u16::from_be_bytes([header[6], header[7]]);
    let mut at = 12 + question.len();
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
    Ok(Answer::Records(records))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer to `query`: `flags`, the question echoed as `question`, and one TXT record per
    /// entry of `records`.
    fn answer(query: &[u8], flags: [u8; 2], question: &[u8], records: &[&str]) -> Vec<u8> {
        let mut message = query[..2].to_vec();
        message.extend_from_slice(&flags);
        message.extend_from_slice(&[0, 1, 0, u8::try_from(records.len()).unwrap(), 0, 0, 0, 0]);
        message.extend_from_slice(question);
        for text in records {
            let len = u8::try_from(text.len()).unwrap();
            message.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44, 0, len + 1, len]);
            message.extend_from_slice(text.as_bytes());
        }
        message
    }

    #[tokio::test]
    async fn dns_tcp_framing_round_trips() {
        let query = build_query(0xbeef, "example.org").unwrap();
        let framed = frame_tcp(&query).unwrap();
        assert_eq!(
            framed[..2],
            u16::try_from(query.len()).unwrap().to_be_bytes()
        );
        assert_eq!(read_tcp_message(&mut &framed[..]).await.unwrap(), query);

        // One message per read, however the bytes arrive after it.
        let mut two = framed.clone();
        two.extend_from_slice(&frame_tcp(b"second").unwrap());
        let mut reader = &two[..];
        assert_eq!(read_tcp_message(&mut reader).await.unwrap(), query);
        assert_eq!(read_tcp_message(&mut reader).await.unwrap(), b"second");

        // The largest message the prefix can announce.
        let mut largest = vec![0xff, 0xff];
        largest.resize(2 + 65535, 7);
        let message = read_tcp_message(&mut &largest[..]).await.unwrap();
        assert_eq!(message.len(), 65535);
    }

    #[tokio::test]
    async fn dns_tcp_framing_refuses_short_reads() {
        for (input, reason) in [
            (&[][..], "without answering"),
            (&[0][..], "without answering"),
            (&[0, 10, 1, 2, 3][..], "ended early"),
        ] {
            let error = read_tcp_message(&mut &input[..]).await.unwrap_err();
            assert!(error.contains(reason), "{input:?}: {error}");
        }
        assert!(frame_tcp(&vec![0; 65536]).is_err());
    }

    #[test]
    fn dns_answer_checks_id_question_and_flags() {
        let query = build_query(0x1234, "example.org").unwrap();
        let question = &query[12..];
        let records = parse_response(&answer(&query, [0x81, 0x80], question, &["a", "b"]), &query);
        assert!(matches!(records, Ok(Answer::Records(r)) if r == ["a", "b"]));
        // Names compare without case (resolvers may echo 0x20-mixed case).
        let upper = question.to_ascii_uppercase();
        let records = parse_response(&answer(&query, [0x81, 0x80], &upper, &["a"]), &query);
        assert!(matches!(records, Ok(Answer::Records(r)) if r == ["a"]));
        // TC: the partial records are not used.
        let truncated = answer(&query, [0x83, 0x80], question, &["partial"]);
        assert!(matches!(
            parse_response(&truncated, &query),
            Ok(Answer::Truncated)
        ));
        // NXDOMAIN is no records; other rcodes fail.
        let nxdomain = answer(&query, [0x81, 0x83], question, &[]);
        assert!(
            matches!(parse_response(&nxdomain, &query), Ok(Answer::Records(r)) if r.is_empty())
        );
        let servfail = answer(&query, [0x81, 0x82], question, &[]);
        assert!(
            parse_response(&servfail, &query)
                .unwrap_err()
                .contains("rcode 2")
        );

        let mut other_id = answer(&query, [0x81, 0x80], question, &["a"]);
        other_id[1] ^= 1;
        assert!(
            parse_response(&other_id, &query)
                .unwrap_err()
                .contains("id")
        );
        let other_name = build_query(0x1234, "example.net").unwrap();
        let other_question = answer(&query, [0x81, 0x80], &other_name[12..], &["a"]);
        assert!(
            parse_response(&other_question, &query)
                .unwrap_err()
                .contains("question")
        );
        let not_a_response = answer(&query, [0x01, 0x00], question, &["a"]);
        assert!(parse_response(&not_a_response, &query).is_err());
        assert!(parse_response(&query[..10], &query).is_err());
    }
}
