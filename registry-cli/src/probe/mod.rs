//! `mcp-reg probe`: start or reach an MCP server, ask it what it offers, and return its
//! [`ToolSurface`] in the capture format of `conformance/real-tools`.
//!
//! The protocol runs on rmcp (the official Rust SDK) as a client: `initialize`, then `tools/list`,
//! `prompts/list`, `resources/templates/list` and `resources/list` for each capability the server
//! advertises, following `nextCursor`. The values in the surface are the server's raw JSON (see
//! [`tap`]): rmcp's typed model would drop keys it does not know, and a capture must not.
//!
//! Every failure is one [`ProbeError`] line (with [`ProbeError::hint`] where the user can act),
//! and a spawned server is always stopped: stdin closed, a grace period, SIGTERM, then SIGKILL to
//! its whole process group.

mod http;
mod sse;
mod stdio;
mod tap;

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use registry_schema::ToolSurface;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientRequest, CustomRequest, ErrorCode, ErrorData,
    Implementation, ProtocolVersion,
};
use rmcp::service::{ClientInitializeError, PeerRequestOptions, RunningService, ServiceError};
use rmcp::transport::IntoTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransport, StreamableHttpClientTransportConfig,
};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};

use crate::install::launch::{LaunchSpec, Part, RemoteTransport, Template};

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTarget {
    /// A local server speaking MCP over its stdin/stdout.
    Command {
        program: String,
        args: Vec<String>,
        /// Set on top of the inherited environment.
        env: Vec<(String, String)>,
    },
    /// A server reached over HTTP.
    Url {
        url: String,
        transport: RemoteTransport,
        headers: Vec<(String, String)>,
    },
}

/// Limits of one probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The whole probe, start-up included (`npx`/`uvx` may download the package first).
    pub timeout: Duration,
    /// Each list request (one page); never more than what is left of `timeout`.
    pub request_timeout: Duration,
    /// Pages per list before giving up on a server that keeps paginating.
    pub max_pages: usize,
    /// How long a server may take to exit after its stdin closes before it gets SIGTERM.
    pub shutdown_grace: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_mins(1),
            request_timeout: Duration::from_secs(30),
            max_pages: 1000,
            shutdown_grace: Duration::from_secs(2),
        }
    }
}

/// Why a probe failed; each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot run `{program}`: command not found")]
    CommandNotFound { program: String },
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the server exited during {step} ({status}){}", stderr_suffix(.stderr))]
    Exited {
        step: String,
        status: String,
        stderr: String,
    },
    #[error("the server closed the connection during {step}")]
    Closed { step: String },
    #[error("the server does not speak JSON-RPC: {detail}")]
    InvalidJsonRpc { detail: String },
    #[error("timed out after {} waiting for {step}{}{}", seconds(*.after), if *.overall { " (the overall --timeout)" } else { "" }, stderr_suffix(.stderr))]
    Timeout {
        step: String,
        after: Duration,
        /// The overall deadline ran out, not the per-request one.
        overall: bool,
        stderr: String,
    },
    #[error("{url} answered HTTP {status} {reason}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    HttpStatus {
        url: String,
        status: u16,
        reason: String,
        body: String,
    },
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("the server answered {step} with error {code}: {message}")]
    Rpc {
        step: String,
        code: i32,
        message: String,
    },
    #[error("{method}: {detail}")]
    Pagination { method: String, detail: String },
    #[error("the server's answers do not form a tool surface: {0}")]
    InvalidSurface(String),
    #[error("{step} failed: {detail}")]
    Protocol { step: String, detail: String },
    #[error("{0}")]
    InvalidTarget(String),
    #[error("{0}")]
    Unsupported(String),
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended with: {stderr}")
    }
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}s")
    } else {
        format!("{secs:.1}s")
    }
}

