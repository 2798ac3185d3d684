//! Issue 18: OpenTelemetry export of request traces. The real `registry-server serve
//! --otlp-endpoint` sends its spans to a small OTLP/HTTP receiver inside the test (which also plays the
//! npm registry of the ownership check, to see the `traceparent` of the outgoing call). Without an
//! endpoint nothing is exported and no `traceparent` leaves the server.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;

/// The caller's trace (the W3C specification's example ids).
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

const MANIFEST: &str = r#"{"name":"io.github.alice/weather","description":"Weather","version":"1.0.0",
    "packages":[{"registryType":"npm","identifier":"weather-mcp","version":"1.0.0","transport":{"type":"stdio"}},
    {"registryType":"mcpb","identifier":"https://github.com/alice/weather/releases/download/v1.0.0/weather.mcpb",
     "version":"1.0.0","fileSha256":"9c055252c40e770cd03054be8f2df22199a0c4f420c53bb5f3c7c9209b6c7a06","transport":{"type":"stdio"}}]}"#;
/// The bundle the MCPB mirror serves; [`MANIFEST`]'s `fileSha256` is its digest.
const BUNDLE: &[u8] = b"an MCPB bundle";

/// What the receiver got: OTLP export bodies, and the `traceparent` of each npm and MCPB request.
#[derive(Clone, Default)]
struct Received {
    exports: Arc<Mutex<Vec<Bytes>>>,
    npm_traceparents: Arc<Mutex<Vec<Option<String>>>>,
    mcpb_traceparents: Arc<Mutex<Vec<Option<String>>>>,
}

fn traceparent(headers: &HeaderMap) -> Option<String> {
    headers
        .get("traceparent")
        .map(|value| value.to_str().unwrap().to_owned())
}

/// An OTLP/HTTP collector (`POST /v1/traces`), an npm registry (`GET /npm/…`) and an MCPB download mirror
/// (`GET /alice/…`, the release asset's path) on one loopback port.
struct Receiver {
    _runtime: tokio::runtime::Runtime,
    url: String,
    received: Received,
}

impl Receiver {
    fn start() -> Self {
        let received = Received::default();
        let exports = received.exports.clone();
        let npm = received.npm_traceparents.clone();
        let mcpb = received.mcpb_traceparents.clone();
        let router = Router::new()
            .route(
                "/v1/traces",
                post(move |body: Bytes| async move {
                    exports.lock().unwrap().push(body);
                    // An empty ExportTraceServiceResponse: everything accepted.
                    (
                        StatusCode::OK,
                        [("content-type", "application/x-protobuf")],
                        Vec::new(),
                    )
                }),
            )
            .route(
                "/npm/{*package}",
                get(move |headers: HeaderMap| async move {
                    npm.lock().unwrap().push(traceparent(&headers));
                    axum::Json(serde_json::json!({
                        "name": "weather-mcp",
                        "version": "1.0.0",
                        "mcpName": "io.github.alice/weather",
                    }))
                }),
            )
            .route(
                "/alice/{*asset}",
                get(move |headers: HeaderMap| async move {
                    mcpb.lock().unwrap().push(traceparent(&headers));
                    BUNDLE
                }),
            );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, router).await });
        Self {
            _runtime: runtime,
            url,
            received,
        }
    }

    /// Every span exported so far, decoded, with its resource's attributes.
    fn spans(&self) -> Vec<(Span, HashMap<String, String>)> {
        let mut spans = Vec::new();
        for body in self.received.exports.lock().unwrap().iter() {
            let request = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
            for resource_spans in request.resource_spans {
                let resource = resource_spans
                    .resource
                    .map(|resource| attributes(&resource.attributes))
                    .unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push((span, resource.clone()));
                    }
                }
            }
        }
        spans
    }
}

