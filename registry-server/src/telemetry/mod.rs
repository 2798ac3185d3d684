//! Logging: `tracing` with an env filter, text by default, JSON when asked; with `serve
//! --otlp-endpoint`, the spans are also exported over OpenTelemetry ([`otlp`], issue 18).

mod otlp;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

pub use otlp::{
    client_span, endpoint as otlp_endpoint, exporting, parse_endpoint as parse_otlp_endpoint,
    propagate, record_response,
};

use crate::error::LoggedError;

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The format [`init`] installed, for the lines [`announce`] prints.
static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// Prints a line the operator always needs (the listening address, a fatal error), whatever the log
/// filter, in the log format: plain text, or one JSON object shaped like the JSON logs.
pub fn announce(level: tracing::Level, message: &str) {
    match FORMAT.get() {
        Some(LogFormat::Json) => {
            let timestamp = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let line = serde_json::json!({
                "timestamp": timestamp,
                "level": level.as_str(),
                "message": message,
                "target": "registry_server",
            });
            eprintln!("{line}");
        }
        _ if level == tracing::Level::ERROR => eprintln!("error: {message}"),
        _ => eprintln!("{message}"),
    }
}

/// What [`init`] started; [`Telemetry::shutdown`] exports what is left before the process exits.
#[derive(Debug, Default)]
#[must_use = "call `shutdown` at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes the spans still queued for export (graceful shutdown); nothing when not exporting.
    pub fn shutdown(self) {
        if let Some(provider) = &self.provider {
            otlp::shutdown(provider);
        }
    }
}

/// Installs the global subscriber. `RUST_LOG` overrides the default filter of the logs. With an OTLP
/// endpoint (see [`otlp_endpoint`]), the registry's spans are also exported there.
pub fn init(format: LogFormat, otlp: Option<&url::Url>) -> Result<Telemetry, String> {
    let _ = FORMAT.set(format);
    let provider = otlp.map(otlp::provider).transpose()?;
    let default_filter = if provider.is_some() {
        // The exporter's own troubles (an unreachable collector) are worth a line.
        "registry_server=info,tower_http=info,opentelemetry=warn"
    } else {
        "registry_server=info,tower_http=info"
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colour only for a person at a terminal: a file or a log collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
    };
    // The exported spans do not depend on `RUST_LOG`: the registry's own, at info (requests, database
    // statements, outgoing calls), never the exporter's (which would feed itself).
    let export = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(otlp::tracer(provider))
            .with_filter(EnvFilter::new("registry_server=info"))
    });
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(export)
        .try_init();
    Ok(Telemetry { provider })
}

/// The span of one request, named by its route (not its raw path, which holds names).
pub fn make_request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    if !exporting() {
        return tracing::info_span!("request", http.method = %request.method(), http.route = route);
    }
    // Exported: named and kinded as OpenTelemetry's HTTP conventions say, the caller's `traceparent`
    // (if any) as parent, the status recorded by `log_server_errors`.
    let method = request.method();
    let span = tracing::info_span!(
        "request",
        http.method = %method,
        http.route = route,
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    otlp::adopt_remote_parent(&span, request.headers());
    span
}

/// Logs the cause of a 5xx once, inside the request span; client errors are not logged as errors.
pub async fn log_server_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if exporting() {
        let status = response.status().as_u16();
        let span = tracing::Span::current();
        span.record("http.response.status_code", status);
        if status >= 500 {
            span.record("otel.status_code", "ERROR");
        }
    }
    if let Some(LoggedError(cause)) = response.extensions().get::<LoggedError>() {
        tracing::error!(status = response.status().as_u16(), error.message = %cause, "request failed");
    }
    response
}
