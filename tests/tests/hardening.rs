//! Issue 18: connection hardening (caps, header-read and idle timeouts, graceful shutdown) on a real
//! socket, and input hygiene (control characters and undecodable bytes in paths, queries and bodies)
//! on both engines, including a property test over every route: no 5xx, ever.
//!
//! Everything talks to 127.0.0.1 only (plus 127.0.0.2 as a second client address, where the system
//! allows binding it); every wait is bounded.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use registry_server::auth::{Action, Permission, issue_token};
use registry_server::config::ServerConfig;
use registry_server::conn_limits::ConnectionLimits;
use registry_server::db::Store;
use registry_server::{AppState, app};
use registry_tests::app::manifest;
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};
use tower::ServiceExt;

registry_tests::on_both_engines!(
    control_characters_in_paths_and_queries_are_refused,
    control_characters_in_bodies_are_refused,
    the_dry_run_reports_nul_instead_of_refusing,
    no_route_answers_5xx_to_arbitrary_bytes
);

// ---------------------------------------------------------------------------------------------
// Connection hardening: a real `registry_server::serve` on 127.0.0.1.
// ---------------------------------------------------------------------------------------------

/// A server on a loopback port, stopped (gracefully) on [`Running::stop`].
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _db: TestDb,
}

impl Running {
    async fn start(limits: ConnectionLimits) -> Self {
        let db = TestDb::sqlite().await;
        let config = ServerConfig {
            connections: limits,
            ..ServerConfig::default()
        };
        let state = AppState::new(db.store().await, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(registry_server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
            _db: db,
        }
    }

    /// Signals shutdown and returns how long `serve` took to return.
    async fn stop(mut self) -> Duration {
        let started = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
        started.elapsed()
    }
}

fn limits(header_ms: u64, idle_ms: u64, max: usize, per_ip: usize) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: max,
        max_connections_per_ip: per_ip,
        header_read_timeout: Some(Duration::from_millis(header_ms)),
        idle_timeout: Some(Duration::from_millis(idle_ms)),
    }
}

const PING: &[u8] = b"GET /v0.1/ping HTTP/1.1\r\nhost: registry.test\r\n\r\n";

/// One HTTP/1.1 response read from `stream` (head, then `content-length` bytes of body).
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let read = async {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a full response head");
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = buffer[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed in the body");
            body.extend_from_slice(&chunk[..n]);
        }
        RawResponse {
            status,
            headers,
            body,
        }
    };
    timeout(Duration::from_secs(10), read)
        .await
        .expect("a response within 10 s")
}

/// Waits (at most `limit`) for the server to close `stream`; returns when it did, or `None`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Instant> {
    let mut chunk = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(Instant::now()),
            Ok(Ok(_)) => {}
        }
    }
}

async fn ping(addr: SocketAddr) -> (RawResponse, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(PING).await.unwrap();
    let response = read_response(&mut stream).await;
    (response, started.elapsed())
}

/// 300 connections from loopback that never finish a request head (150 silent, 150 half-sent) do
/// not keep a fresh connection from being answered at once, and are closed after the header-read
/// timeout (not before).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_half_sent_connections_do_not_starve_requests_and_are_closed() {
    const HEADER_MS: u64 = 1500;
    let server = Running::start(limits(HEADER_MS, 60_000, 1000, 1000)).await;
    let mut stalled = Vec::new();
    for index in 0..300 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        if index % 2 == 1 {
            stream
                .write_all(b"GET /v0.1/servers HTTP/1.1\r\nhost: registry.test\r\nx-slow: ")
                .await
                .unwrap();
        }
        stalled.push((Instant::now(), stream));
    }
    let (response, took) = ping(server.addr).await;
    assert_eq!(response.status, 200);
    assert!(
        took < Duration::from_secs(1),
        "a fresh request took {took:?} with 300 stalled connections open"
    );
    let mut closing = JoinSet::new();
    for (opened, mut stream) in stalled {
        closing.spawn(async move {
            let closed = closed_within(&mut stream, Duration::from_secs(10)).await;
            closed.map(|at| at.duration_since(opened))
        });
    }
    let mut lifetimes = Vec::new();
    while let Some(lifetime) = closing.join_next().await {
        lifetimes.push(
            lifetime
                .unwrap()
                .expect("every stalled connection is closed within 10 s"),
        );
    }
    let shortest = lifetimes.iter().min().unwrap();
    let longest = lifetimes.iter().max().unwrap();
    assert!(
        *shortest >= Duration::from_millis(HEADER_MS - 100),
        "closed after {shortest:?}, before the header-read timeout"
    );
    assert!(
        *longest <= Duration::from_millis(HEADER_MS + 3000),
        "closed after {longest:?}"
    );
    // Their permits are released: a request still goes through.
    assert_eq!(ping(server.addr).await.0.status, 200);
    server.stop().await;
}