impl ProbeError {
    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::CommandNotFound { program } => Some(match program.as_str() {
                "npx" => "install Node.js (it provides npx): https://nodejs.org".to_owned(),
                "uvx" => "install uv (it provides uvx): https://docs.astral.sh/uv/".to_owned(),
                "docker" => "install Docker and make sure `docker` is on PATH".to_owned(),
                "dnx" => "install the .NET 10 SDK (it provides dnx)".to_owned(),
                _ => format!("check that `{program}` is installed and on PATH"),
            }),
            Self::InvalidJsonRpc { .. } => Some(
                "an MCP server on stdio must write only JSON-RPC messages to stdout (logs go to \
                 stderr)"
                    .to_owned(),
            ),
            Self::Timeout { overall: true, .. } => {
                Some("a first run may download the package; try a longer --timeout".to_owned())
            }
            Self::HttpStatus {
                status: 401 | 403, ..
            } => Some(
                "pass credentials with --header NAME=VALUE (or --env for a manifest's headers)"
                    .to_owned(),
            ),
            Self::Unsupported(_) => Some(
                "if the server also serves streamable HTTP (often at /mcp), probe that URL"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}

impl ProbeTarget {
    /// The target for a launch spec from [`crate::install::launch::resolve`]; every secret must
    /// have a value (probing runs the server, so a reference is not enough).
    pub fn from_launch(spec: &LaunchSpec) -> Result<Self, ProbeError> {
        match spec {
            LaunchSpec::Stdio { command, args, env } => Ok(Self::Command {
                program: command.clone(),
                args: args.iter().map(concrete).collect::<Result<_, _>>()?,
                env: env
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), concrete(value)?)))
                    .collect::<Result<_, ProbeError>>()?,
            }),
            LaunchSpec::Remote {
                transport,
                url,
                headers,
            } => Ok(Self::Url {
                url: concrete(url)?,
                transport: *transport,
                headers: headers
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), concrete(value)?)))
                    .collect::<Result<_, ProbeError>>()?,
            }),
        }
    }

    /// A short description for progress messages (secrets are not part of it).
    pub fn describe(&self) -> String {
        match self {
            Self::Command { program, args, .. } => {
                let mut words = vec![program.clone()];
                words.extend(args.iter().cloned());
                format!("`{}`", words.join(" "))
            }
            Self::Url { url, .. } => url.clone(),
        }
    }
}

fn concrete(template: &Template) -> Result<String, ProbeError> {
    let mut out = String::new();
    for part in &template.0 {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Secret(secret) => match &secret.value {
                Some(value) => out.push_str(value),
                None => {
                    return Err(ProbeError::InvalidTarget(format!(
                        "a value is required for `{}`{}; pass --env {}=VALUE",
                        secret.key,
                        secret
                            .description
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default(),
                        secret.key
                    )));
                }
            },
        }
    }
    Ok(out)
}

/// Probes `target` and returns what it reported.
pub async fn probe(target: ProbeTarget, options: &ProbeOptions) -> Result<ToolSurface, ProbeError> {
    let clock = Clock::start(options.timeout);
    match target {
        ProbeTarget::Command { program, args, env } => {
            probe_command(&program, &args, &env, options, &clock).await
        }
        ProbeTarget::Url {
            url,
            transport,
            headers,
        } => probe_url(&url, transport, &headers, options, &clock).await,
    }
}

async fn probe_command(
    program: &str,
    args: &[String],
    env: &[(String, String)],
    options: &ProbeOptions,
    clock: &Clock,
) -> Result<ToolSurface, ProbeError> {
    let tap = tap::Tap::default();
    let (mut child, pipes) = stdio::Child::spawn(program, args, env)?;
    let transport = (tap::TapReader::new(pipes.stdout, tap.clone()), pipes.stdin);
    let result = Box::pin(run_session(transport, &tap, options, clock)).await;
    let result = match result {
        // A closed stdout or a broken session usually means the process died: say how, and
        // what it last wrote to stderr.
        Err(err @ (ProbeError::Closed { .. } | ProbeError::Protocol { .. })) => {
            match child.exited_within(Duration::from_millis(500)).await {
                Some(status) => Err(ProbeError::Exited {
                    step: match err {
                        ProbeError::Closed { step } | ProbeError::Protocol { step, .. } => step,
                        _ => String::new(),
                    },
                    status,
                    stderr: child.stderr_tail().await,
                }),
                None => Err(err),
            }
        }
        Err(ProbeError::Timeout {
            step,
            after,
            overall,
            ..
        }) => Err(ProbeError::Timeout {
            step,
            after,
            overall,
            stderr: child.stderr_tail().await,
        }),
        other => other,
    };
    child.shutdown(options.shutdown_grace).await;
    result
}

async fn probe_url(
    url: &str,
    transport: RemoteTransport,
    headers: &[(String, String)],
    options: &ProbeOptions,
    clock: &Clock,
) -> Result<ToolSurface, ProbeError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
        _ => {
            return Err(ProbeError::InvalidTarget(format!(
                "`{url}` is not an http:// or https:// URL"
            )));
        }
    }
    let tap = tap::Tap::default();
    if transport == RemoteTransport::Sse {
        let session = step(
            &tap,
            clock,
            sse::ENDPOINT_STEP,
            Some(options.request_timeout),
            sse::connect(url, headers, options.request_timeout, &tap),
        )
        .await??;
        let result = Box::pin(run_session(
            (session.reader, session.writer),
            &tap,
            options,
            clock,
        ))
        .await;
        // Ends the reader (closing the event stream) and the writer.
        drop(session.tasks);
        return result;
    }
    let client = http::TapClient::new(url, headers, options.request_timeout, tap.clone())?;
    let config = StreamableHttpClientTransportConfig::with_uri(url);
    let transport = StreamableHttpClientTransport::with_client(client, config);
    Box::pin(run_session(transport, &tap, options, clock)).await
}

