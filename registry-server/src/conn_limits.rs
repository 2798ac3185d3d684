//! Connection hardening for [`serve`](crate::serve): the accept loop, caps on open connections (in
//! total and per client address), and per-connection timeouts.
//!
//! - **Caps.** At most `--max-connections` connections are open at once (lowered at start to the
//!   process's `RLIMIT_NOFILE` minus [`FD_RESERVE`]), and at most `--max-connections-per-ip` from one
//!   TCP peer (IPv4 address, or IPv6 /64: one host holds a whole /64). `X-Forwarded-For` plays no part:
//!   a proxy in front holds connections of its own. A connection over a cap is accepted, answered
//!   `503` problem+json with `Retry-After` and `Connection: close`, and closed; at most
//!   [`MAX_REFUSALS`] such answers are in progress at once (each for at most [`REFUSAL_TIME`]), beyond
//!   which connections over a cap are closed at once.
//! - **Header-read timeout.** A request's head (request line and headers) must arrive within
//!   `--header-read-timeout`, counted from the connection's accept for its first request and from
//!   the first byte for later ones; otherwise the connection is closed (slow-loris and half-sent
//!   requests).
//! - **Idle timeout.** A keep-alive connection with no request in progress and nothing received for
//!   `--idle-timeout` is closed gracefully. A connection whose response makes no progress (a client
//!   that stopped reading) for the request timeout plus the idle timeout is closed.
//!
//! Graceful shutdown: the listener closes first, idle connections close at once, and requests in
//! progress finish (each bounded by the timeouts above) before [`serve`] returns.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::error::ProblemDetails;
use crate::state::AppState;

/// File descriptors kept free of client connections: the database pool, outgoing requests (package
/// registries, auth proofs), the SQLite files and logs.
pub const FD_RESERVE: u64 = 128;
/// Refusal answers (503) in progress at once; connections over a cap beyond these are closed at once.
pub const MAX_REFUSALS: usize = 64;
/// How long a refusal may take: writing the 503 and reading what the client sent, so closing does
/// not reset the connection before the client has read the answer.
pub const REFUSAL_TIME: Duration = Duration::from_secs(1);
/// Bytes a refusal reads from the client at most.
const REFUSAL_DRAIN_BYTES: usize = 64 * 1024;
/// `Retry-After` of a refusal, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;
/// How long a connection closed for idleness may take to finish closing.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Pause after an accept error other than a failed handshake (out of descriptors): the next accept
/// would fail the same way at once.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// How often refusals are reported in the log at most.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// `registry-server serve` flags of the accept loop.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Client connections open at once (0: only the descriptor bound). Lowered at start to the
    /// process's open-file limit (RLIMIT_NOFILE) minus 128 descriptors kept for the database,
    /// outgoing requests and logs. Connections over the cap get 503 with Retry-After and are closed.
    #[arg(long, env = "REGISTRY_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Client connections open at once from one TCP peer: an IPv4 address or an IPv6 /64 (0: no
    /// limit). X-Forwarded-For is not consulted. Connections over it get 503 with Retry-After.
    #[arg(long, env = "REGISTRY_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,
    /// Time a client has to send a request's line and headers (from the accept for the first
    /// request, from its first byte for later ones) before the connection is closed. Seconds, or
    /// with a unit: `500ms`, `10s`, `1m` (0: no limit).
    #[arg(long, env = "REGISTRY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request before it is closed. Seconds, or
    /// with a unit (0: no limit).
    #[arg(long, env = "REGISTRY_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        let limits = ConnectionLimits::default();
        Self {
            max_connections: limits.max_connections,
            max_connections_per_ip: limits.max_connections_per_ip,
            header_read_timeout: limits.header_read_timeout.unwrap_or_default(),
            idle_timeout: limits.idle_timeout.unwrap_or_default(),
        }
    }
}

impl ConnectionArgs {
    pub fn to_limits(&self) -> ConnectionLimits {
        let nonzero = |duration: Duration| (!duration.is_zero()).then_some(duration);
        ConnectionLimits {
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            header_read_timeout: nonzero(self.header_read_timeout),
            idle_timeout: nonzero(self.idle_timeout),
        }
    }
}

