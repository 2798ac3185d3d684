//! Issue 19: the publish gate reads only the versions it compares with, and one manifest for all the
//! versions that share a contract; its answers are those of `registry_schema::compat::gate` over the
//! whole history, on both engines.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a panic is the failure report; scenarios read top to bottom"
)]

use axum::http::StatusCode;
use registry_schema::ServerJson;
use registry_schema::compat::{self, GateOptions, Publication};
use registry_server::auth::Action;
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};

registry_tests::on_both_engines!(
    a_long_unchanged_line_answers_as_the_whole_history_does,
    deleted_and_higher_versions_answer_as_the_whole_history_does,
);

const NAME: &str = "io.github.alice/history";

fn release(version: &str, tools: &[&str]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|name| {
            json!({"name": name, "description": format!("{name} for a city"),
                "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}})
        })
        .collect();
    // The package version follows the server's, as it does in real manifests: the contract is shared.
    let mut manifest = manifest(NAME, version);
    manifest["_meta"] = json!({"dev.mcp-reg/surface": {
        "serverInfo": {"name": "history", "version": "1.0.0"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": tools,
    }});
    manifest
}

fn publication(manifest: &Value, deleted: bool) -> Publication {
    let server: ServerJson = serde_json::from_value(manifest.clone()).unwrap();
    Publication {
        version: manifest["version"].as_str().unwrap().to_owned(),
        deleted,
        surface: compat::surface_of(&server).and_then(Result::ok),
        manifest: Some(server),
    }
}

/// What the gate answers over the whole history, as the report's members.
fn expected(history: &[(Value, bool)], new: &Value) -> (Value, Value) {
    let history: Vec<Publication> = history
        .iter()
        .map(|(manifest, deleted)| publication(manifest, *deleted))
        .collect();
    let report = compat::gate(&history, &publication(new, false), &GateOptions::default());
    (
        serde_json::to_value(&report.checks).unwrap(),
        serde_json::to_value(&report.reasons).unwrap(),
    )
}

async fn a_long_unchanged_line_answers_as_the_whole_history_does(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let mut history = Vec::new();
    for n in 0..12 {
        let manifest = release(&format!("1.0.{n}"), &["forecast", "alerts"]);
        app.publish(&token, &manifest).await.ok();
        history.push((manifest, false));
    }
    // A removed tool: a break against the baseline and, transitively, against every earlier release.
    let broken = release("1.1.0", &["forecast"]);
    let problem = app
        .publish(&token, &broken)
        .await
        .problem(StatusCode::CONFLICT);
    let (checks, reasons) = expected(&history, &broken);
    assert_eq!(problem["checks"], checks);
    assert_eq!(problem["reasons"], reasons);
    assert_eq!(
        problem["checks"].as_array().unwrap().len(),
        12,
        "{problem:#}"
    );
    // An added tool is a minor change against all of them.
    let added = release("1.1.0", &["forecast", "alerts", "radar"]);
    app.publish(&token, &added).await.ok();
}

async fn deleted_and_higher_versions_answer_as_the_whole_history_does(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let mut history = Vec::new();
    for (version, tools) in [
        ("1.0.0", &["forecast"][..]),
        ("1.1.0", &["forecast", "alerts"][..]),
        ("1.2.0", &["forecast", "alerts"][..]),
        ("1.4.0", &["forecast", "alerts", "radar"][..]),
        ("1.5.0", &["forecast", "alerts", "radar"][..]),
    ] {
        let manifest = release(version, tools);
        app.publish(&token, &manifest).await.ok();
        history.push((manifest, false));
    }
    // 1.2.0 is deleted: never a baseline, still a version number.
    let status = app
        .patch(
            &token,
            &format!("/v0.1/servers/{}/versions/1.2.0/status", encode(NAME)),
            &json!({"status": "deleted"}),
        )
        .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text());
    history[2].1 = true;
    // Backfills below 1.4.0 (the next higher release, which must stay compatible with them): 1.3.0
    // passes; 1.3.1 removes `alerts`, a break against its baseline 1.3.0 and, transitively, 1.1.0.
    for (version, tools) in [
        ("1.3.0", &["forecast", "alerts"][..]),
        ("1.3.1", &["forecast"][..]),
    ] {
        let new = release(version, tools);
        let response = app.publish(&token, &new).await;
        let (checks, reasons) = expected(&history, &new);
        assert_eq!(response.status == StatusCode::OK, version == "1.3.0");
        if response.status == StatusCode::OK {
            assert_eq!(reasons, json!([]), "{checks:#}");
            let body = response.json();
            assert_eq!(body["server"]["version"], version);
            history.push((new, false));
        } else {
            let problem = response.problem(StatusCode::CONFLICT);
            assert_eq!(problem["checks"], checks);
            assert_eq!(problem["reasons"], reasons);
        }
    }
}