/// The overall deadline.
struct Clock {
    deadline: Instant,
    total: Duration,
}

impl Clock {
    fn start(total: Duration) -> Self {
        Self {
            deadline: Instant::now() + total,
            total,
        }
    }

    /// How long the next step may take: `per_step`, or what is left overall if that is less.
    fn limit(&self, per_step: Option<Duration>) -> (Duration, bool) {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match per_step {
            Some(per_step) if per_step < left => (per_step, false),
            _ => (left, true),
        }
    }
}

/// Runs `future` unless the tap reports a failure first or the step's time runs out.
async fn step<T>(
    tap: &tap::Tap,
    clock: &Clock,
    name: &str,
    per_step: Option<Duration>,
    future: impl Future<Output = T>,
) -> Result<T, ProbeError> {
    let (limit, overall) = clock.limit(per_step);
    tokio::select! {
        biased;
        () = tap.failed() => Err(tap.take_failure().unwrap_or_else(|| ProbeError::Closed { step: name.to_owned() })),
        outcome = tokio::time::timeout(limit, future) => outcome.map_err(|_| ProbeError::Timeout {
            step: name.to_owned(),
            after: if overall { clock.total } else { limit },
            overall,
            stderr: String::new(),
        }),
    }
}

async fn run_session<T, E, A>(
    transport: T,
    tap: &tap::Tap,
    options: &ProbeOptions,
    clock: &Clock,
) -> Result<ToolSurface, ProbeError>
where
    T: IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mcp-reg", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE);
    let client = step(tap, clock, "initialize", None, info.serve(transport))
        .await?
        .map_err(|err| init_error(tap, err))?;
    let result = collect(&client, tap, options, clock).await;
    // Closing the session closes the server's stdin (or ends the HTTP session).
    let _ = tokio::time::timeout(options.shutdown_grace, client.cancel()).await;
    result
}

fn init_error(tap: &tap::Tap, err: ClientInitializeError) -> ProbeError {
    if let Some(failure) = tap.take_failure() {
        return failure;
    }
    let step = "initialize".to_owned();
    match err {
        ClientInitializeError::ConnectionClosed(_) => ProbeError::Closed { step },
        ClientInitializeError::JsonRpcError(error) => rpc_error(&step, &error),
        ClientInitializeError::ExpectedInitResult(_)
        | ClientInitializeError::ExpectedInitResponse(_) => ProbeError::InvalidJsonRpc {
            detail: "its answer to initialize is not an initialize result".to_owned(),
        },
        other => ProbeError::Protocol {
            step,
            detail: other.to_string(),
        },
    }
}

fn rpc_error(step: &str, error: &ErrorData) -> ProbeError {
    ProbeError::Rpc {
        step: step.to_owned(),
        code: error.code.0,
        message: error.message.to_string(),
    }
}

fn service_error(tap: &tap::Tap, step: &str, err: ServiceError) -> ProbeError {
    if let Some(failure) = tap.take_failure() {
        return failure;
    }
    match err {
        ServiceError::McpError(error) => rpc_error(step, &error),
        ServiceError::TransportClosed => ProbeError::Closed {
            step: step.to_owned(),
        },
        other => ProbeError::Protocol {
            step: step.to_owned(),
            detail: other.to_string(),
        },
    }
}

