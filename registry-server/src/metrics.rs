//! `/metrics`: request counts and latency per route, publish outcomes, cache efficiency and database
//! pool usage, in the OpenMetrics text format that Prometheus scrapes.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::AppState;

const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The process's metrics. Label values are route templates (`/v0.1/servers/{serverName}`), never raw
/// paths, so their number stays bounded whatever clients send.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    publishes: Family<OutcomeLabels, Counter>,
    cache: Family<OutcomeLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    read_lease: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~8 s, doubling.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mcp_registry");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        let publishes = Family::<OutcomeLabels, Counter>::default();
        let cache = Family::<OutcomeLabels, Counter>::default();
        let pool = Family::<PoolLabels, Gauge>::default();
        let read_lease = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to produce a response, by method and route template",
            latency.clone(),
        );
        registry.register(
            "publishes",
            "Publish attempts by outcome (published, duplicate_or_incompatible, invalid, denied, too_large, rate_limited, error)",
            publishes.clone(),
        );
        registry.register(
            "response_cache_lookups",
            "Read requests answered from the response cache (hit), rendered (miss), or rendered because the read fence could not confirm a cached page (unconfirmed)",
            cache.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (in_use, idle) at scrape time",
            pool.clone(),
        );
        registry.register(
            "read_lease_held",
            "1 while this replica holds its read lease (strict consistency on PostgreSQL: cache hits and search skip the database), else 0",
            read_lease.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            publishes,
            cache,
            pool,
            read_lease,
        }
    }
}

impl Metrics {
    /// Counts and times one request under its method and route template.
    pub fn observe(&self, method: &str, route: &str, status: StatusCode, started: Instant) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(started.elapsed().as_secs_f64());
        if route.ends_with("/publish") && method == "POST" {
            self.publishes
                .get_or_create(&OutcomeLabels {
                    outcome: publish_outcome(status),
                })
                .inc();
        }
    }

    /// Counts a response-cache lookup (`hit` or `miss`).
    pub fn cache_lookup(&self, outcome: &'static str) {
        self.cache.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Renders every metric, sampling the pool and lease gauges now.
    fn render(&self, pool_usage: (u32, u32), lease_held: bool) -> Result<String, std::fmt::Error> {
        self.read_lease.set(i64::from(lease_held));
        self.pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(pool_usage.0));
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(i64::from(pool_usage.1));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn publish_outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "published",
        409 => "duplicate_or_incompatible",
        400 | 422 => "invalid",
        401 | 403 => "denied",
        413 => "too_large",
        429 => "rate_limited",
        _ => "error",
    }
}

/// Route layer: times every matched request and counts it under its route template.
pub async fn track_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state
        .metrics
        .observe(&method, &route, response.status(), started);
    response
}

/// `GET /metrics`.
pub async fn serve_metrics(State(state): State<AppState>) -> Response {
    let lease_held = state
        .read_fence
        .as_ref()
        .is_some_and(crate::read_fence::ReadFence::holds_lease);
    match state.metrics.render(state.store.pool_usage(), lease_held) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(OPENMETRICS_TEXT),
            )],
            text,
        )
            .into_response(),
        Err(err) => ApiError::Internal(anyhow::anyhow!("rendering metrics: {err}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let metrics = Metrics::default();
        metrics.observe(
            "POST",
            "/v0.1/publish",
            StatusCode::CONFLICT,
            Instant::now(),
        );
        metrics.cache_lookup("hit");
        let text = metrics.render((3, 5), true).unwrap_or_default();
        assert!(text.contains(
            r#"mcp_registry_http_requests_total{method="POST",route="/v0.1/publish",status="409"} 1"#
        ), "{text}");
        assert!(
            text.contains(r#"mcp_registry_publishes_total{outcome="duplicate_or_incompatible"} 1"#)
        );
        assert!(text.contains(r#"mcp_registry_response_cache_lookups_total{outcome="hit"} 1"#));
        assert!(text.contains(r#"mcp_registry_db_pool_connections{state="in_use"} 3"#));
        assert!(text.contains("mcp_registry_read_lease_held 1\n"), "{text}");
        assert!(text.contains("mcp_registry_http_request_duration_seconds_bucket"));
        assert!(text.ends_with("# EOF\n"));
    }
}
