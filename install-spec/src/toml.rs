//! Codex's `config.toml`, edited with `toml_edit` so comments and formatting outside our table survive.

use serde_json::{Map, Value};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table};

/// A parse error with a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

pub fn parse(text: &str) -> Result<DocumentMut, TomlError> {
    text.parse::<DocumentMut>().map_err(|err| {
        let start = err.span().map_or(0, |s| s.start).min(text.len());
        let mut cut = start;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let before = &text[..cut];
        TomlError {
            message: err.message().to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[before.rfind('\n').map_or(0, |i| i + 1)..]
                .chars()
                .count()
                + 1,
        }
    })
}

/// The table of servers (`mcp_servers`), or a description of why it is unusable.
fn servers_table<'a>(doc: &'a DocumentMut, root: &str) -> Result<Option<&'a Table>, String> {
    match doc.get(root) {
        None => Ok(None),
        Some(Item::Table(table)) => Ok(Some(table)),
        Some(_) => Err(format!("`{root}` is not a table")),
    }
}

/// The entry `<root>.<name>` as JSON, if present.
pub fn get(doc: &DocumentMut, root: &str, name: &str) -> Result<Option<Value>, String> {
    Ok(servers_table(doc, root)?
        .and_then(|t| t.get(name))
        .map(item_to_json))
}

/// Sets `<root>.<name>` to `entry` (a JSON object) as a `[root.name]` table.
pub fn set(doc: &mut DocumentMut, root: &str, name: &str, entry: &Value) -> Result<(), String> {
    servers_table(doc, root)?;
    let Value::Object(fields) = entry else {
        return Err("entry is not an object".to_owned());
    };
    if doc.get(root).is_none() {
        let mut table = Table::new();
        // No bare `[mcp_servers]` header: only `[mcp_servers.<name>]` appears.
        table.set_implicit(true);
        doc.insert(root, Item::Table(table));
    }
    let Some(Item::Table(servers)) = doc.get_mut(root) else {
        return Err(format!("`{root}` is not a table"));
    };
    let mut table = Table::new();
    for (key, value) in fields {
        table.insert(key, Item::Value(to_toml(value)));
    }
    match servers.get_mut(name) {
        // Replace in place so the entry keeps its position in the file.
        Some(Item::Table(existing)) => {
            let decor = existing.decor().clone();
            let position = existing.position();
            *existing = table;
            *existing.decor_mut() = decor;
            if let Some(position) = position {
                existing.set_position(Some(position));
            }
        }
        _ => {
            servers.insert(name, Item::Table(table));
        }
    }
    Ok(())
}

/// Removes `<root>.<name>`; `false` if it was not there.
pub fn remove(doc: &mut DocumentMut, root: &str, name: &str) -> Result<bool, String> {
    servers_table(doc, root)?;
    let Some(Item::Table(servers)) = doc.get_mut(root) else {
        return Ok(false);
    };
    Ok(servers.remove(name).is_some())
}

fn to_toml(value: &Value) -> toml_edit::Value {
    match value {
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => n
            .as_i64()
            .map(toml_edit::Value::from)
            .or_else(|| n.as_f64().map(toml_edit::Value::from))
            .unwrap_or_else(|| n.to_string().into()),
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(to_toml(item));
            }
            toml_edit::Value::Array(array)
        }
        Value::Object(map) => {
            let mut table = InlineTable::new();
            for (k, v) in map {
                table.insert(k, to_toml(v));
            }
            toml_edit::Value::InlineTable(table)
        }
        // TOML has no null; an absent member says the same.
        Value::Null => "".into(),
    }
}

/// A TOML item as JSON, for comparing entries regardless of layout.
pub fn item_to_json(item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(value) => value_to_json(value),
        Item::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.to_owned(), item_to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        Item::ArrayOfTables(tables) => Value::Array(
            tables
                .iter()
                .map(|t| item_to_json(&Item::Table(t.clone())))
                .collect(),
        ),
    }
}

fn value_to_json(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => Value::from(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), value_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn set_get_remove_keep_comments() {
        let text =
            "# top\nmodel = \"o3\" # inline\n\n[mcp_servers.mine] # user's own\ncommand = \"x\"\n";
        let mut doc = parse(text).unwrap();
        set(
            &mut doc,
            "mcp_servers",
            "w",
            &json!({"command": "npx", "args": ["-y", "w@1"], "env": {"A": "b"}}),
        )
        .unwrap();
        let out = doc.to_string();
        assert_eq!(
            out,
            "# top\nmodel = \"o3\" # inline\n\n[mcp_servers.mine] # user's own\ncommand = \"x\"\n\n\
             [mcp_servers.w]\ncommand = \"npx\"\nargs = [\"-y\", \"w@1\"]\nenv = { A = \"b\" }\n"
        );
        assert_eq!(
            get(&doc, "mcp_servers", "w").unwrap().unwrap()["env"]["A"],
            "b"
        );
        assert!(remove(&mut doc, "mcp_servers", "w").unwrap());
        assert_eq!(doc.to_string(), text);
        let err = parse("a = \n").unwrap_err();
        assert_eq!(err.line, 1);
        let mut doc = parse("mcp_servers = 1\n").unwrap();
        assert!(set(&mut doc, "mcp_servers", "w", &json!({})).is_err());
    }
}
