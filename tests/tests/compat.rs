//! The compatibility gate at publish, on both engines: a breaking version without the major bump is a
//! 409 carrying the report and stores nothing; accepted versions keep their report; acknowledgements
//! cover undecidable findings but never provable breaks; surfaces are served and searchable.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests: a panic is the failure report; scenarios read top to bottom"
)]

use axum::http::{Method, StatusCode};
use registry_server::auth::Action;
use registry_tests::app::{TestApp, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};

registry_tests::on_both_engines!(
    breaking_change_without_major_is_refused_and_stores_nothing,
    accepted_versions_keep_their_report_and_surface,
    acknowledgements_cover_undecidable_findings_only,
    manifest_only_servers_are_checked_on_runtime_parts,
    diff_compares_any_two_versions,
    tools_are_searchable,
);

const NAME: &str = "io.github.alice/weather";

/// A surface with one tool whose `city` argument has the given JSON Schema.
fn surface(tools: &[(&str, Value)]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|(name, city)| {
            json!({
                "name": name,
                "description": format!("{name} for a city"),
                "inputSchema": {
                    "type": "object",
                    "properties": {"city": city},
                    "required": ["city"]
                }
            })
        })
        .collect();
    json!({
        "serverInfo": {"name": "weather", "version": "1.0.0"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": tools
    })
}

fn with_surface(version: &str, surface: &Value) -> Value {
    let mut manifest = manifest(NAME, version);
    manifest["_meta"] = json!({ "dev.mcp-reg/surface": surface });
    manifest
}

fn string() -> Value {
    json!({"type": "string"})
}

async fn publisher(app: &TestApp) -> String {
    app.token(&[(Action::Publish, "io.github.alice/*")]).await
}

fn versions_uri(version: &str) -> String {
    format!("/v0.1/servers/{}/versions/{version}", encode(NAME))
}

fn x_uri(version: &str, what: &str) -> String {
    format!(
        "/v0.1/x/dev.mcp-reg/servers/{}/versions/{version}/{what}",
        encode(NAME)
    )
}

async fn breaking_change_without_major_is_refused_and_stores_nothing(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = publisher(&app).await;
    let v1 = surface(&[("forecast", string()), ("alerts", string())]);
    app.publish(&token, &with_surface("1.0.0", &v1)).await.ok();

    let removed = surface(&[("forecast", string())]);
    let response = app.publish(&token, &with_surface("1.1.0", &removed)).await;
    let problem = response.problem(StatusCode::CONFLICT);
    assert_eq!(problem["verdict"], "reject");
    assert_eq!(problem["required_bump"], "major");
    assert_eq!(problem["actual_bump"], "minor");
    assert_eq!(problem["baseline_version"], "1.0.0");
    assert_eq!(problem["new_version"], "1.1.0");
    assert_eq!(problem["scope"], "surface");
    let findings = problem["findings"].as_array().unwrap();
    let removal = findings
        .iter()
        .find(|f| f["name"] == "alerts")
        .unwrap_or_else(|| panic!("no finding about `alerts`: {problem:#}"));
    assert_eq!(removal["level"], "major");
    assert_eq!(removal["fingerprint"].as_str().unwrap().len(), 12);
    assert!(
        problem["detail"].as_str().unwrap().contains("major"),
        "{problem:#}"
    );

    // Nothing was stored.
    app.get(&versions_uri("1.1.0"))
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&versions_uri("latest")).await.ok()["server"]["version"],
        "1.0.0"
    );

    // Acknowledging a provable break changes nothing.
    let fingerprint = removal["fingerprint"].as_str().unwrap();
    let envelope = json!({"server": with_surface("1.1.0", &removed), "acknowledge": [fingerprint]});
    app.publish(&token, &envelope)
        .await
        .problem(StatusCode::CONFLICT);

    // The major bump it needs is accepted.
    app.publish(&token, &with_surface("2.0.0", &removed))
        .await
        .ok();
}

