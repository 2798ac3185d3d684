//! Comparing two 500-tool surfaces where every tenth tool changed (a widened type, an added
//! parameter, a new enum value, an edited description, a `$ref` refactor). Target: ≤ 20 ms.
//! Run with `cargo bench -p registry-schema --bench compat`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use registry_schema::ToolSurface;
use registry_schema::compat::check_surfaces;
use serde_json::{Value, json};

const TOOLS: usize = 500;

/// A tool with a realistic schema: nested object, array of objects, enums, bounds, output schema.
fn tool(index: usize, changed: bool) -> Value {
    let variant = index % 50;
    let mut input = json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 200, "description": "What to look for"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
            "sort": {"enum": ["asc", "desc"]},
            "filter": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "op": {"enum": ["eq", "ne", "lt", "gt"]},
                    "value": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]}
                },
                "required": ["field", "op"],
                "additionalProperties": false
            },
            "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}, "maxItems": 10}
        },
        "required": ["query"],
        "additionalProperties": false
    });
    let output = json!({
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/item"}},
            "total": {"type": "integer"}
        },
        "required": ["items"],
        "$defs": {"item": {"type": "object", "properties": {"id": {"type": "string"}, "score": {"type": "number"}}, "required": ["id"]}}
    });
    let mut description = format!("Tool number {index}: searches things.");
    if changed {
        match (index / 50) % 5 {
            0 => input["properties"]["limit"]["type"] = json!("number"),
            1 => input["properties"]["extra"] = json!({"type": "boolean"}),
            2 => input["properties"]["sort"]["enum"] = json!(["asc", "desc", "random"]),
            3 => description.push_str(" Now faster."),
            _ => {
                input["$defs"] = json!({"filter": input["properties"]["filter"].clone()});
                input["properties"]["filter"] = json!({"$ref": "#/$defs/filter"});
            }
        }
    }
    json!({
        "name": format!("tool_{index:03}_{variant}"),
        "description": description,
        "inputSchema": input,
        "outputSchema": output,
        "annotations": {"readOnlyHint": index.is_multiple_of(2)}
    })
}

fn surface(changed: bool) -> ToolSurface {
    let tools: Vec<Value> = (0..TOOLS)
        .map(|i| tool(i, changed && i.is_multiple_of(10)))
        .collect();
    serde_json::from_value(json!({
        "serverInfo": {"name": "bench", "version": "1.0.0"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {"listChanged": true}},
        "tools": tools,
    }))
    .expect("generated surface parses")
}

fn bench(c: &mut Criterion) {
    let old = surface(false);
    let new = surface(true);
    let report = check_surfaces(&old, &new);
    assert_eq!(
        report.findings.len(),
        TOOLS / 10,
        "one finding per changed tool"
    );

    let mut group = c.benchmark_group("compat-500-tools");
    group.bench_function("check_surfaces", |b| {
        b.iter(|| black_box(check_surfaces(black_box(&old), black_box(&new))));
    });
    group.bench_function("check_surfaces-identical", |b| {
        b.iter(|| black_box(check_surfaces(black_box(&old), black_box(&old))));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
