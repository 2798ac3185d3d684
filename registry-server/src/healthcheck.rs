//! `registry-server healthcheck`: a container `HEALTHCHECK` that needs no curl in the image. One plain
//! HTTP/1.1 GET over `std::net::TcpStream`; success is a 2xx status line.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, bail};

/// What the Docker image checks: the readiness endpoint on the default port.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/v0.1/health";
/// Connect, write and read each get this long.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Fails unless `GET url` answers 2xx. Only `http://host[:port]/path` URLs (the check runs next to the
/// server, inside the container).
pub fn check(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("`{url}`: only http:// URLs are supported"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    if authority.is_empty() || authority.contains('@') {
        bail!("`{url}`: expected http://host[:port]/path");
    }
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()))
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let socket = address
        .to_socket_addrs()
        .with_context(|| format!("resolving {address}"))?
        .next()
        .with_context(|| format!("{address} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&socket, TIMEOUT)
        .with_context(|| format!("connecting to {socket}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    // One write: `write!` would send each piece apart, and a server that answers after the first one
    // and closes resets the connection under the rest, losing its answer.
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: registry-server-healthcheck\r\n\
         Connection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .context("sending the request")?;
    // The status line is all that is needed; the first chunk holds it.
    let mut head = [0u8; 256];
    let read = stream.read(&mut head).context("reading the response")?;
    let head = String::from_utf8_lossy(&head[..read]);
    let status_line = head.lines().next().unwrap_or_default();
    let code = status_line.split(' ').nth(1).unwrap_or_default();
    if code.len() == 3 && code.starts_with('2') {
        Ok(())
    } else {
        bail!("unhealthy: {url} answered `{status_line}`")
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::check;

    /// Answers one connection with `response`.
    fn one_shot(response: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                // The whole request head, so closing after the answer resets nothing unread.
                let mut request = Vec::new();
                let mut chunk = [0u8; 512];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(read) => request.extend_from_slice(&chunk[..read]),
                    }
                }
                let _ = stream.write_all(response.as_bytes());
            }
        });
        format!("http://{address}/v0.1/health")
    }

    #[test]
    fn healthy_and_unhealthy() {
        assert!(check(&one_shot("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")).is_ok());
        let err = check(&one_shot("HTTP/1.1 503 Service Unavailable\r\n\r\n"));
        assert!(err.is_err_and(|err| err.to_string().contains("503")));
        assert!(check("https://x/").is_err());
        assert!(check("http://127.0.0.1:1/v0.1/health").is_err());
    }
}