async fn collect<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tap: &tap::Tap,
    options: &ProbeOptions,
    clock: &Clock,
) -> Result<ToolSurface, ProbeError> {
    let init = tap.first_response().ok_or_else(|| ProbeError::Protocol {
        step: "initialize".to_owned(),
        detail: "no response was seen".to_owned(),
    })?;
    let Value::Object(init) = init else {
        return Err(ProbeError::InvalidSurface(
            "the initialize result is not an object".to_owned(),
        ));
    };
    let mut surface = Map::new();
    for key in [
        "serverInfo",
        "protocolVersion",
        "capabilities",
        "instructions",
    ] {
        if let Some(value) = init.get(key) {
            surface.insert(key.to_owned(), value.clone());
        }
    }
    let advertises = |name: &str| {
        init.get("capabilities")
            .and_then(|caps| caps.get(name))
            .is_some_and(|cap| !cap.is_null())
    };
    let lists: [(&str, &str, &str, bool); 4] = [
        ("tools", "tools/list", "tools", false),
        ("prompts", "prompts/list", "prompts", false),
        // Some servers with resources predate templates; "method not found" means "none".
        (
            "resources",
            "resources/templates/list",
            "resourceTemplates",
            true,
        ),
        ("resources", "resources/list", "resources", false),
    ];
    for (capability, method, key, optional) in lists {
        if !advertises(capability) {
            continue;
        }
        match list_all(client, tap, options, clock, method, key).await {
            Ok(items) => {
                surface.insert(key.to_owned(), Value::Array(items));
            }
            Err(ProbeError::Rpc { code, .. })
                if optional && code == ErrorCode::METHOD_NOT_FOUND.0 => {}
            Err(err) => return Err(err),
        }
    }
    serde_json::from_value(Value::Object(surface))
        .map_err(|err| ProbeError::InvalidSurface(err.to_string()))
}

async fn list_all<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tap: &tap::Tap,
    options: &ProbeOptions,
    clock: &Clock,
    method: &str,
    key: &str,
) -> Result<Vec<Value>, ProbeError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = HashSet::new();
    for _ in 0..options.max_pages {
        let params = cursor.as_ref().map(|cursor| {
            let mut params = Map::new();
            params.insert("cursor".to_owned(), Value::String(cursor.clone()));
            Value::Object(params)
        });
        let request = ClientRequest::CustomRequest(CustomRequest::new(method, params));
        let per_step = Some(options.request_timeout);
        let handle = step(
            tap,
            clock,
            method,
            per_step,
            client
                .peer()
                .send_request_with_option(request, PeerRequestOptions::no_options()),
        )
        .await?
        .map_err(|err| service_error(tap, method, err))?;
        let id = serde_json::to_value(&handle.id)
            .map(|id| id.to_string())
            .unwrap_or_default();
        step(tap, clock, method, per_step, handle.await_response())
            .await?
            .map_err(|err| service_error(tap, method, err))?;
        let raw = tap.take_response(&id).ok_or_else(|| ProbeError::Protocol {
            step: method.to_owned(),
            detail: "the response did not reach the capture".to_owned(),
        })?;
        let Value::Object(mut page) = raw else {
            return Err(ProbeError::InvalidSurface(format!(
                "the {method} result is not an object"
            )));
        };
        match page.remove(key) {
            Some(Value::Array(list)) => items.extend(list),
            _ => {
                return Err(ProbeError::InvalidSurface(format!(
                    "the {method} result has no `{key}` list"
                )));
            }
        }
        match page.remove("nextCursor") {
            None | Some(Value::Null) => return Ok(items),
            Some(Value::String(next)) if next.is_empty() => return Ok(items),
            Some(Value::String(next)) => {
                if !seen.insert(next.clone()) {
                    return Err(ProbeError::Pagination {
                        method: method.to_owned(),
                        detail: format!(
                            "the server sent the cursor `{}` twice; stopping instead of looping",
                            tap::preview(next.as_bytes())
                        ),
                    });
                }
                cursor = Some(next);
            }
            Some(_) => {
                return Err(ProbeError::InvalidSurface(format!(
                    "`nextCursor` of {method} is not a string"
                )));
            }
        }
    }
    Err(ProbeError::Pagination {
        method: method.to_owned(),
        detail: format!(
            "more than {} pages; stopping in case the server paginates forever",
            options.max_pages
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn launch_specs_need_secret_values() {
        let spec = LaunchSpec::Stdio {
            command: "npx".to_owned(),
            args: vec![Template::text("-y"), Template::text("a@1.0.0")],
            env: vec![(
                "TOKEN".to_owned(),
                Template(vec![Part::Secret(crate::install::launch::SecretRef {
                    key: "TOKEN".to_owned(),
                    env_name: "TOKEN".to_owned(),
                    description: Some("API token".to_owned()),
                    value: None,
                })]),
            )],
        };
        let err = ProbeTarget::from_launch(&spec).unwrap_err().to_string();
        assert!(err.contains("--env TOKEN=VALUE"), "{err}");
    }

    #[test]
    fn messages_are_one_line() {
        let err = ProbeError::Timeout {
            step: "tools/list".to_owned(),
            after: Duration::from_millis(1500),
            overall: false,
            stderr: String::new(),
        };
        assert_eq!(
            err.to_string(),
            "timed out after 1.5s waiting for tools/list"
        );
        let err = ProbeError::CommandNotFound {
            program: "uvx".to_owned(),
        };
        assert!(err.hint().unwrap().contains("uv"));
    }
}
