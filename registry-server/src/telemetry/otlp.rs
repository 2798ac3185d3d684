//! Issue 18: OpenTelemetry export of request traces, opt-in with `serve --otlp-endpoint`.
//!
//! The spans `tracing` already has (one per request, plus the ones made here for database statements
//! and outgoing HTTP calls) are exported over OTLP/HTTP (protobuf) by a batch processor on its own
//! thread, so a slow or absent collector never holds up a request. An incoming W3C `traceparent`
//! becomes the request span's parent, and outgoing calls (ownership checks, auth exchanges) carry the
//! `traceparent` of their own span. Without an endpoint nothing here runs: no exporter, no thread, no
//! extra span, no header.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::{HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use url::Url;

/// The path of the traces signal under an OTLP/HTTP base URL.
const TRACES_PATH: &str = "v1/traces";
/// The longest graceful shutdown waits for the last batch to be exported.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether spans are being exported (set once by [`super::init`]).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether `--otlp-endpoint` (or the standard variables) turned the export on.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// `--otlp-endpoint`: an `http`/`https` URL.
pub fn parse_endpoint(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|err| format!("`{value}` is not a URL: {err}"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        _ => Err(format!(
            "`{value}` is not an http(s) URL such as http://otel-collector:4318"
        )),
    }
}

/// Where `serve` exports spans: `--otlp-endpoint` / `REGISTRY_OTLP_ENDPOINT`, else the standard
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), else `OTEL_EXPORTER_OTLP_ENDPOINT`; `None`
/// (no export) when none is set. Base URLs get `/v1/traces` appended unless they already end with it.
pub fn endpoint(flag: Option<&Url>) -> Result<Option<Url>, String> {
    let from_env = |name: &str| -> Result<Option<Url>, String> {
        match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => parse_endpoint(value.trim())
                .map(Some)
                .map_err(|err| format!("{name}: {err}")),
            _ => Ok(None),
        }
    };
    if let Some(url) = flag {
        return Ok(Some(traces_url(url)));
    }
    if let Some(url) = from_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")? {
        return Ok(Some(url));
    }
    Ok(from_env("OTEL_EXPORTER_OTLP_ENDPOINT")?.map(|url| traces_url(&url)))
}

/// `base` with `/v1/traces` appended, unless it already ends with it.
fn traces_url(base: &Url) -> Url {
    let path = base.path().trim_end_matches('/');
    let mut url = base.clone();
    if !path.ends_with("/v1/traces") {
        url.set_path(&format!("{path}/{TRACES_PATH}"));
    }
    url
}

/// The exporting half of the subscriber: the batch processor and its OTLP/HTTP exporter.
pub(super) fn provider(endpoint: &Url) -> Result<SdkTracerProvider, String> {
    // reqwest is built without a bundled crypto provider; ring is the one the workspace has.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The blocking client runs on the batch processor's own thread (the exporter builds it on a
    // thread of its own, so this is safe inside or outside the runtime).
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint.as_str())
        .build()
        .map_err(|err| format!("cannot build the OTLP exporter for {endpoint}: {err}"))?;
    let mut resource = Resource::builder();
    // `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` win over the default name.
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    if !named {
        resource = resource.with_service_name("registry-server");
    }
    let resource = resource
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    // The batch processor's delay, queue and batch sizes follow the standard `OTEL_BSP_*` variables.
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    EXPORTING.store(true, Ordering::Relaxed);
    Ok(provider)
}

/// The `tracing` layer feeding `provider`.
pub(super) fn tracer(provider: &SdkTracerProvider) -> opentelemetry_sdk::trace::SdkTracer {
    provider.tracer("registry-server")
}

/// Exports what is still queued and stops the processor (graceful shutdown), waiting at most a few
/// seconds for an unreachable collector.
pub(super) fn shutdown(provider: &SdkTracerProvider) {
    if let Err(err) = provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
        super::announce(
            tracing::Level::WARN,
            &format!("exporting the last traces failed: {err}"),
        );
    }
}

/// Reads W3C trace context from request headers.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Collects the headers W3C trace context adds to an outgoing request.
#[derive(Default)]
struct Outgoing(Vec<(HeaderName, HeaderValue)>);

impl Injector for Outgoing {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.push((name, value));
        }
    }
}

/// Makes the `traceparent` of an incoming request (if valid) the parent of `span`.
pub(super) fn adopt_remote_parent(span: &tracing::Span, headers: &HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let _ = span.set_parent(parent);
}

/// `request` with the `traceparent` (and `tracestate`) of `span`; unchanged when nothing is exported.
pub fn propagate(
    span: &tracing::Span,
    request: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    if !exporting() || span.is_none() {
        return request;
    }
    let mut headers = Outgoing::default();
    TraceContextPropagator::new().inject_context(&span.context(), &mut headers);
    headers
        .0
        .into_iter()
        .fold(request, |request, (name, value)| {
            request.header(name, value)
        })
}

/// The span of one outgoing HTTP call (`otel.kind = client`), to instrument the call with;
/// [`tracing::Span::none`] when nothing is exported. The URL is recorded without credentials or query.
pub fn client_span(method: &'static str, url: &str) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    let parsed = Url::parse(url).ok();
    let host = parsed.as_ref().and_then(Url::host_str).unwrap_or_default();
    let port = parsed.as_ref().and_then(Url::port_or_known_default);
    let shown = parsed.as_ref().map_or_else(String::new, |url| {
        let mut url = url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        url.to_string()
    });
    tracing::info_span!(
        "http.client",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        server.address = host,
        server.port = port,
        url.full = shown,
        http.response.status_code = tracing::field::Empty,
    )
}

/// Records an outgoing call's answer on its span: the status, and an error for 5xx and for no
/// answer at all (`None`).
pub fn record_response(span: &tracing::Span, status: Option<u16>) {
    if let Some(status) = status {
        span.record("http.response.status_code", status);
    }
    if status.is_none_or(|status| status >= 500) {
        span.record("otel.status_code", "ERROR");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_the_traces_path_once() {
        let url = |s: &str| traces_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            url("https://otel.example/base/"),
            "https://otel.example/base/v1/traces"
        );
        assert_eq!(
            url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
        assert!(parse_endpoint("collector:4318").is_err());
        assert!(parse_endpoint("ftp://collector").is_err());
        assert!(parse_endpoint("http://collector:4318").is_ok());
    }

    #[test]
    fn nothing_is_propagated_without_export() {
        assert!(!exporting());
        assert!(client_span("GET", "https://registry.npmjs.org/x").is_none());
        let _ = rustls::crypto::ring::default_provider().install_default();
        let span = tracing::Span::current();
        let request = propagate(&span, reqwest::Client::new().get("http://127.0.0.1:9/"))
            .build()
            .unwrap();
        assert!(request.headers().get("traceparent").is_none());
    }
}