/// `10`, `10s`, `500ms`, `2m`: a duration in seconds unless a unit says otherwise.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. `10`, `10s`, `500ms`, `1m`)"))?;
    match unit.trim() {
        "" | "s" => Ok(Duration::from_secs(value)),
        "ms" => Ok(Duration::from_millis(value)),
        "m" => Ok(Duration::from_secs(value.saturating_mul(60))),
        other => Err(format!("`{other}` is not a unit; use ms, s or m")),
    }
}

/// The accept loop's settings (part of [`ServerConfig`](crate::config::ServerConfig)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most (0: only the descriptor bound).
    pub max_connections: usize,
    /// Open connections per TCP peer at most (0: no limit).
    pub max_connections_per_ip: usize,
    pub header_read_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_ip: 256,
            header_read_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_mins(1)),
        }
    }
}

/// The process's soft limit on open files, when it has one.
pub fn open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// `configured` (0: none) bounded by the open-file limit minus [`FD_RESERVE`] (at least 1).
pub fn effective_max_connections(configured: usize, open_files: Option<u64>) -> usize {
    let configured = if configured == 0 {
        usize::MAX
    } else {
        configured
    };
    let bound = open_files.map_or(usize::MAX, |limit| {
        usize::try_from(limit.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX)
    });
    configured.min(bound)
}

/// Serves `state`'s app on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = state.config.connections;
    let max_total = effective_max_connections(limits.max_connections, open_files_limit());
    if limits.max_connections != 0 && max_total < limits.max_connections {
        tracing::warn!(
            connections.max = max_total,
            connections.configured = limits.max_connections,
            "--max-connections is bounded by the open-file limit (RLIMIT_NOFILE) minus {FD_RESERVE} reserved descriptors; raise `ulimit -n` to allow more"
        );
    }
    let timeouts = Timeouts::new(&limits, state.config.request_timeout);
    let router = crate::app(state);
    let tracker = Arc::new(Tracker::new(max_total, limits.max_connections_per_ip));
    let refusal_slots = Arc::new(Semaphore::new(MAX_REFUSALS));
    let refusals = Refusals::new();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Every connection task holds a receiver; `closed()` completes when the last one ends.
    let (done_tx, done_rx) = watch::channel(());
    let mut refusal_log = RefusalLog::default();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    tracing::error!(error = %err, "accepting a connection failed; pausing");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        match tracker.admit(peer.ip()) {
            Ok(permit) => {
                let router = router.clone();
                let shutdown = shutdown_rx.clone();
                let done = done_rx.clone();
                tokio::spawn(async move {
                    serve_connection(stream, peer, router, timeouts, shutdown).await;
                    drop(permit);
                    drop(done);
                });
            }
            Err(over) => {
                refusal_log.note(over);
                // Without a free slot the stream is dropped here: closed at once.
                if let Ok(slot) = Arc::clone(&refusal_slots).try_acquire_owned() {
                    let response = Arc::clone(refusals.for_cap(over));
                    let done = done_rx.clone();
                    tokio::spawn(async move {
                        refuse(stream, &response).await;
                        drop(slot);
                        drop(done);
                    });
                }
            }
        }
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// Failures of one handshake that say nothing about the listener (as `axum::serve` judges them).
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Which cap a connection is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Total,
    PerAddress,
}

/// The address connections are counted under: an IPv4 address (IPv4-mapped ones included), or the
/// /64 of an IPv6 address.
pub fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// Open connections, in total and per peer.
#[derive(Debug)]
pub struct Tracker {
    max_total: usize,
    max_per_peer: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

impl Tracker {
    /// `max_per_peer` 0: no per-peer limit.
    pub fn new(max_total: usize, max_per_peer: usize) -> Self {
        Self {
            max_total,
            max_per_peer: if max_per_peer == 0 {
                usize::MAX
            } else {
                max_per_peer
            },
            open: Mutex::default(),
        }
    }

    /// Counts a new connection from `ip`, or says which cap it is over.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Over> {
        let key = peer_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(Over::Total);
        }
        let from_peer = open.per_peer.entry(key).or_default();
        if *from_peer >= self.max_per_peer {
            return Err(Over::PerAddress);
        }
        *from_peer += 1;
        open.total += 1;
        Ok(Permit {
            tracker: Arc::clone(self),
            key,
        })
    }

    /// Connections open now, in total and from `ip`'s peer key.
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let from_peer = open.per_peer.get(&peer_key(ip)).copied().unwrap_or(0);
        (open.total, from_peer)
    }
}

