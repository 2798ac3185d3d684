//! What the handlers' annotations cannot say on their own, added to the generated OpenAPI document so it
//! states everything the server enforces: the server.json schema as the publish/validate body, parameter
//! ranges and patterns, and the statuses every route can answer through the shared middleware (timeouts,
//! rate limits, conditional GETs, database outages, oversized or non-JSON bodies).
//!
//! It works on the JSON form of the document: one table per concern, kept beside each other here.

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

/// The official server.json schema (2025-12-11) whose `definitions` become components.
const SERVER_SCHEMA: &str = include_str!("../../schema/schemas/server.schema.2025-12-11.json");

/// Pattern of a namespace (the part of a server name before `/`), as `registry_schema::name` checks it.
const NAMESPACE_PATTERN: &str = "^[a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9]$";
/// Pattern of a full server name.
const SERVER_NAME_PATTERN: &str = "^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$";
/// A key id: hex SHA-256 of the key's SPKI.
const KEY_ID_PATTERN: &str = "^[0-9a-f]{64}$";

/// Reads of registry data: cached, so they answer 304 to `If-None-Match`, and rate-limited per address.
const CACHED_READS: &[&str] = &[
    "list_servers",
    "list_versions",
    "find_version",
    "get_surface",
    "get_compat_report",
    "diff_versions",
    "get_provenance",
    "list_signing_keys",
    "get_key_log",
];

/// Routes behind the write limits (writes and the token exchanges).
const WRITE_LIMITED: &[&str] = &[
    "publish_version",
    "update_version_status",
    "update_server_status",
    "register_signing_key",
    "revoke_signing_key",
    "set_namespace_compat_policy",
    "clear_namespace_compat_policy",
    "set_server_compat_policy",
    "clear_server_compat_policy",
    "exchange_github_oidc_token",
    "exchange_github_access_token",
    "exchange_http_proof",
    "exchange_dns_proof",
];

/// Routes that never touch the database, so they cannot answer 503.
const WITHOUT_DATABASE: &[&str] = &["ping", "find_version_info", "validate_manifest"];

/// Routes whose body is parsed as JSON by the server (a body that is not JSON is a 400).
const JSON_BODIES: &[&str] = &[
    "publish_version",
    "update_version_status",
    "update_server_status",
    "register_signing_key",
    "set_namespace_compat_policy",
    "set_server_compat_policy",
    "exchange_github_oidc_token",
    "exchange_github_access_token",
    "exchange_http_proof",
    "exchange_dns_proof",
];

/// The document with the contract completed. Falls back to the document as generated if its JSON form
/// cannot be read back (which would be a bug in this module, caught by the snapshot test).
pub fn complete(spec: OpenApi) -> OpenApi {
    let Ok(mut value) = serde_json::to_value(&spec) else {
        return spec;
    };
    add_server_json_schemas(&mut value);
    if let Some(Value::Object(paths)) = value.get_mut("paths") {
        for item in paths.values_mut() {
            let Value::Object(item) = item else { continue };
            for operation in item.values_mut() {
                if let Value::Object(operation) = operation {
                    complete_operation(operation);
                }
            }
        }
    }
    serde_json::from_value(value).unwrap_or(spec)
}

/// `ServerDetail` and the definitions it uses, with `#/definitions/…` references pointed at components.
fn add_server_json_schemas(spec: &mut Value) {
    let Ok(schema) = serde_json::from_str::<Value>(
        &SERVER_SCHEMA.replace("\"#/definitions/", "\"#/components/schemas/"),
    ) else {
        return;
    };
    let Some(Value::Object(definitions)) = schema.get("definitions").cloned() else {
        return;
    };
    let schemas = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut);
    let Some(schemas) = schemas else { return };
    for (name, definition) in definitions {
        schemas.entry(name).or_insert(definition);
    }
    schemas.insert(
        "PublishEnvelope".to_owned(),
        json!({
            "type": "object",
            "description": "A server.json with what goes along with it: acknowledged findings, accepted breaks and a Sigstore bundle.",
            "required": ["server"],
            "properties": {
                "server": {"$ref": "#/components/schemas/ServerDetail"},
                "acknowledge": {
                    "type": "array",
                    "description": "Fingerprints (12 hex digits) of compatibility findings the publisher acknowledges.",
                    "items": {"type": "string", "pattern": "^[0-9a-fA-F]{12}$"}
                },
                "accept_breaking": {
                    "description": "Accept provable breaks the version number does not announce: `true` for all, or the fingerprints of the findings accepted.",
                    "oneOf": [
                        {"type": "boolean"},
                        {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-fA-F]{12}$"}}
                    ]
                },
                "bundle": {"type": ["object", "null"], "description": "A Sigstore bundle attesting the server.json."}
            }
        }),
    );
}