/// A keep-alive connection waiting for its next request outlives the (shorter) header-read
/// timeout and is closed after the idle timeout; one that answers in time keeps being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connections_close_after_the_idle_timeout() {
    let server = Running::start(limits(500, 2000, 100, 100)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(PING).await.unwrap();
    assert_eq!(read_response(&mut stream).await.status, 200);
    // Past the header-read timeout, the idle connection still serves a request.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stream.write_all(PING).await.unwrap();
    assert_eq!(read_response(&mut stream).await.status, 200);
    let idle_since = Instant::now();
    let closed = closed_within(&mut stream, Duration::from_secs(8))
        .await
        .expect("the idle connection is closed");
    let idle = closed.duration_since(idle_since);
    assert!(
        idle >= Duration::from_millis(1900) && idle <= Duration::from_secs(4),
        "closed after {idle:?} idle"
    );
    // Half a request head after a keep-alive response: the header-read timeout applies again.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(PING).await.unwrap();
    assert_eq!(read_response(&mut stream).await.status, 200);
    stream
        .write_all(b"GET /v0.1/ping HTTP/1.1\r\n")
        .await
        .unwrap();
    let sent = Instant::now();
    let closed = closed_within(&mut stream, Duration::from_secs(8))
        .await
        .expect("the half-sent request's connection is closed");
    let waited = closed.duration_since(sent);
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_millis(1900),
        "closed {waited:?} after the head began"
    );
    server.stop().await;
}

