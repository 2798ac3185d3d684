//! A minimal HTTP/1.1 listener for `mcp-reg announce --manifest`: serves the manifest (and the
//! provenance bundle) as fixed bytes, nothing else. GET/HEAD only, one request per connection,
//! request heads capped at 8 KiB, a few seconds per connection, a bounded number of connections.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Path of the manifest on the listener.
pub const MANIFEST_PATH: &str = "/server.json";
/// Path of the provenance bundle on the listener.
pub const BUNDLE_PATH: &str = "/bundle.json";
const MAX_HEAD: usize = 8 * 1024;
const MAX_CONNECTIONS: usize = 16;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One file the listener serves.
#[derive(Debug, Clone)]
pub struct File {
    pub path: &'static str,
    pub body: Arc<[u8]>,
}

/// The running listener; stops when dropped.
#[derive(Debug)]
pub struct FileServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl FileServer {
    pub fn start(bind: SocketAddr, files: Vec<File>) -> io::Result<Self> {
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let files: Arc<[File]> = files.into();
        let handle = std::thread::Builder::new()
            .name("manifest-http".into())
            .spawn(move || accept(&listener, &flag, &files))?;
        Ok(Self {
            addr,
            stop,
            handle: Some(handle),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let wake = if self.addr.ip().is_unspecified() {
            SocketAddr::new(
                if self.addr.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                },
                self.addr.port(),
            )
        } else {
            self.addr
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn accept(listener: &TcpListener, stop: &AtomicBool, files: &Arc<[File]>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            continue; // dropped: the client retries or gives up
        }
        let (files, counter) = (Arc::clone(files), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name("manifest-conn".into())
            .spawn(move || {
                let _ = respond(stream, &files);
                counter.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // The closure (and its counter decrement) never ran.
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn respond(mut stream: TcpStream, files: &[File]) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return write(&mut stream, "400 Bad Request", b"", false);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return write(&mut stream, "405 Method Not Allowed", b"", false);
    }
    let path = target.split('?').next().unwrap_or_default();
    match files.iter().find(|f| f.path == path) {
        Some(file) => write(&mut stream, "200 OK", &file.body, head_only),
        None => write(&mut stream, "404 Not Found", b"", false),
    }
}

fn write(stream: &mut TcpStream, status: &str, body: &[u8], head_only: bool) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("send");
        let mut out = String::new();
        stream.read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn serves_only_its_files() {
        let server = FileServer::start(
            "127.0.0.1:0".parse().expect("addr"),
            vec![File {
                path: MANIFEST_PATH,
                body: Arc::from(&b"{\"a\":1}"[..]),
            }],
        )
        .expect("bind");
        let addr = server.local_addr();
        let ok = get(addr, "GET /server.json HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.ends_with("{\"a\":1}"));
        assert!(get(addr, "GET /etc/passwd HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /server.json HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        drop(server);
        assert!(TcpStream::connect(addr).is_err(), "stopped when dropped");
    }
}
