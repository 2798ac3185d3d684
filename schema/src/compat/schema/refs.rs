//! Local `$ref` resolution, with sibling keywords merged over the target.

use std::borrow::Cow;

use serde_json::Value;

use super::{MAX_REF_HOPS, Obj, Resolved};

/// Resolves `$ref` chains (local only) and merges sibling keywords over the target.
pub(super) fn resolve<'v>(root: &'v Value, node: &'v Value) -> Result<Resolved<'v>, String> {
    let mut current: Cow<'v, Obj> = match node {
        Value::Object(map) => Cow::Borrowed(map),
        Value::Bool(true) => Cow::Owned(Obj::new()),
        Value::Bool(false) => {
            let mut never = Obj::new();
            never.insert("type".to_owned(), Value::Array(Vec::new()));
            Cow::Owned(never)
        }
        _ => return Err("subschema is neither an object nor a boolean".to_owned()),
    };
    let mut target = None;
    let mut seen: Vec<String> = Vec::new();
    let has_ref = current.contains_key("$ref");
    while let Some(reference) = current.get("$ref") {
        let Some(reference) = reference.as_str() else {
            return Err("`$ref` is not a string".to_owned());
        };
        if seen.len() >= MAX_REF_HOPS || seen.iter().any(|r| r == reference) {
            return Err(format!("cyclic `$ref` chain through `{reference}`"));
        }
        seen.push(reference.to_owned());
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(format!(
                "non-local `$ref` `{reference}` is never dereferenced"
            ));
        };
        if !fragment.is_empty() && !fragment.starts_with('/') {
            return Err(format!("anchor `$ref` `{reference}` is not resolved"));
        }
        let fragment = percent_decode(fragment);
        let found = root
            .pointer(&fragment)
            .ok_or_else(|| format!("`$ref` `{reference}` points at nothing"))?;
        let mut merged: Obj = match found {
            Value::Object(map) => map.clone(),
            Value::Bool(true) => Obj::new(),
            Value::Bool(false) => {
                let mut never = Obj::new();
                never.insert("type".to_owned(), Value::Array(Vec::new()));
                never
            }
            _ => return Err(format!("`$ref` `{reference}` does not point at a schema")),
        };
        // Sibling keywords of `$ref` apply too (2020-12); the target's own `$ref` continues the
        // chain.
        for (key, value) in current.iter() {
            if key != "$ref" && key != "$defs" && key != "definitions" {
                merged.insert(key.clone(), value.clone());
            }
        }
        target = Some(fragment.clone());
        current = Cow::Owned(merged);
    }
    Ok(Resolved {
        map: current,
        target,
        has_ref,
    })
}

/// Decodes `%xx` escapes in a URI fragment (JSON Pointer tokens may be percent-encoded in `$ref`).
fn percent_decode(fragment: &str) -> String {
    if !fragment.contains('%') {
        return fragment.to_owned();
    }
    percent_encoding::percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned()
}
