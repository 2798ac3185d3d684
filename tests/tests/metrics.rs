//! `/metrics` on both engines: route templates (never raw paths), publish outcomes, cache lookups and
//! pool gauges, in OpenMetrics text.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use axum::http::StatusCode;
use registry_server::auth::Action;
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::db::TestDb;

registry_tests::on_both_engines!(metrics_count_routes_outcomes_and_pool);

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

async fn metrics_count_routes_outcomes_and_pool(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let name = "io.github.alice/weather";
    app.publish(&token, &manifest(name, "1.0.0")).await.ok();
    // Another document under the same precedence (the identical one would be a retry, 200).
    app.publish(&token, &manifest(name, "1.0.0+other"))
        .await
        .problem(StatusCode::CONFLICT);
    app.publish(&token, &manifest("io.github.bob/tools", "1.0.0"))
        .await
        .problem(StatusCode::FORBIDDEN);
    let detail = format!("/v0.1/servers/{}/versions/1.0.0", encode(name));
    app.get(&detail).await.ok();
    app.get(&detail).await.ok();

    let response = app.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/openmetrics-text")),
        "{:?}",
        response.content_type
    );
    let text = response.text();
    let detail_series = r#"mcp_registry_http_requests_total{method="GET",route="/v0.1/servers/{serverName}/versions/{version}",status="200"}"#;
    assert_eq!(sample(&text, detail_series), Some(2.0), "{text}");
    assert!(
        !text.contains("alice"),
        "raw paths must not become labels:\n{text}"
    );
    for (outcome, count) in [
        ("published", 1.0),
        ("duplicate_or_incompatible", 1.0),
        ("denied", 1.0),
    ] {
        let series = format!(r#"mcp_registry_publishes_total{{outcome="{outcome}"}}"#);
        assert_eq!(sample(&text, &series), Some(count), "{series}\n{text}");
    }
    assert_eq!(
        sample(
            &text,
            r#"mcp_registry_response_cache_lookups_total{outcome="hit"}"#
        ),
        Some(1.0)
    );
    assert!(sample(&text, r#"mcp_registry_db_pool_connections{state="idle"}"#).is_some());
    let latency_count =
        r#"mcp_registry_http_request_duration_seconds_count{method="POST",route="/v0.1/publish"}"#;
    assert_eq!(sample(&text, latency_count), Some(3.0));
    assert!(text.ends_with("# EOF\n"));
}
