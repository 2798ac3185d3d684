//! A capture in which a list method answered a JSON-RPC error is valid and means "not supported":
//! the typed list is `None`, the error is kept (and round-trips), and every consumer (compat,
//! publish validation) accepts it.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly; that is what a test should do.

use registry_schema::compat::{self, Side};
use registry_schema::{Policy, ToolSurface, validate};
use serde_json::{Value, json};

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/conformance/real-tools/server-everything@2026.8.31.json"
);

fn capture() -> Value {
    serde_json::from_slice(&std::fs::read(CAPTURE).unwrap()).unwrap()
}

#[test]
fn method_not_found_means_not_supported_and_round_trips() {
    let mut value = capture();
    let error = json!({"code": -32601, "message": "Method not found", "data": {"method": "resources/templates/list"}});
    value["resourceTemplates"] = error.clone();
    let surface: ToolSurface = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(surface.resource_templates, None);
    assert!(surface.tools.is_some());
    assert_eq!(surface.list_error("resourceTemplates"), error.as_object());
    assert_eq!(surface.list_error("tools"), None);
    assert_eq!(surface.to_value(), value);
    assert!(surface.digest().is_ok());
}

#[test]
fn every_list_and_a_whole_error_response_are_accepted() {
    for key in ["tools", "prompts", "resourceTemplates", "resources"] {
        let mut value = capture();
        value[key] = json!({"code": -32603, "message": "Internal error"});
        let surface = ToolSurface::from_json(value.to_string().as_bytes()).unwrap();
        assert!(surface.list_error(key).is_some(), "{key}");
    }
    let mut value = capture();
    value["prompts"] = json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32601, "message": "Method not found"}});
    let surface = ToolSurface::from_json(value.to_string().as_bytes()).unwrap();
    assert_eq!(surface.prompts, None);
    assert_eq!(surface.list_error("prompts").unwrap()["code"], -32601);
}

#[test]
fn objects_that_are_not_errors_are_still_refused() {
    for bad in [
        json!({"code": "x", "message": "Method not found"}),
        json!({"code": -32601}),
        json!({"oops": true}),
        json!({"result": {"tools": []}, "error": {"code": 1, "message": "m"}}),
        json!("tools"),
    ] {
        let mut value = capture();
        value["tools"] = bad.clone();
        let err = ToolSurface::from_json(value.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("tools"), "{bad}: {err}");
    }
}

#[test]
fn compat_and_publish_validation_accept_the_capture() {
    let mut errored = capture();
    errored["resourceTemplates"] = json!({"code": -32601, "message": "Method not found"});
    let errored: ToolSurface = serde_json::from_value(errored).unwrap();
    let listed: ToolSurface = serde_json::from_value(capture()).unwrap();
    assert!(
        compat::check_surfaces(&errored, &errored)
            .findings
            .is_empty()
    );
    let removed = compat::check(Side::surface(&listed), Side::surface(&errored));
    assert!(
        removed
            .findings
            .iter()
            .any(|finding| finding.id.contains("template")),
        "{removed:?}"
    );
    let manifest = json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.github.acme/everything",
        "description": "Everything server",
        "version": "1.0.0",
        "packages": [{"registryType": "npm", "identifier": "@acme/everything", "version": "1.0.0", "transport": {"type": "stdio"}}],
        "_meta": {"dev.mcp-reg/surface": errored.to_value()}
    });
    let (_, report) = validate::validate_bytes(manifest.to_string().as_bytes(), &Policy::strict());
    assert!(
        report
            .issues
            .iter()
            .all(|issue| issue.rule != "meta-surface"),
        "{:?}",
        report.issues
    );
}