/// Connections over a cap are answered 503 problem+json with `Retry-After` and closed; a freed slot
/// serves again; another address is not affected by one address's cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_caps_get_503_with_retry_after() {
    let server = Running::start(limits(5000, 60_000, 1000, 3)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(PING).await.unwrap();
        assert_eq!(read_response(&mut stream).await.status, 200);
        held.push(stream);
    }
    let (refused, _) = ping(server.addr).await;
    assert_refused(&refused, "your address");
    // Another loopback address has its own count.
    if let Some(mut other) = connect_from("127.0.0.2", server.addr).await {
        other.write_all(PING).await.unwrap();
        assert_eq!(read_response(&mut other).await.status, 200);
    }
    // A closed connection frees its slot (the server notices the close asynchronously).
    drop(held.pop());
    let mut slot_freed = false;
    for _ in 0..100 {
        if ping(server.addr).await.0.status == 200 {
            slot_freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(slot_freed, "the freed slot was never reused");
    drop(held);
    server.stop().await;

    // The global cap.
    let server = Running::start(limits(5000, 60_000, 2, 100)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let (refused, _) = ping(server.addr).await;
    assert_refused(&refused, "the registry has as many connections open");
    drop(held);
    server.stop().await;
}

#[track_caller]
fn assert_refused(response: &RawResponse, detail: &str) {
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let problem: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(problem["status"], 503);
    assert!(
        problem["detail"].as_str().unwrap().contains(detail),
        "{problem}"
    );
}

/// A connection to `to` from the loopback address `from`, when the system lets us bind it.
async fn connect_from(from: &str, to: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(format!("{from}:0").parse().ok()?).ok()?;
    socket.connect(to).await.ok()
}

/// Graceful shutdown still works: idle connections (silent or between requests) are closed at
/// once, and `serve` returns without waiting for their timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_idle_connections() {
    let server = Running::start(limits(30_000, 60_000, 100, 100)).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut between = TcpStream::connect(server.addr).await.unwrap();
    between.write_all(PING).await.unwrap();
    assert_eq!(read_response(&mut between).await.status, 200);
    // Let the accept loop see the silent one before shutting down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let took = server.stop().await;
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    for stream in [&mut silent, &mut between] {
        assert!(
            closed_within(stream, Duration::from_secs(2))
                .await
                .is_some()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Input hygiene: the production router in-process on each engine.
// ---------------------------------------------------------------------------------------------

/// The app on one test database, driven with `oneshot` (any status, documented or not: this file
/// tests what the edge refuses).
struct Api {
    router: Router,
    store: Store,
    _db: TestDb,
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts a problem+json answer with `status`; returns `errors[]`.
    #[track_caller]
    fn problem(&self, status: StatusCode) -> Vec<Value> {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], status.as_u16());
        body["errors"].as_array().cloned().unwrap_or_default()
    }
}

impl Api {
    async fn new(db: TestDb) -> Self {
        let store = db.store().await;
        let state = AppState::new(store.clone(), ServerConfig::default());
        let deadline = Instant::now() + Duration::from_secs(10);
        while state.cache.is_enabled() && !state.cache.is_serving() {
            assert!(
                Instant::now() < deadline,
                "the cache's change feed did not start"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Self {
            router: app(state),
            store,
            _db: db,
        }
    }

    async fn token(&self) -> String {
        let issued = issue_token(
            &[
                Permission::new(Action::Publish, "*"),
                Permission::new(Action::Edit, "*"),
            ],
            Some("hygiene".to_owned()),
        )
        .unwrap();
        self.store.insert_token(&issued.record).await.unwrap();
        issued.secret
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            content_type,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Method::GET, uri, None, None).await
    }
}

/// `(method, uri, status, errors[0].location)`: NUL and other control characters, and bytes that
/// are not UTF-8, wherever a path or query value reaches storage. The same answer on both engines
/// (PostgreSQL used to answer 500 to several of these, SQLite to store them).
const REFUSED_URIS: &[(&str, &str, u16, &str)] = &[
    ("GET", "/v0.1/servers?cursor=%00", 422, "query.cursor"),
    (
        "GET",
        "/v0.1/servers?cursor=a%00b%3A1.0.0",
        422,
        "query.cursor",
    ),
    (
        "GET",
        "/v0.1/servers?search=we%00ather",
        422,
        "query.search",
    ),
    (
        "GET",
        "/v0.1/servers?version=1.0.0%01",
        422,
        "query.version",
    ),
    (
        "GET",
        "/v0.1/servers?namespace=io.github%00",
        422,
        "query.namespace",
    ),
    (
        "GET",
        "/v0.1/servers?registry_type=np%1Fm",
        422,
        "query.registry_type",
    ),
    (
        "GET",
        "/v0.1/servers?transport=stdio%7F",
        422,
        "query.transport",
    ),
    (
        "GET",
        "/v0.1/servers?updated_since=%00",
        422,
        "query.updated_since",
    ),
    ("GET", "/v0.1/servers?search=%C2%85", 422, "query.search"),
    ("GET", "/v0.1/servers?cursor=%FF", 400, "query.cursor"),
    ("GET", "/v0.1/servers?search=%C3", 400, "query.search"),
    ("GET", "/v0/servers?cursor=%00", 422, "query.cursor"),
    (
        "GET",
        "/v0.1/servers/io.github.alice%2Fwe%00ather/versions",
        422,
        "path.serverName",
    ),
    ("GET", "/v0.1/servers/%FF/versions", 400, "path.serverName"),
    (
        "GET",
        "/v0.1/servers/io.github.alice%2Fweather/versions/1.0.0%00",
        422,
        "path.version",
    ),
    (
        "GET",
        "/v0.1/servers/io.github.alice%2Fweather/versions/%01",
        422,
        "path.version",
    ),
    (
        "GET",
        "/v0/servers/io.github.alice%2Fweather/versions/%FE%FF",
        400,
        "path.version",
    ),
    (
        "GET",
        "/v0.1/x/dev.mcp-reg/servers/io.github.alice%2Fweather/versions/1.0.0%00/surface",
        422,
        "path.version",
    ),
    (
        "GET",
        "/v0.1/x/dev.mcp-reg/servers/io.github.alice%2Fweather/diff?from=1.0.0%00&to=1.0.0",
        422,
        "query.from",
    ),
    (
        "GET",
        "/v0.1/x/dev.mcp-reg/namespaces/io.github%00/keys",
        422,
        "path.namespace",
    ),
    (
        "GET",
        "/v0.1/x/dev.mcp-reg/audit?cursor=%00",
        422,
        "query.cursor",
    ),
    (
        "PATCH",
        "/v0.1/servers/io.github.alice%2Fweather/versions/1.0.0%00/status",
        422,
        "path.version",
    ),
    (
        "PATCH",
        "/v0.1/servers/io.github.alice%2F%00/status",
        422,
        "path.serverName",
    ),
];

async fn control_characters_in_paths_and_queries_are_refused(db: TestDb) {
    let api = Api::new(db).await;
    let token = api.token().await;
    let published = api
        .send(
            Method::POST,
            "/v0.1/publish",
            Some(&token),
            Some(serde_json::to_vec(&manifest("io.github.alice/weather", "1.0.0")).unwrap()),
        )
        .await;
    assert_eq!(published.status, StatusCode::OK);
    for &(method, uri, status, location) in REFUSED_URIS {
        let method: Method = method.parse().unwrap();
        let body = (method == Method::PATCH)
            .then(|| serde_json::to_vec(&json!({"status": "deprecated"})).unwrap());
        // Refused before authentication and before the store: with or without a token.
        for token in [None, Some(token.as_str())] {
            let answer = api.send(method.clone(), uri, token, body.clone()).await;
            assert_eq!(answer.status.as_u16(), status, "{method} {uri}");
            let errors = answer.problem(StatusCode::from_u16(status).unwrap());
            assert_eq!(errors.len(), 1, "{uri}: {errors:?}");
            assert_eq!(errors[0]["location"], location, "{uri}");
            let message = errors[0]["message"].as_str().unwrap();
            assert!(!message.chars().any(char::is_control), "{uri}: {message:?}");
        }
    }
    // Nothing was changed by the refused writes; well-formed escapes still work.
    let versions = api
        .get("/v0.1/servers/io.github.alice%2Fweather/versions")
        .await;
    assert_eq!(versions.status, StatusCode::OK);
    assert_eq!(
        versions.json()["servers"][0]["_meta"]["io.modelcontextprotocol.registry/official"]["status"],
        "active"
    );
    assert_eq!(
        api.get("/v0.1/servers?search=caf%C3%A9+%E2%9C%93")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/v0.1/servers?search=weather%09").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        api.get("/v0.1/servers/io.github.alice%2Fweather/versions/1.0.0")
            .await
            .status,
        StatusCode::OK
    );
}

async fn control_characters_in_bodies_are_refused(db: TestDb) {
    let api = Api::new(db).await;
    let token = api.token().await;
    let publish = |body: Value| {
        let api = &api;
        let token = token.clone();
        async move {
            api.send(
                Method::POST,
                "/v0.1/publish",
                Some(&token),
                Some(serde_json::to_vec(&body).unwrap()),
            )
            .await
        }
    };
    let name = "io.github.alice/weather";
    let with = |key: &str, value: Value| {
        let mut manifest = manifest(name, "1.0.0");
        manifest[key] = value;
        manifest
    };
    // `(body, pointer, rule)`.
    let cases = [
        (
            with("version", json!("1.0.0\u{0}")),
            "/version",
            "nul-character",
        ),
        (
            with("version", json!("1.0.\u{1}")),
            "/version",
            "control-characters",
        ),
        (
            with("version", json!("1.0.0\u{9f}")),
            "/version",
            "control-characters",
        ),
        (
            with("description", json!("Weather\u{0}")),
            "/description",
            "nul-character",
        ),
        (
            json!({"server": with("version", json!("2.0.0\u{1b}"))}),
            "/server/version",
            "control-characters",
        ),
        (
            json!({"server": with("_meta", json!({"com.example/notes": {"k\u{0}": 1}}))}),
            "/server/_meta/com.example~1notes/k\u{0}",
            "nul-character",
        ),
    ];
    for (body, pointer, rule) in cases {
        let answer = publish(body).await;
        let errors = answer.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            errors
                .iter()
                .any(|e| e["pointer"] == pointer && e["rule"] == rule),
            "{pointer}: {errors:?}"
        );
    }
    assert_eq!(
        publish(manifest(name, "1.0.0")).await.status,
        StatusCode::OK
    );

    let status_uri = "/v0.1/servers/io.github.alice%2Fweather/versions/1.0.0/status";
    let patch = |message: &str| {
        let body = serde_json::to_vec(&json!({"status": "deprecated", "statusMessage": message}));
        api.send(Method::PATCH, status_uri, Some(&token), Some(body.unwrap()))
    };
    let errors = patch("moved\u{0}")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors[0]["pointer"], "/statusMessage");
    assert_eq!(errors[0]["rule"], "nul-character");
    // Other control characters in free text are stored, identically on both engines.
    assert_eq!(
        patch("moved:\nsee\tthe new name").await.status,
        StatusCode::OK
    );
    let stored = api
        .get("/v0.1/servers/io.github.alice%2Fweather/versions/1.0.0")
        .await
        .json();
    assert_eq!(
        stored["_meta"]["io.modelcontextprotocol.registry/official"]["statusMessage"],
        "moved:\nsee\tthe new name"
    );
    let versions = api
        .get("/v0.1/servers/io.github.alice%2Fweather/versions?include_deleted=true")
        .await
        .json();
    assert_eq!(versions["metadata"]["count"], 1, "{versions}");
}

/// `POST /validate` is a dry run: U+0000 is reported (200, `valid: false`), not refused.
async fn the_dry_run_reports_nul_instead_of_refusing(db: TestDb) {
    let api = Api::new(db).await;
    let mut manifest = manifest("io.github.alice/weather", "1.0.0");
    manifest["description"] = json!("x\u{0}");
    let validated = api
        .send(
            Method::POST,
            "/v0.1/validate",
            None,
            Some(serde_json::to_vec(&manifest).unwrap()),
        )
        .await;
    assert_eq!(validated.status, StatusCode::OK);
    let report = validated.json();
    assert_eq!(report["valid"], false);
    assert!(
        report["issues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|issue| issue["rule"] == "nul-character"),
        "{report}"
    );
}

/// One generated request.
#[derive(Debug, Clone)]
struct Case {
    operation: usize,
    prefix: &'static str,
    /// Per path parameter: the seeded value (`None`) or these bytes.
    segments: Vec<Option<Vec<u8>>>,
    /// Per query parameter: left out (`None`) or these bytes.
    query: Vec<Option<Vec<u8>>>,
    text: String,
}

/// Bytes, weighted towards what breaks things: NUL, C0/C1 controls, DEL, lone UTF-8 lead and
/// continuation bytes, and URL syntax.
fn nasty_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => Just(0u8),
        1 => 1u8..0x20,
        1 => Just(0x7f),
        1 => prop::sample::select(vec![0x80u8, 0x85, 0x9f, 0xc0, 0xc3, 0xe2, 0xf0, 0xfe, 0xff]),
        2 => prop::sample::select(b"%/.:+@?#&=~-_ aZ09".to_vec()),
    ];
    prop::collection::vec(byte, 0..12)
}

