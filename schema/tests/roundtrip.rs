//! Property tests: a manifest survives parse → typed view → JSON unchanged, the exact bytes are kept,
//! and the canonical digest ignores formatting and member order.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use proptest::prelude::*;
use registry_schema::{Manifest, Policy};
use serde_json::{Map, Value, json};

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{1,8}"
}

fn text() -> impl Strategy<Value = String> {
    // Printable text including quotes, backslashes and non-ASCII, as descriptions really are.
    "[ -~éü€😀\"\\\\]{1,60}".prop_filter("not blank", |s| !s.trim().is_empty())
}

/// Values for unknown members: anything JSON (numbers kept within ±2^53 so digests are defined).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-9_007_199_254_740_992_i64..=9_007_199_254_740_992).prop_map(|n| json!(n)),
        (-1.0e9_f64..1.0e9).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(ident(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn extras() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x-[a-z]{1,6}", any_json(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn argument() -> impl Strategy<Value = Value> {
    prop_oneof![
        (ident(), proptest::option::of(text()), any::<bool>()).prop_map(|(hint, desc, rep)| {
            let mut a = json!({"type": "positional", "valueHint": hint, "isRepeated": rep});
            if let Some(desc) = desc {
                a["description"] = json!(desc);
            }
            a
        }),
        (ident(), ident(), any::<bool>()).prop_map(|(name, value, secret)| {
            json!({"type": "named", "name": format!("--{name}"), "value": value, "isSecret": secret})
        }),
    ]
}

fn package() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("npm"), Just("pypi"), Just("nuget"), Just("cargo")],
        ident(),
        (0u32..20, 0u32..20, 0u32..20),
        prop::collection::vec(argument(), 0..3),
        prop::collection::vec(ident().prop_map(|n| n.to_uppercase()), 0..3),
        extras(),
    )
        .prop_map(|(kind, id, (a, b, c), args, env, extra)| {
            let mut p = json!({
                "registryType": kind,
                "identifier": id,
                "version": format!("{a}.{b}.{c}"),
                "transport": {"type": "stdio"},
            });
            if !args.is_empty() {
                p["packageArguments"] = Value::Array(args);
            }
            if !env.is_empty() {
                p["environmentVariables"] = env
                    .into_iter()
                    .map(|name| json!({"name": name, "isRequired": true}))
                    .collect();
            }
            p.as_object_mut().unwrap().extend(extra);
            p
        })
}

fn manifest() -> impl Strategy<Value = Value> {
    (
        (ident(), ident()),
        text(),
        (0u32..50, 0u32..50, 0u32..50, proptest::option::of("[a-z]{1,5}")),
        proptest::option::of(text()),
        prop::collection::vec(package(), 0..3),
        proptest::option::of(ident()),
        proptest::option::of(prop::collection::btree_map("[a-z.]{3,10}/[a-z]{2,6}", any_json(), 1..3)),
        extras(),
    )
        .prop_map(|((ns, name), description, (a, b, c, pre), title, packages, remote, meta, extra)| {
            let description: String = description.chars().take(100).collect();
            let version = match pre {
                Some(pre) => format!("{a}.{b}.{c}-{pre}"),
                None => format!("{a}.{b}.{c}"),
            };
            let mut m = json!({
                "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
                "name": format!("io.github.{ns}/{name}"),
                "description": description,
                "version": version,
            });
            if let Some(title) = title {
                m["title"] = json!(title.chars().take(100).collect::<String>());
            }
            if !packages.is_empty() {
                m["packages"] = Value::Array(packages);
            }
            if let Some(host) = remote {
                m["remotes"] = json!([{
                    "type": "streamable-http",
                    "url": format!("https://{host}.example.com/{{tenant}}/mcp"),
                    "variables": {"tenant": {"description": "Tenant id", "isRequired": true}},
                    "headers": [{"name": "Authorization", "isSecret": true}]
                }]);
            }
            if let Some(meta) = meta {
                m["_meta"] = Value::Object(meta.into_iter().collect());
            }
            m.as_object_mut().unwrap().extend(extra);
            m
        })
}

/// The same members in reverse order, recursively.
fn reversed(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reversed(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn typed_view_round_trips_losslessly(value in manifest(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let parsed = Manifest::parse(text.as_bytes(), &Policy::lenient())
            .unwrap_or_else(|err| panic!("{err}\n{text}"));
        prop_assert_eq!(parsed.raw(), text.as_str());
        prop_assert_eq!(serde_json::to_value(parsed.server()).unwrap(), value.clone());
        // Member order is kept by the raw text (the typed view orders known fields its own way).
        prop_assert_eq!(parsed.to_value().unwrap(), value.clone());

        let stored = Manifest::from_stored(parsed.raw()).unwrap();
        prop_assert_eq!(stored.server(), parsed.server());
    }

    #[test]
    fn digest_ignores_formatting_and_member_order(value in manifest()) {
        let compact = Manifest::parse(serde_json::to_string(&value).unwrap().as_bytes(), &Policy::lenient()).unwrap();
        let shuffled_text = serde_json::to_string_pretty(&reversed(&value)).unwrap();
        let shuffled = Manifest::parse(shuffled_text.as_bytes(), &Policy::lenient()).unwrap();
        prop_assert_eq!(compact.digest().unwrap(), shuffled.digest().unwrap());
        prop_assert_eq!(compact.canonical_bytes().unwrap(), shuffled.canonical_bytes().unwrap());
    }
}

#[test]
fn different_content_gives_a_different_digest() {
    let a = Manifest::parse(
        br#"{"name":"io.x/ab","description":"d","version":"1.0.0"}"#,
        &Policy::lenient(),
    )
    .unwrap();
    let b = Manifest::parse(
        br#"{"name":"io.x/ab","description":"d","version":"1.0.1"}"#,
        &Policy::lenient(),
    )
    .unwrap();
    assert_ne!(a.digest().unwrap(), b.digest().unwrap());
}

#[test]
fn huge_numbers_in_unknown_fields_are_rejected_before_digesting() {
    let m = Manifest::parse(
        br#"{"name":"io.x/ab","description":"d","version":"1.0.0","x-count":18446744073709551615}"#,
        &Policy::lenient(),
    )
    .unwrap();
    let err = m.digest().unwrap_err().to_string();
    assert!(err.contains("/x-count"), "{err}");
}