fn attributes(attributes: &[KeyValue]) -> HashMap<String, String> {
    attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v: &AnyValue| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                Some(any_value::Value::BoolValue(b)) => b.to_string(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_registry-server"));
    // Keep tests off the developer's real config, data and collector.
    command
        .env_remove("REGISTRY_DATABASE_URL")
        .env_remove("REGISTRY_DATA_DIR")
        .env_remove("REGISTRY_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("RUST_LOG");
    command
}

fn token(data_dir: &Path) -> String {
    let created = server()
        .args(["token", "create", "--publish", "io.github.alice/*"])
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    String::from_utf8(created.stdout).unwrap().trim().to_owned()
}

struct Running {
    child: Child,
    address: String,
}

impl Running {
    /// `registry` is the receiver's URL: its npm registry and MCPB mirror.
    fn start(data_dir: &Path, registry: &str, otlp: Option<&str>) -> Self {
        let mut command = server();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--verify-packages", "npm,mcpb", "--npm-registry-url"])
            .arg(format!("{registry}/npm/"))
            .arg("--mcpb-mirror-url")
            .arg(registry)
            // Nothing is exported on a timer during the test: what arrives is the flush at shutdown.
            .env("OTEL_BSP_SCHEDULE_DELAY", "60000")
            .stderr(Stdio::piped());
        if let Some(endpoint) = otlp {
            command.args(["--otlp-endpoint", endpoint]);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, address }
    }

    /// `POST /v0.1/publish` of [`MANIFEST`] with the caller's `traceparent`: (status, body).
    fn publish(&self, token: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        write!(
            stream,
            "POST /v0.1/publish HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             traceparent: 00-{TRACE_ID}-{PARENT_ID}-01\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{MANIFEST}",
            self.address,
            MANIFEST.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
            .to_owned();
        (status, body)
    }

    /// SIGTERM: a graceful shutdown, which exports the spans still queued.
    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The span id that the one request recorded in `traceparents` names as its parent: a span of the
/// caller's trace other than the caller's own.
fn outgoing_span(traceparents: &Mutex<Vec<Option<String>>>, what: &str) -> String {
    let traceparents = traceparents.lock().unwrap().clone();
    assert_eq!(traceparents.len(), 1, "{what}: {traceparents:?}");
    let outgoing = traceparents[0]
        .clone()
        .unwrap_or_else(|| panic!("no traceparent on the {what}"));
    let parts: Vec<&str> = outgoing.split('-').collect();
    assert_eq!(parts.len(), 4, "{outgoing}");
    assert_eq!(parts[1], TRACE_ID, "{outgoing}");
    assert_ne!(parts[2], PARENT_ID, "{outgoing}");
    parts[2].to_owned()
}

#[test]
fn request_database_and_outgoing_spans_reach_the_collector() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let running = Running::start(dir.path(), &receiver.url, Some(&receiver.url));
    let (status, body) = running.publish(&token);
    assert_eq!(status, 200, "{body}");

    // The ownership check's requests carried the trace on, each with its own client span as parent.
    let client_span_id = outgoing_span(&receiver.received.npm_traceparents, "npm request");
    let download_span_id = outgoing_span(&receiver.received.mcpb_traceparents, "MCPB download");
    assert_ne!(client_span_id, download_span_id);

    assert!(
        receiver.received.exports.lock().unwrap().is_empty(),
        "exported before the batch delay or the shutdown"
    );
    assert!(running.terminate().success());

    let spans = receiver.spans();
    let names: Vec<&str> = spans.iter().map(|(span, _)| span.name.as_str()).collect();
    let in_trace: Vec<&(Span, HashMap<String, String>)> = spans
        .iter()
        .filter(|(span, _)| hex(&span.trace_id) == TRACE_ID)
        .collect();
    assert!(
        !in_trace.is_empty(),
        "no span of the caller's trace: {names:?}"
    );

    // The request span: a server span, child of the caller's span.
    let request = in_trace
        .iter()
        .find(|(span, _)| span.kind == SpanKind::Server as i32)
        .unwrap_or_else(|| panic!("no server span: {names:?}"));
    assert_eq!(request.0.name, "POST /v0.1/publish");
    assert_eq!(hex(&request.0.parent_span_id), PARENT_ID);
    let request_attributes = attributes(&request.0.attributes);
    assert_eq!(request_attributes["http.route"], "/v0.1/publish");
    assert_eq!(request_attributes["http.response.status_code"], "200");
    assert_eq!(request.1["service.name"], "registry-server");

    // Database statements, in the same trace, without their bound values.
    let statements: Vec<HashMap<String, String>> = in_trace
        .iter()
        .map(|(span, _)| attributes(&span.attributes))
        .filter(|attributes| attributes.get("db.system").map(String::as_str) == Some("sqlite"))
        .collect();
    assert!(!statements.is_empty(), "no database span: {names:?}");
    assert!(
        statements
            .iter()
            .any(|a| a["db.operation.name"] == "INSERT"),
        "{statements:?}"
    );
    for (span, _) in &spans {
        for (key, value) in attributes(&span.attributes) {
            assert!(
                !value.contains("io.github.alice/weather") && !value.contains("mcpr_"),
                "a bound value or secret in {key} of {}: {value}",
                span.name
            );
        }
    }

    // The outgoing call: the client span whose id the npm request carried.
    let client = in_trace
        .iter()
        .find(|(span, _)| hex(&span.span_id) == client_span_id)
        .unwrap_or_else(|| panic!("no span {client_span_id}: {names:?}"));
    assert_eq!(client.0.kind, SpanKind::Client as i32);
    let client_attributes = attributes(&client.0.attributes);
    assert_eq!(client_attributes["http.request.method"], "GET");
    assert_eq!(client_attributes["server.address"], "127.0.0.1");
    assert_eq!(client_attributes["http.response.status_code"], "200");
    let download = in_trace
        .iter()
        .find(|(span, _)| hex(&span.span_id) == download_span_id)
        .unwrap_or_else(|| panic!("no span {download_span_id}: {names:?}"));
    assert_eq!(download.0.kind, SpanKind::Client as i32);
    assert_eq!(
        attributes(&download.0.attributes)["http.response.status_code"],
        "200"
    );
}

#[test]
fn nothing_is_exported_or_propagated_without_an_endpoint() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let running = Running::start(dir.path(), &receiver.url, None);
    let (status, body) = running.publish(&token);
    assert_eq!(status, 200, "{body}");
    assert!(running.terminate().success());
    // The npm request and the MCPB download went out without trace context, and no collector was called.
    assert_eq!(
        *receiver.received.npm_traceparents.lock().unwrap(),
        vec![None]
    );
    assert_eq!(
        *receiver.received.mcpb_traceparents.lock().unwrap(),
        vec![None]
    );
    assert!(receiver.received.exports.lock().unwrap().is_empty());

    // A malformed endpoint is refused at start.
    let refused = server()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--otlp-endpoint", "otel-collector:4318"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--otlp-endpoint"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    })
}
