//! Test fixture for `mcp-reg probe`: an MCP server built on rmcp that serves a recorded tool
//! surface (a capture from `conformance/real-tools`) exactly as recorded, `page-size` items per page.
//!
//! ```text
//! fixture_server --capture FILE [--page-size N] [--http [--sse-responses] [--http-status CODE]]
//! fixture_server --capture FILE --sse [--endpoint-origin ORIGIN | --no-endpoint] [--require-header NAME=VALUE]
//!                [--closed-file FILE]
//!                [--pid-file FILE] [--grandchild-pid-file FILE] [--crash-on-initialize | --garbage | --hang | --repeat-cursor]
//! ```
//!
//! Over stdio (the default) rmcp's service loop runs on stdin/stdout. With `--http` it listens on
//! 127.0.0.1:0, prints its URL on the first line of stdout, and answers each POST statelessly
//! through rmcp's one-shot transport, as JSON or (with `--sse-responses`) as an event stream.
//! With `--sse` it speaks the legacy HTTP+SSE transport instead: `GET /sse` opens a session's event
//! stream, whose first event names `/messages?session=ID` (on `--endpoint-origin` if given, never
//! with `--no-endpoint`); each POST there gets 202 and its answer arrives on that stream.
//!
//! The handler implements rmcp's `Service` directly rather than `ServerHandler`, so results are
//! the recorded JSON values, not rmcp's typed model (which would drop keys such as `execution`).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, CustomResult, ErrorCode, ErrorData,
    PaginatedRequestParams, ServerConfig, ServerJsonRpcMessage, ServerResult,
};
use rmcp::service::{NotificationContext, RequestContext, serve_directly};
use rmcp::transport::OneshotTransport;
use rmcp::{RoleServer, Service};
use serde_json::{Map, Value};

/// Command-line switches; each misbehaviour is its own flag, so bools are the plain model here.
#[derive(Debug, Default)]
#[allow(clippy::struct_excessive_bools)]
struct Flags {
    capture: Option<PathBuf>,
    page_size: usize,
    http: bool,
    sse_responses: bool,
    http_status: Option<u16>,
    sse: bool,
    endpoint_origin: Option<String>,
    no_endpoint: bool,
    require_header: Option<(String, String)>,
    closed_file: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    grandchild_pid_file: Option<PathBuf>,
    crash_on_initialize: bool,
    garbage: bool,
    hang: bool,
    repeat_cursor: bool,
}

fn flags() -> Flags {
    let mut flags = Flags {
        page_size: usize::MAX,
        ..Flags::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--capture" => flags.capture = args.next().map(PathBuf::from),
            "--page-size" => flags.page_size = args.next().unwrap().parse().unwrap(),
            "--http" => flags.http = true,
            "--sse-responses" => flags.sse_responses = true,
            "--http-status" => flags.http_status = Some(args.next().unwrap().parse().unwrap()),
            "--sse" => flags.sse = true,
            "--endpoint-origin" => flags.endpoint_origin = args.next(),
            "--no-endpoint" => flags.no_endpoint = true,
            "--require-header" => {
                let pair = args.next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                flags.require_header = Some((name.to_owned(), value.to_owned()));
            }
            "--closed-file" => flags.closed_file = args.next().map(PathBuf::from),
            "--pid-file" => flags.pid_file = args.next().map(PathBuf::from),
            "--grandchild-pid-file" => flags.grandchild_pid_file = args.next().map(PathBuf::from),
            "--crash-on-initialize" => flags.crash_on_initialize = true,
            "--garbage" => flags.garbage = true,
            "--hang" => flags.hang = true,
            "--repeat-cursor" => flags.repeat_cursor = true,
            other => {
                eprintln!("fixture_server: unknown argument `{other}`");
                std::process::exit(2);
            }
        }
    }
    flags
}

#[derive(Debug, Clone)]
struct Fixture {
    surface: Map<String, Value>,
    page_size: usize,
    crash_on_initialize: bool,
    repeat_cursor: bool,
}

impl Fixture {
    fn initialize(&self) -> ServerResult {
        if self.crash_on_initialize {
            eprintln!("fixture: reading configuration");
            eprintln!("fixture: fatal: cannot open database /nonexistent/db.sqlite");
            std::process::exit(3);
        }
        let mut result = Map::new();
        for key in [
            "protocolVersion",
            "capabilities",
            "serverInfo",
            "instructions",
        ] {
            if let Some(value) = self.surface.get(key) {
                result.insert(key.to_owned(), value.clone());
            }
        }
        ServerResult::CustomResult(CustomResult(Value::Object(result)))
    }