fn complete_operation(operation: &mut Map<String, Value>) {
    let id = operation
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let max_limit = if id == "list_audit_entries" { 500 } else { 100 };
    complete_parameters(operation, max_limit);
    match id.as_str() {
        "publish_version" => set_json_body(
            operation,
            &json!({"anyOf": [
                {"$ref": "#/components/schemas/ServerDetail"},
                {"$ref": "#/components/schemas/PublishEnvelope"}
            ]}),
        ),
        "validate_manifest" => {
            set_json_body(
                operation,
                &json!({"$ref": "#/components/schemas/ServerDetail"}),
            );
        }
        _ => {}
    }

    let has_body = operation.contains_key("requestBody");
    let has_parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|parameters| !parameters.is_empty());
    let mut extra: Vec<(&str, &str)> =
        vec![("408", "The request took longer than the request timeout")];
    if !matches!(id.as_str(), "ping" | "find_version_info") {
        extra.push((
            "500",
            "An unexpected failure; the body says nothing about its cause",
        ));
    }
    if !WITHOUT_DATABASE.contains(&id.as_str()) && id != "health" {
        extra.push((
            "503",
            "The database is unavailable or has no free connection; retry shortly",
        ));
    }
    if CACHED_READS.contains(&id.as_str()) {
        extra.push((
            "429",
            "Too many reads from this address; retry after `Retry-After` seconds",
        ));
    }
    if WRITE_LIMITED.contains(&id.as_str()) {
        extra.push(("429", "Too many writes; retry after `Retry-After` seconds"));
    }
    if has_body {
        extra.push(("413", "The body is larger than the configured limit"));
    }
    if JSON_BODIES.contains(&id.as_str()) {
        extra.push(("400", "The body is not JSON"));
    }
    let namespace_in_path = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|parameters| {
            parameters
                .iter()
                .any(|p| p["name"] == "namespace" && p["in"] == "path")
        });
    if namespace_in_path {
        extra.push(("400", "Not a namespace"));
    }
    if has_parameters {
        extra.push((
            "422",
            "A path or query parameter holds control characters, is not UTF-8, or is malformed",
        ));
    }
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else { return };
    for (status, description) in extra {
        responses
            .entry(status)
            .or_insert_with(|| problem_response(description));
    }
    if CACHED_READS.contains(&id.as_str()) {
        responses.entry("304").or_insert_with(|| {
            json!({"description": "Not modified: the `ETag` sent in `If-None-Match` still matches"})
        });
    }
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    })
}

fn set_json_body(operation: &mut Map<String, Value>, schema: &Value) {
    operation.insert(
        "requestBody".to_owned(),
        json!({
            "description": "server.json (the official schema, 2025-12-11)",
            "required": true,
            "content": {"application/json": {"schema": schema}}
        }),
    );
}

/// Ranges, formats and patterns of parameters, by name (patterns only where the value is a path segment).
fn complete_parameters(operation: &mut Map<String, Value>, max_limit: u32) {
    let Some(Value::Array(parameters)) = operation.get_mut("parameters") else {
        return;
    };
    for parameter in parameters {
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let in_path = parameter.get("in").and_then(Value::as_str) == Some("path");
        let Some(Value::Object(schema)) = parameter.get_mut("schema") else {
            continue;
        };
        match name.as_str() {
            "limit" => {
                schema.insert("minimum".to_owned(), json!(1));
                schema.insert("maximum".to_owned(), json!(max_limit));
            }
            // Empty means "not given", as upstream treats it.
            "updated_since" => {
                schema.insert(
                    "anyOf".to_owned(),
                    json!([{"format": "date-time"}, {"maxLength": 0}]),
                );
            }
            "namespace" if in_path => {
                schema.insert("pattern".to_owned(), json!(NAMESPACE_PATTERN));
            }
            "serverName" if in_path => {
                schema.insert("pattern".to_owned(), json!(SERVER_NAME_PATTERN));
            }
            "keyId" if in_path => {
                schema.insert("pattern".to_owned(), json!(KEY_ID_PATTERN));
            }
            "version" if in_path => {
                schema.insert("minLength".to_owned(), json!(1));
            }
            _ => {}
        }
    }
}