async fn accepted_versions_keep_their_report_and_surface(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = publisher(&app).await;
    let v1 = surface(&[("forecast", string())]);
    app.publish(&token, &with_surface("1.0.0", &v1)).await.ok();
    let first = app.get(&x_uri("1.0.0", "compat")).await.ok();
    assert_eq!(first["verdict"], "pass");
    assert_eq!(first["baseline_version"], Value::Null);
    assert!(
        first["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "first-publish"),
        "{first:#}"
    );

    // Adding a tool is a minor change; 1.1.0 is a minor bump.
    let v2 = surface(&[("forecast", string()), ("alerts", string())]);
    app.publish(&token, &with_surface("1.1.0", &v2)).await.ok();
    let report = app.get(&x_uri("1.1.0", "compat")).await.ok();
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["baseline_version"], "1.0.0");
    assert_eq!(report["required_bump"], "minor");
    assert_eq!(report["actual_bump"], "minor");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "alerts" && f["level"] == "minor"),
        "{report:#}"
    );
    // `latest` resolves too, and the surface is served as published.
    assert_eq!(app.get(&x_uri("latest", "compat")).await.ok(), report);
    let served = app.get(&x_uri("1.1.0", "surface")).await.ok();
    assert_eq!(served["tools"], v2["tools"]);
    assert_eq!(served["serverInfo"], v2["serverInfo"]);
    // The surface round-trips inside the manifest, too.
    let detail = app.get(&versions_uri("1.1.0")).await.ok();
    assert_eq!(detail["server"]["_meta"]["dev.mcp-reg/surface"], v2);

    app.get(&x_uri("9.9.9", "compat"))
        .await
        .problem(StatusCode::NOT_FOUND);

    // An imported version has no report, and one without a surface has no surface.
    let bare = registry_schema::Manifest::parse(
        &serde_json::to_vec(&manifest("io.github.alice/imported", "1.0.0")).unwrap(),
        &registry_schema::Policy::lenient(),
    )
    .unwrap();
    app.store.import(&[bare]).await.unwrap();
    let imported = format!(
        "/v0.1/x/dev.mcp-reg/servers/{}/versions/1.0.0",
        encode("io.github.alice/imported")
    );
    let missing = app
        .get(&format!("{imported}/compat"))
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(missing["detail"].as_str().unwrap().contains("imported"));
    app.get(&format!("{imported}/surface"))
        .await
        .problem(StatusCode::NOT_FOUND);
}

