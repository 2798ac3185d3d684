//! Keyword readers shared by the rules: type bit sets, nullable folding, enum, required, numbers.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::Value;

use super::{MAX_EXACT, Obj};

/// `T | null` written as a two-branch `anyOf`/`oneOf` with a `{type: "null"}` branch, folded into
/// `T` with `null` added to its types, so all three spellings of nullability compare equal.
pub(super) fn unwrap_nullable(map: &Obj) -> Cow<'_, Obj> {
    for keyword in ["anyOf", "oneOf"] {
        let Some(branches) = map.get(keyword).and_then(Value::as_array) else {
            continue;
        };
        if branches.len() != 2 {
            continue;
        }
        let is_null = |v: &Value| {
            v.as_object()
                .is_some_and(|o| o.len() == 1 && types_of(o) == Some(NULL))
        };
        let other = match (is_null(&branches[0]), is_null(&branches[1])) {
            (true, false) => &branches[1],
            (false, true) => &branches[0],
            _ => continue,
        };
        let Some(other) = other.as_object() else {
            continue;
        };
        let Some(types) = types_of(other) else {
            continue;
        };
        if other.contains_key("$ref") {
            continue;
        }
        let mut merged = map.clone();
        merged.remove(keyword);
        for (key, value) in other {
            merged.entry(key.clone()).or_insert_with(|| value.clone());
        }
        merged.insert("type".to_owned(), types_value(types | NULL));
        return Cow::Owned(merged);
    }
    Cow::Borrowed(map)
}

const NULL: u8 = 1;
const BOOLEAN: u8 = 2;
const OBJECT: u8 = 4;
const ARRAY: u8 = 8;
const NUMBER: u8 = 16;
const STRING: u8 = 32;
const INTEGER: u8 = 64;
const TYPE_NAMES: [(u8, &str); 7] = [
    (NULL, "null"),
    (BOOLEAN, "boolean"),
    (OBJECT, "object"),
    (ARRAY, "array"),
    (NUMBER, "number"),
    (STRING, "string"),
    (INTEGER, "integer"),
];

/// The `type` keyword as a bit set; `None` when absent or unreadable (no constraint).
pub(super) fn types_of(map: &Obj) -> Option<u8> {
    let bit = |name: &str| TYPE_NAMES.iter().find(|(_, n)| *n == name).map(|(b, _)| *b);
    match map.get("type")? {
        Value::String(name) => bit(name),
        Value::Array(names) => names
            .iter()
            .map(|name| name.as_str().and_then(bit))
            .try_fold(0u8, |acc, b| b.map(|b| acc | b)),
        _ => None,
    }
}

/// Whether every value of types `b` is a value of types `a` (integer ⊂ number).
pub(super) fn covers(a: u8, b: u8) -> bool {
    let a = expand(a);
    b & !a == 0
}

/// `number` includes `integer`.
pub(super) fn expand(types: u8) -> u8 {
    if types & NUMBER != 0 {
        types | INTEGER
    } else {
        types
    }
}

pub(super) fn types_value(types: u8) -> Value {
    let names: Vec<Value> = TYPE_NAMES
        .iter()
        .filter(|(bit, _)| types & bit != 0)
        .map(|(_, name)| Value::String((*name).to_owned()))
        .collect();
    if names.len() == 1 {
        names.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(names)
    }
}

pub(super) fn describe_types(types: Option<u8>) -> String {
    match types {
        None => "any".to_owned(),
        Some(0) => "nothing".to_owned(),
        Some(bits) => TYPE_NAMES
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join("|"),
    }
}

/// `enum` values and whether the enum is declared extensible (`x-extensible-enum: true`, or the
/// OpenAPI-style `x-extensible-enum: [...]` that lists values in place of `enum`).
pub(super) fn enum_of(map: &Obj) -> (Option<&[Value]>, bool) {
    match (
        map.get("enum").and_then(Value::as_array),
        map.get("x-extensible-enum"),
    ) {
        (Some(values), ext) => (
            Some(values),
            ext.is_some_and(|e| e.as_bool() == Some(true) || e.is_array()),
        ),
        (None, Some(Value::Array(values))) => (Some(values), true),
        (None, _) => (None, false),
    }
}

pub(super) fn required_of(map: &Obj) -> BTreeSet<&str> {
    map.get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[derive(Debug, PartialEq)]
pub(super) enum Additional<'v> {
    /// Absent, `true` or `{}`.
    Open,
    /// `false`.
    Closed,
    /// A value schema: the object is a map.
    Schema(&'v Value),
}

pub(super) fn additional(map: &Obj) -> Additional<'_> {
    match map.get("additionalProperties") {
        None | Some(Value::Bool(true)) => Additional::Open,
        Some(Value::Bool(false)) => Additional::Closed,
        Some(Value::Object(o)) if o.is_empty() => Additional::Open,
        Some(other) => Additional::Schema(other),
    }
}

pub(super) fn closed_unevaluated(map: &Obj) -> bool {
    map.get("unevaluatedProperties") == Some(&Value::Bool(false))
}

/// A bound as `f64`: `None` when absent, `Some(None)` when not an exactly comparable number.
pub(super) fn number(value: &Value) -> Option<f64> {
    value.as_f64().filter(|x| x.abs() <= MAX_EXACT)
}

pub(super) fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "unset".to_owned(), ToString::to_string)
}

pub(super) fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
