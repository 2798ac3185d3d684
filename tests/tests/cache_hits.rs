//! Cache hits answered before routing (`cache::CacheHits`): they carry exactly what a hit through the
//! router carries (headers, CORS, 304s), are counted in the metrics and the read limits, and the API's
//! entries and the web pages' never stand in for each other.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use axum::http::StatusCode;
use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_server::rate_limit::RateLimits;
use registry_tests::app::{TestApp, TestResponse, cache_outcome, encode, manifest};
use registry_tests::db::TestDb;

registry_tests::on_both_engines!(
    api_entries_and_pages_are_kept_apart,
    early_hits_answer_as_the_router_does,
    early_hits_are_counted_and_limited,
);

const NAME: &str = "io.github.alice/weather";

async fn published_app(config: ServerConfig, db: TestDb) -> TestApp {
    let app = TestApp::with_config(db, config).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    app.publish(&token, &manifest(NAME, "1.0.0")).await.ok();
    app
}

fn header<'a>(response: &'a TestResponse, name: &str) -> &'a str {
    response
        .headers
        .get(name)
        .map_or("", |value| value.to_str().unwrap())
}

#[track_caller]
fn assert_page(response: &TestResponse, path: &str) {
    assert_eq!(response.status, StatusCode::OK, "{path}");
    assert_eq!(
        response.content_type.as_deref(),
        Some("text/html; charset=utf-8"),
        "{path}"
    );
    assert!(
        response.text().trim_start().starts_with("<!DOCTYPE html>"),
        "{path}: {}",
        response.text()
    );
}

/// `nest` strips `/v0.1` before the cache layer sees the path, so the API's `/v0.1/servers?limit=1` and
/// the page `/servers?limit=1` once shared an entry: whichever came first was served for both (JSON
/// labelled as HTML, or a page to an API client).
async fn api_entries_and_pages_are_kept_apart(db: TestDb) {
    let app = published_app(ServerConfig::default(), db).await;
    let detail = format!("/servers/{}/versions/1.0.0", encode(NAME));
    for path in ["/servers?limit=1", detail.as_str()] {
        let api = format!("/v0.1{path}");
        // The API first (cached, then a hit), then the page at the same stripped path.
        app.get(&api).await.ok();
        assert_eq!(cache_outcome(&app.get(&api).await), "hit");
        let page = app.get_with_headers(path, &[("accept", "text/html")]).await;
        assert_page(&page, path);
        // The page's own entry is then served to the page, and the API's to the API.
        let again = app.get_with_headers(path, &[("accept", "text/html")]).await;
        assert_page(&again, path);
        assert_eq!(cache_outcome(&again), "hit");
        let api_again = app.get(&api).await;
        assert_eq!(api_again.content_type.as_deref(), Some("application/json"));
        api_again.ok();
        // `/v0` is the same API under another prefix: its own entry, the same bytes.
        let v0 = app.get(&format!("/v0{path}")).await;
        assert_eq!(v0.body, api_again.body);
    }
}

async fn early_hits_answer_as_the_router_does(db: TestDb) {
    let app = published_app(ServerConfig::default(), db).await;
    let uri = format!("/v0.1/servers/{}/versions/latest", encode(NAME));
    let origin = [("origin", "https://vscode.dev")];
    let rendered = app.get_with_headers(&uri, &origin).await;
    assert_eq!(cache_outcome(&rendered), "miss");
    let hit = app.get_with_headers(&uri, &origin).await;
    assert_eq!(cache_outcome(&hit), "hit");
    assert_eq!(hit.body, rendered.body);
    // Every header the router's path sent, CORS included, and no other (hyper adds `content-length` on
    // the wire from the body's exact size, whichever path the body took).
    let names = |response: &TestResponse| {
        let mut names: Vec<String> = response
            .headers
            .keys()
            .map(|name| name.as_str().to_owned())
            .filter(|name| name != "date" && name != "content-length")
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&hit), names(&rendered));
    for name in [
        "content-type",
        "etag",
        "cache-control",
        "vary",
        "access-control-allow-origin",
        "access-control-expose-headers",
    ] {
        assert_eq!(header(&hit, name), header(&rendered, name), "{name}");
    }
    assert_eq!(header(&hit, "access-control-allow-origin"), "*");
    // Revalidation, with the CORS headers a browser needs to read the 304.
    let revalidated = app
        .get_with_headers(
            &uri,
            &[
                ("origin", "https://vscode.dev"),
                ("if-none-match", header(&rendered, "etag")),
            ],
        )
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert_eq!(header(&revalidated, "access-control-allow-origin"), "*");
    assert_eq!(header(&revalidated, "etag"), header(&rendered, "etag"));
    // Other methods always take the router: a POST here is a 405.
    let post = app
        .request(axum::http::Method::POST, &uri, None, Some(b"{}".to_vec()))
        .await;
    post.problem(StatusCode::METHOD_NOT_ALLOWED);
}

async fn early_hits_are_counted_and_limited(db: TestDb) {
    registry_tests::away_from_rate_window_edge().await;
    let config = ServerConfig {
        rate_limits: RateLimits {
            writes_per_token: 0,
            writes_per_ip: 0,
            reads_per_ip: 4,
        },
        trust_forwarded_for: true,
        ..ServerConfig::default()
    };
    let app = published_app(config, db).await;
    let uri = format!("/v0.1/servers/{}/versions/1.0.0", encode(NAME));
    let from = [("x-forwarded-for", "203.0.113.7")];
    let outcomes: Vec<String> = {
        let mut outcomes = Vec::new();
        for _ in 0..4 {
            let response = app.get_with_headers(&uri, &from).await;
            response.ok();
            outcomes.push(cache_outcome(&response).to_owned());
        }
        outcomes
    };
    assert_eq!(outcomes, ["miss", "hit", "hit", "hit"]);
    // The fifth read from that address is refused, cached or not; another address is not.
    let refused = app.get_with_headers(&uri, &from).await;
    refused.problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "ratelimit-limit"), "4");
    assert!(!header(&refused, "retry-after").is_empty());
    app.get_with_headers(&uri, &[("x-forwarded-for", "203.0.113.8")])
        .await
        .ok();

    // Every request is in the metrics under its route template, hits and the refusal included.
    let metrics = app.get("/metrics").await.text();
    let series = |status: u16| {
        format!(
            r#"mcp_registry_http_requests_total{{method="GET",route="/v0.1/servers/{{serverName}}/versions/{{version}}",status="{status}"}}"#
        )
    };
    let value = |series: &str| -> u64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(series))
            .unwrap_or_else(|| panic!("{series} missing from\n{metrics}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(value(&series(200)), 5);
    assert_eq!(value(&series(429)), 1);
    assert_eq!(
        value(r#"mcp_registry_response_cache_lookups_total{outcome="hit"}"#),
        4
    );
}