    /// One page of a list: cursors are `page-<offset>`.
    fn page(&self, key: &str, params: Option<&PaginatedRequestParams>) -> ServerResult {
        let empty = Vec::new();
        let items = self
            .surface
            .get(key)
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let offset = params
            .and_then(|p| p.cursor.as_deref())
            .and_then(|c| c.strip_prefix("page-"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
            .min(items.len());
        let end = offset.saturating_add(self.page_size).min(items.len());
        let mut result = Map::new();
        result.insert(key.to_owned(), Value::Array(items[offset..end].to_vec()));
        if self.repeat_cursor {
            result.insert("nextCursor".to_owned(), Value::from("page-0"));
        } else if end < items.len() {
            result.insert("nextCursor".to_owned(), Value::from(format!("page-{end}")));
        }
        ServerResult::CustomResult(CustomResult(Value::Object(result)))
    }
}

impl Service<RoleServer> for Fixture {
    async fn handle_request(
        &self,
        request: ClientRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        match &request {
            ClientRequest::InitializeRequest(_) => Ok(self.initialize()),
            ClientRequest::PingRequest(_) => Ok(ServerResult::empty(())),
            ClientRequest::ListToolsRequest(r) => Ok(self.page("tools", r.params.as_ref())),
            ClientRequest::ListPromptsRequest(r) => Ok(self.page("prompts", r.params.as_ref())),
            ClientRequest::ListResourcesRequest(r) => Ok(self.page("resources", r.params.as_ref())),
            ClientRequest::ListResourceTemplatesRequest(r) => {
                Ok(self.page("resourceTemplates", r.params.as_ref()))
            }
            other => Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!("the fixture does not implement {}", other.method()),
                None,
            )),
        }
    }

    async fn handle_notification(
        &self,
        _notification: ClientNotification,
        _context: NotificationContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::default()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let flags = flags();
    if let Some(path) = &flags.pid_file {
        std::fs::write(path, std::process::id().to_string()).unwrap();
    }
    // Like `npx` starting `node`: a child of the server that must not outlive the probe.
    let _grandchild = flags.grandchild_pid_file.as_ref().map(|path| {
        let child = std::process::Command::new("sleep")
            .arg("300")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::fs::write(path, child.id().to_string()).unwrap();
        child
    });
    if flags.hang {
        // Neither read stdin nor exit when it closes: only a signal ends this process.
        loop {
            std::thread::sleep(Duration::from_hours(1));
        }
    }
    let surface: Value = match &flags.capture {
        Some(path) => serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap(),
        None => serde_json::json!({
            "serverInfo": {"name": "fixture", "version": "0.0.0"},
            "protocolVersion": "2025-06-18",
            "capabilities": {}
        }),
    };
    let fixture = Fixture {
        surface: surface.as_object().cloned().unwrap(),
        page_size: flags.page_size.max(1),
        crash_on_initialize: flags.crash_on_initialize,
        repeat_cursor: flags.repeat_cursor,
    };
    if flags.garbage {
        println!("Starting fixture server... (this line is not JSON-RPC)");
    }
    if flags.sse {
        serve_legacy_sse(fixture, &flags).await;
    } else if flags.http {
        serve_http(fixture, &flags).await;
    } else {
        let running = serve_directly(fixture, rmcp::transport::stdio(), None);
        let _ = running.waiting().await;
    }
}

async fn serve_http(fixture: Fixture, flags: &Flags) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    println!("http://127.0.0.1:{port}/mcp");
    let sse = flags.sse_responses;
    let status = flags.http_status;
    let app = Router::new().route(
        "/mcp",
        post(move |headers: HeaderMap, body: Bytes| {
            let fixture = fixture.clone();
            async move { answer(fixture, &headers, &body, sse, status).await }
        })
        .get(|| async { StatusCode::METHOD_NOT_ALLOWED })
        .delete(|| async { StatusCode::METHOD_NOT_ALLOWED }),
    );
    axum::serve(listener, app).await.unwrap();
}

/// Stateless streamable HTTP: each POST is one message, answered through rmcp's one-shot transport.
async fn answer(
    fixture: Fixture,
    _headers: &HeaderMap,
    body: &[u8],
    sse: bool,
    status: Option<u16>,
) -> Response {
    if let Some(code) = status {
        let code = StatusCode::from_u16(code).unwrap();
        return (code, "fixture: access denied for this test\n").into_response();
    }
    let message: ClientJsonRpcMessage = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    if !matches!(message, ClientJsonRpcMessage::Request(_)) {
        return StatusCode::ACCEPTED.into_response();
    }
    let Some(reply) = reply(fixture, message).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let json = serde_json::to_string(&reply).unwrap();
    if sse {
        (
            [(header::CONTENT_TYPE, "text/event-stream")],
            format!("event: message\ndata: {json}\n\n"),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], json).into_response()
    }
}

