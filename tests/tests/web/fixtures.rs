//! Registry data the page tests read: a server with a tool surface and a breaking history, enough
//! servers for two result pages, a signed one, and one whose manifest tries to inject markup.

use registry_schema::Manifest;
use registry_server::auth::Action;
use registry_server::db::{GateDecision, PublishExtras, StoredProvenance};
use registry_tests::app::{TestApp, manifest};
use serde_json::{Value, json};

pub const WEATHER: &str = "io.github.acme/weather";
pub const SIGNED: &str = "io.github.sealed/vault";
pub const EVIL: &str = "io.github.evil/xss";
/// Servers whose name holds `weather`, besides [`WEATHER`]: more than one page of results.
pub const MORE_WEATHER: usize = 24;

fn tool(name: &str, description: &str, properties: &Value, required: &[&str]) -> Value {
    json!({
        "name": name,
        "title": format!("{name} title"),
        "description": description,
        "inputSchema": {"type": "object", "properties": properties, "required": required},
        "outputSchema": {"type": "object", "properties": {"summary": {"type": "string", "description": "What the sky does"}}},
        "annotations": {"readOnlyHint": true}
    })
}

fn weather(version: &str, tools: &[Value]) -> Value {
    let mut manifest = manifest(WEATHER, version);
    manifest["title"] = json!("Acme Weather");
    manifest["description"] = json!("Forecasts and alerts for any city.");
    manifest["repository"] = json!({"url": "https://github.com/acme/weather", "source": "github"});
    manifest["packages"][0]["environmentVariables"] = json!([
        {"name": "ACME_API_KEY", "description": "Your Acme API key", "isRequired": true, "isSecret": true}
    ]);
    manifest["_meta"] = json!({"dev.mcp-reg/surface": {
        "serverInfo": {"name": "weather", "version": version},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": tools,
        "prompts": [{"name": "daily-brief", "description": "A morning summary", "arguments": [{"name": "city", "required": true}]}]
    }});
    manifest
}

/// Publishes everything through the API (so the compatibility reports are the gate's), plus the
/// signed and the hostile manifests straight into the store.
pub async fn seed(app: &TestApp) {
    let token = app.token(&[(Action::Publish, "io.github.acme/*")]).await;
    let city = json!({"city": {"type": "string", "description": "City name, e.g. Oslo"}});
    let forecast = tool("get_forecast", "Forecast for a city", &city, &["city"]);
    let alerts = tool("get_alerts", "Weather alerts", &city, &["city"]);
    for (version, tools) in [
        ("1.0.0", vec![forecast.clone()]),
        ("1.1.0", vec![forecast.clone(), alerts]),
        ("2.0.0", vec![forecast]),
    ] {
        let response = app.publish(&token, &weather(version, &tools)).await;
        assert!(
            response.status.is_success(),
            "publishing {version}: {}",
            response.text()
        );
    }
    for index in 0..MORE_WEATHER {
        let response = app
            .publish(
                &token,
                &manifest(&format!("io.github.acme/weather-{index:02}"), "0.1.0"),
            )
            .await;
        assert!(response.status.is_success(), "{}", response.text());
    }

    let signed = manifest(SIGNED, "1.0.0");
    let summary = json!({
        "mode": "key", "digest": "sha256:0123abcd", "predicateType": "https://mcp-reg.dev/provenance/v1",
        "identity": "key:feedbeef", "keyId": "feedbeef"
    });
    let provenance = StoredProvenance {
        summary: summary.to_string(),
        bundle: "{}".to_owned(),
    };
    let signed = Manifest::from_stored(signed.to_string()).expect("manifest");
    app.store
        .publish_gated(
            &signed,
            PublishExtras {
                provenance: Some(&provenance),
                review: None,
            },
            |_| GateDecision::Decided(Ok::<_, ()>(None)),
        )
        .await
        .expect("store")
        .expect("gate");

    let evil = json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": EVIL,
        "title": "<img src=x onerror=alert(1)>",
        "description": "<script>alert(1)</script> & \"quoted\"",
        "version": "1.0.0",
        "websiteUrl": "javascript:alert(2)",
        "repository": {"url": "javascript:alert(1)", "source": "github"},
        "packages": [{
            "registryType": "npm", "identifier": "<b>pkg</b>", "version": "1.0.0",
            "transport": {"type": "stdio"},
            "environmentVariables": [{"name": "X", "description": "<script>bad()</script>", "isRequired": true}]
        }]
    });
    let evil = Manifest::from_stored(evil.to_string()).expect("manifest");
    app.store.import(&[evil]).await.expect("import");
}