async fn acknowledgements_cover_undecidable_findings_only(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = publisher(&app).await;
    let old = surface(&[(
        "forecast",
        json!({"type": "string", "pattern": "^[A-Z][a-z]+$"}),
    )]);
    app.publish(&token, &with_surface("1.0.0", &old)).await.ok();

    // Changing one regex for another cannot be decided: treated as major unless acknowledged.
    let new = surface(&[(
        "forecast",
        json!({"type": "string", "pattern": "^[A-Za-z ]+$"}),
    )]);
    let problem = app
        .publish(&token, &with_surface("1.1.0", &new))
        .await
        .problem(StatusCode::CONFLICT);
    let undecided = problem["undecided"].as_array().unwrap();
    assert_eq!(undecided.len(), 1, "{problem:#}");
    let fingerprint = undecided[0]["fingerprint"].as_str().unwrap().to_owned();

    // A malformed acknowledgement is a 422 pointing at it.
    let bad = json!({"server": with_surface("1.1.0", &new), "acknowledge": ["nope"]});
    let problem = app
        .publish(&token, &bad)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/acknowledge/0");

    // Validation errors inside the envelope point into `/server`.
    let mut invalid = with_surface("1.1.0", &new);
    invalid["description"] = json!(42);
    let problem = app
        .publish(&token, &json!({"server": invalid, "acknowledge": []}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/server/description"),
        "{problem:#}"
    );

    let envelope = json!({"server": with_surface("1.1.0", &new), "acknowledge": [fingerprint]});
    let body = serde_json::to_vec(&envelope).unwrap();
    let published = app
        .request(Method::POST, "/v0.1/publish", Some(&token), Some(body))
        .await
        .ok();
    assert_eq!(published["server"]["version"], "1.1.0");
    // The stored manifest is the inner server.json, not the envelope.
    assert!(published["server"].get("acknowledge").is_none());
    let report = app.get(&x_uri("1.1.0", "compat")).await.ok();
    assert_eq!(report["verdict"], "pass");
    assert!(report["undecided"].as_array().unwrap().is_empty());
    let acknowledged = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fingerprint"] == fingerprint.as_str())
        .unwrap();
    assert!(
        acknowledged["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("acknowledged")),
        "{acknowledged:#}"
    );
}

async fn manifest_only_servers_are_checked_on_runtime_parts(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = publisher(&app).await;
    app.publish(&token, &manifest(NAME, "1.0.0")).await.ok();
    // A new required environment variable breaks every existing install.
    let mut needs_key = manifest(NAME, "1.1.0");
    needs_key["packages"][0]["environmentVariables"] =
        json!([{"name": "WEATHER_API_KEY", "isRequired": true, "isSecret": true}]);
    let problem = app
        .publish(&token, &needs_key)
        .await
        .problem(StatusCode::CONFLICT);
    assert_eq!(problem["scope"], "manifest-only");
    assert_eq!(problem["required_bump"], "major");

    app.publish(&token, &manifest(NAME, "1.0.1")).await.ok();
    let report = app.get(&x_uri("1.0.1", "compat")).await.ok();
    assert_eq!(report["scope"], "manifest-only");
    assert_eq!(report["verdict"], "pass");
}

async fn diff_compares_any_two_versions(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = publisher(&app).await;
    app.publish(
        &token,
        &with_surface(
            "1.0.0",
            &surface(&[("forecast", string()), ("alerts", string())]),
        ),
    )
    .await
    .ok();
    app.publish(
        &token,
        &with_surface("2.0.0", &surface(&[("forecast", string())])),
    )
    .await
    .ok();
    let uri = |from: &str, to: &str| {
        format!(
            "/v0.1/x/dev.mcp-reg/servers/{}/diff?from={from}&to={to}",
            encode(NAME)
        )
    };
    let forward = app.get(&uri("1.0.0", "2.0.0")).await.ok();
    assert_eq!(forward["required_bump"], "major");
    assert_eq!(forward["actual_bump"], "major");
    assert_eq!(forward["verdict"], "pass");
    assert_eq!(forward["scope"], "surface");
    let backward = app.get(&uri("2.0.0", "1.0.0")).await.ok();
    assert_eq!(
        backward["required_bump"], "minor",
        "re-adding a tool: {backward:#}"
    );
    assert_eq!(app.get(&uri("1.0.0", "latest")).await.ok(), forward);
    app.get(&uri("1.0.0", "3.0.0"))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get(&format!(
        "/v0.1/x/dev.mcp-reg/servers/{}/diff?from=1.0.0",
        encode(NAME)
    ))
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
}

async fn tools_are_searchable(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = publisher(&app).await;
    app.publish(
        &token,
        &with_surface("1.0.0", &surface(&[("get_precipitation_radar", string())])),
    )
    .await
    .ok();
    app.publish(&token, &manifest("io.github.alice/other", "1.0.0"))
        .await
        .ok();
    let found = app.get("/v0.1/servers?search=precipitation").await.ok();
    let names: Vec<&str> = found["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [NAME]);

    // A surface that is not a surface capture is refused with a pointer to it.
    let mut broken = manifest(NAME, "1.1.0");
    broken["_meta"] = json!({"dev.mcp-reg/surface": {"tools": "many"}});
    let problem = app
        .publish(&token, &broken)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/_meta/dev.mcp-reg~1surface"),
        "{problem:#}"
    );
}