fn nasty_text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => any::<char>(),
        2 => Just('\u{0}'),
        1 => (1u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        1 => prop::sample::select(vec!['\u{7f}', '\u{85}', '\u{9f}', '\u{2028}', '\u{feff}', '"', '\\']),
    ];
    prop::collection::vec(ch, 0..10).prop_map(|chars| chars.into_iter().collect())
}

/// Every byte percent-encoded except ASCII letters and digits.
fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An operation of the OpenAPI document: method, path template, path and query parameter names,
/// operation id.
#[derive(Debug)]
struct Operation {
    method: Method,
    template: String,
    path_params: Vec<String>,
    query_params: Vec<String>,
    id: String,
    /// The operation is one the registry deliberately does not offer (documented 501).
    not_implemented: bool,
}

fn operations() -> Vec<Operation> {
    let spec = serde_json::to_value(registry_server::openapi()).unwrap();
    let mut operations = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else {
                continue;
            };
            if operation.get("operationId").is_none() {
                continue;
            }
            let params = |kind: &str| -> Vec<String> {
                operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == kind)
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            };
            operations.push(Operation {
                method,
                template: template
                    .strip_prefix("/v0.1")
                    .unwrap_or(template)
                    .to_owned(),
                path_params: params("path"),
                query_params: params("query"),
                id: operation["operationId"].as_str().unwrap().to_owned(),
                not_implemented: operation["responses"].get("501").is_some(),
            });
        }
    }
    operations
}

