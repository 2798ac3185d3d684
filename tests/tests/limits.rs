//! Rate limits on both engines: 429 with Retry-After, per token and per address, write limits shared
//! by replicas on one database, read limits per replica.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use axum::http::{Method, StatusCode};
use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_server::rate_limit::RateLimits;
use registry_tests::app::{TestApp, TestResponse, manifest};
use registry_tests::db::TestDb;

registry_tests::on_both_engines!(
    write_limits_hold_across_replicas,
    write_limits_per_address,
    read_limits_per_address
);

fn limited(limits: RateLimits) -> ServerConfig {
    ServerConfig {
        rate_limits: limits,
        trust_forwarded_for: true,
        ..ServerConfig::default()
    }
}

#[track_caller]
fn assert_limited(response: &TestResponse, limit: u32) {
    response.problem(StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let retry_after = header("retry-after").expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header("ratelimit-limit"), Some(u64::from(limit)));
    assert_eq!(header("ratelimit-remaining"), Some(0));
}

async fn publish_from(
    app: &TestApp,
    token: &str,
    ip: &str,
    name: &str,
    version: &str,
) -> TestResponse {
    let body = serde_json::to_vec(&manifest(name, version)).unwrap();
    app.request_with_headers(
        Method::POST,
        "/v0.1/publish",
        Some(token),
        Some(body),
        &[("x-forwarded-for", ip)],
    )
    .await
}

async fn write_limits_hold_across_replicas(db: TestDb) {
    registry_tests::away_from_rate_window_edge().await;
    let limits = RateLimits {
        writes_per_token: 3,
        writes_per_ip: 0,
        reads_per_ip: 0,
    };
    let first = TestApp::with_config(db, limited(limits)).await;
    let second = first.replica().await;
    let token = first.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let other = first.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let name = "io.github.alice/weather";
    publish_from(&first, &token, "192.0.2.1", name, "1.0.0")
        .await
        .ok();
    publish_from(&second, &token, "192.0.2.2", name, "1.1.0")
        .await
        .ok();
    // Refused writes count too: the limit is on requests, not on successes (another document under
    // a published version's precedence is a conflict; the identical one would be a retry).
    publish_from(&first, &token, "192.0.2.3", name, "1.1.0+other")
        .await
        .problem(StatusCode::CONFLICT);
    let refused = publish_from(&second, &token, "192.0.2.4", name, "1.2.0").await;
    assert_limited(&refused, 3);
    // Nothing was stored, and another token is unaffected.
    first
        .get("/v0.1/servers/io.github.alice%2Fweather/versions/1.2.0")
        .await
        .problem(StatusCode::NOT_FOUND);
    publish_from(&second, &other, "192.0.2.4", name, "1.2.0")
        .await
        .ok();
    // A made-up token is counted as well (guessing costs the guesser).
    for _ in 0..3 {
        publish_from(&first, "mcpr_guess", "192.0.2.5", name, "9.0.0")
            .await
            .problem(StatusCode::UNAUTHORIZED);
    }
    assert_limited(
        &publish_from(&first, "mcpr_guess", "192.0.2.5", name, "9.0.0").await,
        3,
    );
}

async fn write_limits_per_address(db: TestDb) {
    registry_tests::away_from_rate_window_edge().await;
    let limits = RateLimits {
        writes_per_token: 0,
        writes_per_ip: 2,
        reads_per_ip: 0,
    };
    let app = TestApp::with_config(db, limited(limits)).await;
    let name = "io.github.alice/weather";
    let tokens = [
        app.token(&[(Action::Publish, "io.github.alice/*")]).await,
        app.token(&[(Action::Publish, "io.github.alice/*")]).await,
        app.token(&[(Action::Publish, "io.github.alice/*")]).await,
    ];
    publish_from(&app, &tokens[0], "198.51.100.7", name, "1.0.0")
        .await
        .ok();
    publish_from(&app, &tokens[1], "198.51.100.7", name, "1.1.0")
        .await
        .ok();
    assert_limited(
        &publish_from(&app, &tokens[2], "198.51.100.7", name, "1.2.0").await,
        2,
    );
    publish_from(&app, &tokens[2], "198.51.100.8", name, "1.2.0")
        .await
        .ok();

    // Token exchanges (which make outgoing requests) share the per-address write limit.
    let exchange = |ip: &'static str| {
        let app = &app;
        async move {
            app.request_with_headers(
                Method::POST,
                "/v0.1/auth/http",
                None,
                Some(b"{}".to_vec()),
                &[("x-forwarded-for", ip)],
            )
            .await
        }
    };
    for _ in 0..2 {
        assert_eq!(
            exchange("198.51.100.9").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_limited(&exchange("198.51.100.9").await, 2);
}

async fn read_limits_per_address(db: TestDb) {
    registry_tests::away_from_rate_window_edge().await;
    let limits = RateLimits {
        writes_per_token: 0,
        writes_per_ip: 0,
        reads_per_ip: 2,
    };
    let app = TestApp::with_config(db, limited(limits)).await;
    let read = |ip: &'static str| {
        let app = &app;
        async move {
            app.get_with_headers("/v0.1/servers", &[("x-forwarded-for", ip)])
                .await
        }
    };
    read("203.0.113.1").await.ok();
    read("203.0.113.1").await.ok();
    assert_limited(&read("203.0.113.1").await, 2);
    read("203.0.113.2").await.ok();
    // Operational endpoints are never limited.
    let health = app
        .get_with_headers("/v0.1/health", &[("x-forwarded-for", "203.0.113.1")])
        .await;
    assert_eq!(health.status, StatusCode::OK);
}