/// One counted connection; dropping it releases the count.
#[derive(Debug)]
pub struct Permit {
    tracker: Arc<Tracker>,
    key: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self
            .tracker
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_peer.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_peer.remove(&self.key);
            }
        }
    }
}

/// The two refusal answers, rendered once.
struct Refusals {
    total: Arc<[u8]>,
    per_address: Arc<[u8]>,
}

impl Refusals {
    fn new() -> Self {
        Self {
            total: refusal_response(Over::Total).into(),
            per_address: refusal_response(Over::PerAddress).into(),
        }
    }

    fn for_cap(&self, over: Over) -> &Arc<[u8]> {
        match over {
            Over::Total => &self.total,
            Over::PerAddress => &self.per_address,
        }
    }
}

/// A complete HTTP/1.1 `503` problem+json answer that closes the connection.
pub fn refusal_response(over: Over) -> Vec<u8> {
    let detail = match over {
        Over::Total => "the registry has as many connections open as it allows; retry shortly",
        Over::PerAddress => {
            "your address has as many connections open as the registry allows; reuse or close one, or retry shortly"
        }
    };
    let body = serde_json::to_vec(&ProblemDetails {
        kind: "about:blank",
        title: "Service Unavailable".to_owned(),
        status: 503,
        detail: detail.to_owned(),
        errors: Vec::new(),
    })
    .unwrap_or_default();
    let mut response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\ncontent-length: {}\r\nretry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\n\r\n",
        crate::error::PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
}

/// Answers `response`, then reads (and discards) what the client sent until it closes, within
/// [`REFUSAL_TIME`]: closing with unread data would reset the connection and could discard the answer
/// before the client read it.
async fn refuse(mut stream: TcpStream, response: &[u8]) {
    let exchange = async {
        stream.write_all(response).await?;
        stream.shutdown().await?;
        let mut buffer = [0u8; 4096];
        let mut drained = 0;
        while drained < REFUSAL_DRAIN_BYTES {
            let read = stream.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            drained += read;
        }
        Ok::<_, io::Error>(())
    };
    let _ = tokio::time::timeout(REFUSAL_TIME, exchange).await;
}

/// Refusals, reported at most every [`REFUSAL_LOG_INTERVAL`] (never with addresses).
#[derive(Debug, Default)]
struct RefusalLog {
    last: Option<Instant>,
    total: u64,
    per_address: u64,
}

impl RefusalLog {
    fn note(&mut self, over: Over) {
        match over {
            Over::Total => self.total += 1,
            Over::PerAddress => self.per_address += 1,
        }
        if self
            .last
            .is_some_and(|last| last.elapsed() < REFUSAL_LOG_INTERVAL)
        {
            return;
        }
        tracing::warn!(
            refused.total_cap = self.total,
            refused.per_ip_cap = self.per_address,
            "refusing connections over --max-connections / --max-connections-per-ip (counts since the last report)"
        );
        self.last = Some(Instant::now());
        self.total = 0;
        self.per_address = 0;
    }
}

/// The deadlines one connection is held to.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header: Option<Duration>,
    idle: Option<Duration>,
    /// A request in progress whose connection moves no byte for this long is abandoned.
    stall: Option<Duration>,
    /// The shortest of the above: no phase a connection enters can expire sooner than this after it
    /// entered it, so the watchdog never sleeps longer.
    shortest: Duration,
}

/// The watchdog's sleep when no timeout is configured.
const NO_TIMEOUT_WAKE: Duration = Duration::from_hours(1);

impl Timeouts {
    fn new(limits: &ConnectionLimits, request_timeout: Duration) -> Self {
        let stall = limits
            .idle_timeout
            .map(|idle| idle.saturating_add(request_timeout));
        let shortest = [limits.header_read_timeout, limits.idle_timeout, stall]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(NO_TIMEOUT_WAKE);
        Self {
            header: limits.header_read_timeout,
            idle: limits.idle_timeout,
            stall,
            shortest,
        }
    }
}

/// What a connection has been doing, in milliseconds since it was accepted; updated by its stream
/// (bytes moved) and its service (requests begun and ended).
#[derive(Debug)]
struct Activity {
    accepted: Instant,
    /// When a byte last moved, or a request began or ended.
    last_progress: AtomicU64,
    /// When the head of the next request began to arrive ([`NO_HEAD`]: it has not).
    head_started: AtomicU64,
    /// Requests handed to the app whose responses are not finished.
    in_flight: AtomicUsize,
}

