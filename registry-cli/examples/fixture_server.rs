//! Test fixture for `mcp-reg probe`: an MCP server built on rmcp that serves a recorded tool
//! surface (a capture from `conformance/real-tools`) exactly as recorded, `page-size` items per page.
//!
//! ```text
//! fixture_server --capture FILE [--page-size N] [--http [--sse-responses] [--http-status CODE]]
//!                [--pid-file FILE] [--grandchild-pid-file FILE] [--crash-on-initialize | --garbage | --hang | --repeat-cursor]
//! ```
//!
//! Over stdio (the default) rmcp's service loop runs on stdin/stdout. With `--http` it listens on
//! 127.0.0.1:0, prints its URL on the first line of stdout, and answers each POST statelessly
//! through rmcp's one-shot transport, as JSON or (with `--sse-responses`) as an event stream.
//!
//! The handler implements rmcp's `Service` directly rather than `ServerHandler`, so results are
//! the recorded JSON values, not rmcp's typed model (which would drop keys such as `execution`).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, CustomResult, ErrorCode, ErrorData,
    PaginatedRequestParams, ServerConfig, ServerResult,
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
    if flags.http {
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
    let (transport, mut replies) = OneshotTransport::<RoleServer>::new(message);
    let running = serve_directly(fixture, transport, None);
    let Some(reply) = replies.recv().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let _ = running.cancel().await;
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
