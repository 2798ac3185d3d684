//! A remote endpoint belongs to one server name (the official registry's rule), on both engines:
//! another server cannot publish a URL in use; deleting a server's versions releases its URLs.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use axum::http::StatusCode;
use registry_server::auth::Action;
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};

registry_tests::on_both_engines!(remote_urls_belong_to_one_server);

fn with_remote(name: &str, version: &str, url: &str) -> Value {
    let mut manifest = manifest(name, version);
    manifest["remotes"] = if url.contains("{tenant}") {
        json!([{"type": "streamable-http", "url": url,
                "variables": {"tenant": {"description": "Your tenant", "isRequired": true}}}])
    } else {
        json!([{"type": "streamable-http", "url": url}])
    };
    manifest
}

async fn remote_urls_belong_to_one_server(db: TestDb) {
    let app = TestApp::new(db).await;
    let alice = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let bob = app.token(&[(Action::Publish, "io.github.bob/*")]).await;
    let url = "https://mcp.example.com/weather";
    app.publish(
        &alice,
        &with_remote("io.github.alice/weather", "1.0.0", url),
    )
    .await
    .ok();
    // The same server may keep its URL in later versions.
    app.publish(
        &alice,
        &with_remote("io.github.alice/weather", "1.1.0", url),
    )
    .await
    .ok();

    let problem = app
        .publish(&bob, &with_remote("io.github.bob/weather", "1.0.0", url))
        .await
        .problem(StatusCode::CONFLICT);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(url) && detail.contains("io.github.alice/weather"),
        "{detail}"
    );
    app.get(&format!(
        "/v0.1/servers/{}/versions",
        encode("io.github.bob/weather")
    ))
    .await
    .problem(StatusCode::NOT_FOUND);

    // Templated URLs name no single endpoint: both may use the same template.
    let template = "https://{tenant}.example.com/mcp";
    app.publish(
        &alice,
        &with_remote("io.github.alice/tenant", "1.0.0", template),
    )
    .await
    .ok();
    app.publish(
        &bob,
        &with_remote("io.github.bob/tenant", "1.0.0", template),
    )
    .await
    .ok();

    // Deleting every version of alice's server releases the URL.
    let edit = app.token(&[(Action::Edit, "io.github.alice/*")]).await;
    app.patch(
        &edit,
        &format!("/v0.1/servers/{}/status", encode("io.github.alice/weather")),
        &json!({"status": "deleted", "statusMessage": "moved to io.github.bob/weather"}),
    )
    .await
    .ok();
    app.publish(&bob, &with_remote("io.github.bob/weather", "1.0.0", url))
        .await
        .ok();
}