const NO_HEAD: u64 = u64::MAX;

/// What the watchdog does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing is due before this instant.
    Wait(Instant),
    /// No request for the idle timeout: close gracefully.
    Idle,
    /// The request head did not arrive in time: close.
    HeadTimeout,
    /// The response made no progress: close.
    Stalled,
}

impl Activity {
    fn new(accepted: Instant) -> Self {
        // The first request's head is due within the header timeout of the accept.
        Self {
            accepted,
            last_progress: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.accepted).as_millis())
            .unwrap_or(NO_HEAD - 1)
    }

    fn at(&self, millis: u64) -> Instant {
        self.accepted + Duration::from_millis(millis)
    }

    fn received(&self, now: Instant) {
        let now = self.millis(now);
        self.last_progress.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_started.compare_exchange(
                NO_HEAD,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn sent(&self, now: Instant) {
        self.last_progress
            .store(self.millis(now), Ordering::Relaxed);
    }

    fn request_started(&self, now: Instant) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(NO_HEAD, Ordering::Relaxed);
        self.sent(now);
    }

    fn request_finished(&self, now: Instant) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.sent(now);
    }

    fn verdict(&self, timeouts: &Timeouts, now: Instant) -> Verdict {
        let last = self.at(self.last_progress.load(Ordering::Relaxed));
        // Whatever phase comes next expires no sooner than this.
        let soonest = now + timeouts.shortest;
        let wait = |deadline: Instant| Verdict::Wait(deadline.min(soonest));
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return match timeouts.stall {
                Some(stall) if now >= last + stall => Verdict::Stalled,
                Some(stall) => wait(last + stall),
                None => wait(soonest),
            };
        }
        let head = self.head_started.load(Ordering::Relaxed);
        if head != NO_HEAD
            && let Some(header) = timeouts.header
        {
            let deadline = self.at(head) + header;
            return if now >= deadline {
                Verdict::HeadTimeout
            } else {
                wait(deadline)
            };
        }
        match timeouts.idle {
            Some(idle) if now >= last + idle => Verdict::Idle,
            Some(idle) => wait(last + idle),
            None => wait(soonest),
        }
    }
}

