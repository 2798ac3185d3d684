//! Writing an entry as block YAML, every string double-quoted.

use serde_json::{Map, Value};

use crate::hosts::Layout;

/// A mapping key: plain when unambiguous, else double-quoted.
pub(super) fn key_text(key: &str) -> String {
    let plain = key
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// A scalar or empty collection on one line; strings always double-quoted (JSON escapes).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => false,
    }
}

fn emit_map(out: &mut String, map: &Map<String, Value>, indent: usize, eol: &str) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key_text(key));
        out.push(':');
        if is_block(value) {
            out.push_str(eol);
            emit_block(out, value, indent + 2, eol);
        } else {
            out.push(' ');
            out.push_str(&scalar_text(value));
            out.push_str(eol);
        }
    }
}

fn emit_block(out: &mut String, value: &Value, indent: usize, eol: &str) {
    match value {
        Value::Object(map) => emit_map(out, map, indent, eol),
        Value::Array(items) => {
            for item in items {
                emit_seq_item(out, item, indent, eol);
            }
        }
        other => {
            out.push_str(&" ".repeat(indent));
            out.push_str(&scalar_text(other));
            out.push_str(eol);
        }
    }
}

/// `- value` at `indent`; a non-empty map starts on the dash line (`- name: "x"`).
fn emit_seq_item(out: &mut String, item: &Value, indent: usize, eol: &str) {
    match item {
        Value::Object(map) if !map.is_empty() => {
            let mut inner = String::new();
            emit_map(&mut inner, map, indent + 2, eol);
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
            out.push_str(&inner[indent + 2..]);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(&" ".repeat(indent));
            out.push('-');
            out.push_str(eol);
            emit_block(out, item, indent + 2, eol);
        }
        other => {
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
            out.push_str(&scalar_text(other));
            out.push_str(eol);
        }
    }
}

/// The item for `name` as YAML lines at `indent`.
pub(super) fn render_item(
    layout: Layout,
    name: &str,
    entry: &Value,
    indent: usize,
    eol: &str,
) -> String {
    let mut out = String::new();
    match layout {
        Layout::List { .. } => emit_seq_item(&mut out, entry, indent, eol),
        Layout::Map => {
            let mut map = Map::new();
            map.insert(name.to_owned(), entry.clone());
            emit_map(&mut out, &map, indent, eol);
        }
    }
    out
}