/// A value that exists for each path parameter name, so generated requests also reach the handlers
/// and the store with one bad value among good ones.
fn seeded(name: &str) -> &'static str {
    match name {
        "serverName" => "io.github.alice%2Fweather",
        "version" => "1.0.0",
        "namespace" => "io.github.alice",
        "keyId" => "0000000000000000000000000000000000000000000000000000000000000000",
        _ => "x",
    }
}

async fn no_route_answers_5xx_to_arbitrary_bytes(db: TestDb) {
    let api = Api::new(db).await;
    let token = api.token().await;
    let seed = api
        .send(
            Method::POST,
            "/v0.1/publish",
            Some(&token),
            Some(serde_json::to_vec(&manifest("io.github.alice/weather", "1.0.0")).unwrap()),
        )
        .await;
    assert_eq!(seed.status, StatusCode::OK);
    let operations = operations();
    assert!(operations.len() >= 20, "{operations:?}");
    let count = operations.len();
    let strategy = (
        0..count,
        any::<bool>(),
        prop::collection::vec(prop::option::of(nasty_bytes()), 3),
        prop::collection::vec(prop::option::of(nasty_bytes()), 10),
        nasty_text(),
    );
    let config = ProptestConfig {
        cases: 192,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(operation, v0, segments, query, text)| {
            let case = Case {
                operation,
                prefix: if v0 { "/v0" } else { "/v0.1" },
                segments,
                query,
                text,
            };
            let operation = &operations[case.operation];
            let (method, uri, body) = build(operation, &case);
            let answer = handle.block_on(api.send(method.clone(), &uri, Some(&token), body));
            let documented_501 =
                operation.not_implemented && answer.status == StatusCode::NOT_IMPLEMENTED;
            prop_assert!(
                !answer.status.is_server_error() || documented_501,
                "{method} {uri} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
            if answer.status.is_client_error() {
                prop_assert_eq!(
                    answer.content_type.as_deref(),
                    Some("application/problem+json"),
                    "{} {}",
                    method,
                    uri
                );
            }
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

fn build(operation: &Operation, case: &Case) -> (Method, String, Option<Vec<u8>>) {
    let mut path = operation.template.clone();
    for (index, name) in operation.path_params.iter().enumerate() {
        let value = match case.segments.get(index).cloned().flatten() {
            Some(bytes) => percent_encode(&bytes),
            None => seeded(name).to_owned(),
        };
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    let query: Vec<String> = operation
        .query_params
        .iter()
        .zip(&case.query)
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .map(|bytes| format!("{name}={}", percent_encode(bytes)))
        })
        .collect();
    let mut uri = format!("{}{path}", case.prefix);
    if !query.is_empty() {
        uri = format!("{uri}?{}", query.join("&"));
    }
    let body = match (operation.method.clone(), operation.id.as_str()) {
        (Method::GET | Method::HEAD | Method::DELETE, _) => None,
        (_, "publish_version" | "validate_manifest") => {
            let mut body = manifest("io.github.alice/weather", &format!("2.0.{}", case.text));
            body["description"] = json!(case.text);
            Some(serde_json::to_vec(&body).unwrap())
        }
        _ => Some(
            serde_json::to_vec(&json!({
                "status": "deprecated",
                "statusMessage": case.text,
                "publicKey": case.text,
                "policy": case.text,
            }))
            .unwrap(),
        ),
    };
    (operation.method.clone(), uri, body)
}