/// The answer to one request, through rmcp's one-shot transport.
async fn reply(fixture: Fixture, message: ClientJsonRpcMessage) -> Option<ServerJsonRpcMessage> {
    let (transport, mut replies) = OneshotTransport::<RoleServer>::new(message);
    let running = serve_directly(fixture, transport, None);
    let reply = replies.recv().await;
    let _ = running.cancel().await;
    reply
}

/// Legacy HTTP+SSE: each `GET /sse` is a session whose events are sent through this channel.
#[derive(Clone)]
struct Legacy {
    fixture: Fixture,
    sessions: Arc<Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<String>>>>,
    next_session: Arc<AtomicU64>,
    endpoint_origin: String,
    no_endpoint: bool,
    require_header: Option<(String, String)>,
    closed_file: Option<PathBuf>,
}

/// Writes `--closed-file` once the client has gone and axum drops the session's event stream.
struct ClosedMarker(Option<PathBuf>);

impl Drop for ClosedMarker {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            std::fs::write(path, "closed").unwrap();
        }
    }
}

impl Legacy {
    /// The `--require-header` check, on the stream and on every POST.
    fn refused(&self, headers: &HeaderMap) -> Option<Response> {
        let (name, value) = self.require_header.as_ref()?;
        if headers.get(name.as_str()).and_then(|v| v.to_str().ok()) == Some(value.as_str()) {
            None
        } else {
            Some(
                (
                    StatusCode::UNAUTHORIZED,
                    format!("fixture: header {name} missing\n"),
                )
                    .into_response(),
            )
        }
    }
}

async fn serve_legacy_sse(fixture: Fixture, flags: &Flags) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    println!("http://127.0.0.1:{port}/sse");
    let state = Legacy {
        fixture,
        sessions: Arc::default(),
        next_session: Arc::default(),
        // Relative by default, as most legacy servers send it.
        endpoint_origin: flags.endpoint_origin.clone().unwrap_or_default(),
        no_endpoint: flags.no_endpoint,
        require_header: flags.require_header.clone(),
        closed_file: flags.closed_file.clone(),
    };
    let app = Router::new()
        .route("/sse", get(open_stream))
        .route("/messages", post(legacy_message))
        .with_state(state);
    axum::serve(listener, app).await.unwrap();
}

async fn open_stream(State(legacy): State<Legacy>, headers: HeaderMap) -> Response {
    if let Some(refusal) = legacy.refused(&headers) {
        return refusal;
    }
    let id = legacy
        .next_session
        .fetch_add(1, Ordering::Relaxed)
        .to_string();
    let (events, queue) = tokio::sync::mpsc::unbounded_channel();
    if legacy.no_endpoint {
        events
            .send(": no endpoint from this server\n\n".to_owned())
            .unwrap();
    } else {
        let origin = &legacy.endpoint_origin;
        events
            .send(format!(
                "event: endpoint\ndata: {origin}/messages?session={id}\n\n"
            ))
            .unwrap();
    }
    legacy.sessions.lock().unwrap().insert(id, events);
    let marker = ClosedMarker(legacy.closed_file.clone());
    let body = futures_util::stream::unfold((queue, marker), |(mut queue, marker)| async move {
        let chunk = queue.recv().await?;
        Some((Ok::<_, Infallible>(chunk), (queue, marker)))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(body),
    )
        .into_response()
}

async fn legacy_message(
    State(legacy): State<Legacy>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = legacy.refused(&headers) {
        return refusal;
    }
    let events = query
        .get("session")
        .and_then(|id| legacy.sessions.lock().unwrap().get(id).cloned());
    let Some(events) = events else {
        return (StatusCode::NOT_FOUND, "fixture: no such session\n").into_response();
    };
    let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    if matches!(message, ClientJsonRpcMessage::Request(_)) {
        let fixture = legacy.fixture.clone();
        tokio::spawn(async move {
            if let Some(reply) = reply(fixture, message).await {
                // Pretty-printed over several `data:` lines, which SSE joins with newlines.
                let json = serde_json::to_string_pretty(&reply).unwrap();
                let data = format!("data: {}\n", json.replace('\n', "\ndata: "));
                let _ = events.send(format!("event: message\n{data}\n"));
            }
        });
    }
    StatusCode::ACCEPTED.into_response()
}
