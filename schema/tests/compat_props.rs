//! Properties of the compatibility checker over generated surfaces and schemas.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use proptest::prelude::*;
use registry_schema::ToolSurface;
use registry_schema::compat::{Bump, Flag, check_surfaces};
use serde_json::{Map, Value, json};

/// A JSON Schema of moderate depth: scalars with bounds and enums, objects, arrays, unions.
fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        (
            proptest::option::of(1u32..50),
            proptest::option::of("[a-z]{1,4}")
        )
            .prop_map(|(max, pattern)| {
                let mut s = json!({"type": "string"});
                if let Some(max) = max {
                    s["maxLength"] = json!(max);
                }
                if let Some(pattern) = pattern {
                    s["pattern"] = json!(format!("^{pattern}$"));
                }
                s
            }),
        proptest::option::of(-5i64..5).prop_map(|min| {
            let mut s = json!({"type": "integer"});
            if let Some(min) = min {
                s["minimum"] = json!(min);
            }
            s
        }),
        Just(json!({"type": "number"})),
        Just(json!({"type": "boolean"})),
        proptest::collection::btree_set("[a-z]{1,3}", 1..4)
            .prop_map(|values| json!({"enum": values.into_iter().collect::<Vec<_>>()})),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            object(inner.clone()),
            inner
                .clone()
                .prop_map(|items| json!({"type": "array", "items": items})),
            proptest::collection::vec(inner, 2..3).prop_map(|branches| json!({"anyOf": branches})),
        ]
    })
}

fn object(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    (
        proptest::collection::btree_map("[a-z]{1,5}", (inner, any::<bool>()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(props, closed)| {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for (name, (schema, is_required)) in props {
                if is_required {
                    required.push(Value::String(name.clone()));
                }
                properties.insert(name, schema);
            }
            let mut s = json!({"type": "object", "properties": properties});
            if !required.is_empty() {
                s["required"] = Value::Array(required);
            }
            if closed {
                s["additionalProperties"] = json!(false);
            }
            s
        })
}

fn tool(name: &str, input: &Value) -> Value {
    json!({"name": name, "description": format!("{name} tool"), "inputSchema": input})
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "called with freshly built vectors"
)]
fn surface(tools: Vec<Value>) -> ToolSurface {
    serde_json::from_value(json!({
        "serverInfo": {"name": "p", "version": "1"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": tools,
    }))
    .unwrap()
}

/// Tools named `t0..tN` whose input is an object with generated properties.
fn tools() -> impl Strategy<Value = Vec<Value>> {
    proptest::collection::vec(object(schema()), 1..6).prop_map(|inputs| {
        inputs
            .iter()
            .enumerate()
            .map(|(i, input)| tool(&format!("t{i}"), input))
            .collect()
    })
}

/// A change that accepts every value the old schema accepted, and more (the last two only under
/// the declared-properties assumption).
#[derive(Debug, Clone)]
enum Widening {
    IntegerToNumber,
    DropMaxLength,
    AddEnumValue,
    MakeOptional,
    AddOptionalParameter,
    Open,
}

fn widen(param: &Value, how: &Widening) -> Option<Value> {
    let mut new = param.clone();
    match how {
        Widening::IntegerToNumber if param["type"] == "integer" => {
            new["type"] = json!("number");
        }
        Widening::DropMaxLength if param.get("maxLength").is_some() => {
            new.as_object_mut()?.remove("maxLength");
        }
        Widening::AddEnumValue if param.get("enum").is_some() => {
            new["enum"].as_array_mut()?.push(json!("ZZZ"));
        }
        _ => return None,
    }
    Some(new)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_surface_compared_with_itself_finds_nothing(tools in tools()) {
        let a = surface(tools.clone());
        let b = surface(tools);
        let report = check_surfaces(&a, &b);
        prop_assert!(report.findings.is_empty(), "{:#?}", report.findings);
        prop_assert_eq!(report.required_bump, Bump::None);
    }

    #[test]
    fn adding_a_tool_is_never_major(tools in tools(), input in object(schema())) {
        let old = surface(tools.clone());
        let mut with_new = tools;
        with_new.push(tool("brand-new-tool", &input));
        let report = check_surfaces(&old, &surface(with_new));
        prop_assert_eq!(report.required_bump, Bump::Minor, "{:#?}", report.findings);
        prop_assert!(report.findings.iter().any(|f| f.id == "tool-added"));
    }

    #[test]
    fn removing_a_tool_is_always_major(tools in tools(), index in any::<prop::sample::Index>()) {
        let old = surface(tools.clone());
        let mut fewer = tools;
        let removed = fewer.remove(index.index(fewer.len()));
        let report = check_surfaces(&old, &surface(fewer));
        prop_assert_eq!(report.required_bump, Bump::Major);
        let name = removed["name"].as_str().unwrap();
        prop_assert!(report.findings.iter().any(|f| f.name == name && f.level == Bump::Major));
    }

    #[test]
    fn reversing_a_widening_input_change_narrows(
        param in schema(),
        required in any::<bool>(),
        closed in any::<bool>(),
        how in prop_oneof![
            Just(Widening::IntegerToNumber),
            Just(Widening::DropMaxLength),
            Just(Widening::AddEnumValue),
            Just(Widening::MakeOptional),
            Just(Widening::AddOptionalParameter),
            Just(Widening::Open),
        ],
    ) {
        let build = |param: &Value, required: bool, closed: bool, extra: bool| {
            let mut input = json!({"type": "object", "properties": {"p": param}});
            if required {
                input["required"] = json!(["p"]);
            }
            if closed {
                input["additionalProperties"] = json!(false);
            }
            if extra {
                input["properties"]["extra"] = json!({"type": "string"});
            }
            surface(vec![tool("t", &input)])
        };
        let old = build(&param, required, closed, false);
        let new = match how {
            Widening::MakeOptional if required => build(&param, false, closed, false),
            Widening::AddOptionalParameter => build(&param, required, closed, true),
            Widening::Open if closed => build(&param, required, false, false),
            ref other => match widen(&param, other) {
                Some(wider) => build(&wider, required, closed, false),
                None => return Ok(()),
            },
        };
        let forward = check_surfaces(&old, &new);
        prop_assert!(!forward.findings.is_empty());
        prop_assert!(forward.required_bump <= Bump::Minor, "{:#?}", forward.findings);
        let backward = check_surfaces(&new, &old);
        if matches!(how, Widening::AddOptionalParameter | Widening::Open) {
            // Under the declared-properties assumption, removing an optional parameter from an
            // open object or closing it is a narrowing graded minor with a warning.
            prop_assert!(
                backward.required_bump == Bump::Major
                    || backward.findings.iter().any(|f| f.has_flag(Flag::Warning)),
                "{:#?}",
                backward.findings
            );
        } else {
            prop_assert_eq!(backward.required_bump, Bump::Major, "{:#?}", backward.findings);
        }
    }

    #[test]
    fn arbitrary_json_schemas_never_panic(a in schema(), b in schema()) {
        let old = surface(vec![tool("t", &json!({"type": "object", "properties": {"p": a}}))]);
        let new = surface(vec![tool("t", &json!({"type": "object", "properties": {"p": b}}))]);
        let report = check_surfaces(&old, &new);
        // Fingerprints are unique per finding.
        let mut prints: Vec<&str> = report.findings.iter().map(|f| f.fingerprint.as_str()).collect();
        prints.sort_unstable();
        let len = prints.len();
        prints.dedup();
        prop_assert_eq!(prints.len(), len);
    }
}
