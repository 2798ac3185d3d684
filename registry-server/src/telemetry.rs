//! Logging: `tracing` with an env filter, text by default, JSON when asked.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

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

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("registry_server=info,tower_http=info"));
    // Colour only for a person at a terminal: a file or a log collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The span of one request, named by its route (not its raw path, which holds names).
pub fn make_request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    tracing::info_span!("request", http.method = %request.method(), http.route = route)
}

/// Logs the cause of a 5xx once, inside the request span; client errors are not logged as errors.
pub async fn log_server_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(LoggedError(cause)) = response.extensions().get::<LoggedError>() {
        tracing::error!(status = response.status().as_u16(), error.message = %cause, "request failed");
    }
    response
}
