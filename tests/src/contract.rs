//! Every response the API tests receive is checked against the server's own OpenAPI document: the status
//! must be documented for that route and method, and a JSON body must match the documented schema. So the
//! document cannot drift from what the server does without a test failing.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// The document, as served at `/openapi.json`.
static SPEC: LazyLock<Value> = LazyLock::new(|| {
    serde_json::to_value(registry_server::openapi()).expect("the OpenAPI document is JSON")
});

/// Compiled response schemas, by `(path template, method, status, content type)`.
type Validators = HashMap<(String, String, String, String), Arc<jsonschema::Validator>>;
static VALIDATORS: LazyLock<Mutex<Validators>> = LazyLock::new(Mutex::default);

/// Panics with a clear message when the response contradicts the document. Requests outside the
/// versioned API (`/openapi.json`, `/metrics`, unknown paths), CORS preflights and 405s are not
/// described by the document and are skipped.
pub fn check(
    method: &Method,
    uri: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) {
    if method == Method::OPTIONS || status == StatusCode::METHOD_NOT_ALLOWED {
        return;
    }
    let path = uri.split('?').next().unwrap_or_default();
    let path = match path.strip_prefix("/v0/") {
        Some(rest) => format!("/v0.1/{rest}"),
        None => path.to_owned(),
    };
    if !path.starts_with("/v0.1/") {
        return;
    }
    let Some(template) = template_of(&path) else {
        return;
    };
    let method_key = method.as_str().to_ascii_lowercase();
    let Some(operation) = SPEC["paths"][&template].get(&method_key) else {
        return;
    };
    let status_key = status.as_u16().to_string();
    let documented = operation["responses"]
        .get(&status_key)
        .or_else(|| operation["responses"].get("default"))
        .unwrap_or_else(|| {
            panic!(
                "{method} {template} answered {status}, which its OpenAPI operation does not document \
                 (documented: {:?}); body: {}",
                operation["responses"]
                    .as_object()
                    .map(|r| r.keys().collect::<Vec<_>>()),
                String::from_utf8_lossy(body)
            )
        });
    let Some(content) = documented.get("content").and_then(Value::as_object) else {
        return;
    };
    let media = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let Some(described) = content.get(&media) else {
        panic!(
            "{method} {template} {status}: content type `{media}` is not documented ({:?})",
            content.keys().collect::<Vec<_>>()
        );
    };
    if !media.ends_with("json") {
        return;
    }
    let Some(schema) = described.get("schema") else {
        return;
    };
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|err| {
        panic!(
            "{method} {template} {status}: body is not JSON ({err}): {}",
            String::from_utf8_lossy(body)
        )
    });
    let key = (template.clone(), method_key, status_key, media);
    let validator = {
        let mut validators = VALIDATORS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            validators
                .entry(key)
                .or_insert_with(|| Arc::new(compile(schema))),
        )
    };
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .take(5)
        .map(|err| format!("{} at {}", err, err.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status}: the body does not match the documented schema:\n  {}\nbody: {value}",
        errors.join("\n  ")
    );
}

/// A validator for one response schema, with the document's components beside it so `$ref`s resolve.
fn compile(schema: &Value) -> jsonschema::Validator {
    let document = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": SPEC["components"].clone(),
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&document)
        .unwrap_or_else(|err| panic!("the documented schema does not compile: {err}: {schema}"))
}

/// The document's path template that `path` (still percent-encoded) matches, preferring the template
/// with the most literal segments.
fn template_of(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    SPEC["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literals = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literals += 1;
                } else {
                    return None;
                }
            }
            Some((literals, template.clone()))
        })
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, template)| template)
}