/// Serves one connection with hyper's HTTP/1 server, enforcing [`Timeouts`] and following
/// `shutdown`.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    timeouts: Timeouts,
    mut shutdown: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new(Instant::now()));
    let io = TokioIo::new(TrackedStream {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = ConnectionService {
        router,
        peer,
        activity: Arc::clone(&activity),
    };
    let mut builder = http1::Builder::new();
    // The watchdog below owns the head and idle deadlines: hyper's own header timeout would also end
    // keep-alive connections waiting for their next request.
    builder
        .keep_alive(true)
        .header_read_timeout(None::<Duration>);
    let mut connection = pin!(builder.serve_connection(io, service));
    let mut closing = false;
    let mut close_by: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let wake = match activity.verdict(&timeouts, now) {
            Verdict::Wait(at) => at,
            Verdict::Idle => {
                if !closing {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                let deadline = *close_by.get_or_insert(now + CLOSE_GRACE);
                if now >= deadline {
                    return;
                }
                deadline
            }
            Verdict::HeadTimeout | Verdict::Stalled => return,
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// The TCP stream, reporting bytes moved to the connection's [`Activity`].
struct TrackedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received(Instant::now());
        }
        result
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.sent(Instant::now());
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.sent(Instant::now());
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The app as one connection's hyper service: adds the peer address (`ConnectInfo`, for the audit
/// log and per-address rate limits) and counts the request in flight until its response body ends.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<axum::http::Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<axum::http::Request<Incoming>> for ConnectionService {
    type Response = axum::http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, request: axum::http::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(Arc::clone(&self.activity));
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = self.router.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| TrackedBody {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A request counted in flight; dropping it (with the response body, or with the abandoned
/// request) ends the count.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.request_started(Instant::now());
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished(Instant::now());
    }
}

/// A response body that keeps its request counted in flight until hyper has sent (or dropped) it.
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_mins(2)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn flags_default_to_the_limits_defaults() {
        assert_eq!(
            ConnectionArgs::default().to_limits(),
            ConnectionLimits::default()
        );
        let off = ConnectionArgs {
            header_read_timeout: Duration::ZERO,
            idle_timeout: Duration::ZERO,
            ..ConnectionArgs::default()
        };
        assert_eq!(off.to_limits().header_read_timeout, None);
        assert_eq!(off.to_limits().idle_timeout, None);
    }

    #[test]
    fn the_cap_is_bounded_by_the_descriptor_limit() {
        assert_eq!(effective_max_connections(4096, Some(1024)), 896);
        assert_eq!(effective_max_connections(4096, Some(1_048_576)), 4096);
        assert_eq!(effective_max_connections(4096, None), 4096);
        assert_eq!(effective_max_connections(0, Some(20_000)), 19_872);
        assert_eq!(effective_max_connections(10, Some(64)), 1);
    }

    #[test]
    fn peers_are_addresses_or_ipv6_slash_64s() {
        let key = |ip: &str| peer_key(ip.parse().unwrap());
        assert_eq!(key("192.0.2.7"), key("::ffff:192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[test]
    fn caps_count_and_release() {
        let tracker = Arc::new(Tracker::new(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = tracker.admit(a).unwrap();
        let _second = tracker.admit(a).unwrap();
        assert_eq!(tracker.admit(a).unwrap_err(), Over::PerAddress);
        let third = tracker.admit(b).unwrap();
        assert_eq!(tracker.admit(b).unwrap_err(), Over::Total);
        assert_eq!(tracker.open(a), (3, 2));
        drop(first);
        drop(third);
        assert_eq!(tracker.open(a), (1, 1));
        assert_eq!(tracker.open(b), (1, 0));
        let _again = tracker.admit(b).unwrap();
        let unlimited = Arc::new(Tracker::new(usize::MAX, 0));
        let permits: Vec<_> = (0..1000).map(|_| unlimited.admit(a).unwrap()).collect();
        assert_eq!(unlimited.open(a), (1000, 1000));
        drop(permits);
        assert_eq!(unlimited.open(a), (0, 0));
    }

    #[test]
    fn refusals_are_complete_problem_answers() {
        let response = String::from_utf8(refusal_response(Over::PerAddress)).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nretry-after: 1"), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}", body.len())),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 503);
    }

    fn timeouts(header: u64, idle: u64) -> Timeouts {
        Timeouts::new(
            &ConnectionLimits {
                header_read_timeout: Some(Duration::from_secs(header)),
                idle_timeout: Some(Duration::from_secs(idle)),
                ..ConnectionLimits::default()
            },
            Duration::from_secs(30),
        )
    }

    #[test]
    fn a_new_connection_must_send_its_head_in_time() {
        let start = Instant::now();
        let activity = Activity::new(start);
        let t = timeouts(10, 60);
        let secs = |s: u64| start + Duration::from_secs(s);
        assert_eq!(activity.verdict(&t, secs(1)), Verdict::Wait(secs(10)));
        // Bytes of the head arriving do not extend it.
        activity.received(secs(5));
        assert_eq!(activity.verdict(&t, secs(9)), Verdict::Wait(secs(10)));
        assert_eq!(activity.verdict(&t, secs(10)), Verdict::HeadTimeout);
    }

    #[test]
    fn keep_alive_waits_for_the_idle_timeout_then_the_head_timeout() {
        let start = Instant::now();
        let activity = Activity::new(start);
        let t = timeouts(10, 60);
        let secs = |s: u64| start + Duration::from_secs(s);
        activity.received(secs(1));
        activity.request_started(secs(1));
        // In flight: no head or idle deadline; the stall guard is idle + request timeout away.
        assert_eq!(activity.verdict(&t, secs(50)), Verdict::Wait(secs(60)));
        assert_eq!(activity.verdict(&t, secs(91)), Verdict::Stalled);
        activity.request_finished(secs(2));
        // Idle: not closed by the (shorter) header timeout, but wakes often enough to catch a head.
        assert_eq!(activity.verdict(&t, secs(20)), Verdict::Wait(secs(30)));
        assert_eq!(activity.verdict(&t, secs(61)), Verdict::Wait(secs(62)));
        assert_eq!(activity.verdict(&t, secs(62)), Verdict::Idle);
        // The next request's first byte starts its head deadline.
        activity.received(secs(40));
        assert_eq!(activity.verdict(&t, secs(45)), Verdict::Wait(secs(50)));
        assert_eq!(activity.verdict(&t, secs(50)), Verdict::HeadTimeout);
        activity.request_started(secs(49));
        assert!(matches!(activity.verdict(&t, secs(50)), Verdict::Wait(_)));
    }
}
