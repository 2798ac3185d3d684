//! JSON Schemas (tool inputs and outputs) rendered readably: each property with its type, whether it
//! is required, its description, allowed values and default, nested objects indented; the raw schema
//! stays one click away.

use maud::{Markup, html};
use serde_json::{Map, Value};

/// Nesting shown before the rest is left to the raw schema.
const MAX_DEPTH: usize = 4;

/// A schema as a property list (or its type, when it has no properties), then the raw JSON.
pub fn schema(schema: &Map<String, Value>, label: &str) -> Markup {
    let raw = serde_json::to_string_pretty(schema).unwrap_or_default();
    html! {
        div.schema {
            (object_body(schema, 0))
            details.raw {
                summary { "Raw " (label) " schema" }
                pre { code { (raw) } }
            }
        }
    }
}

fn object_body(schema: &Map<String, Value>, depth: usize) -> Markup {
    let properties = schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match properties {
        Some(properties) if !properties.is_empty() => html! {
            ul.props {
                @for (name, property) in properties {
                    (property_item(name, property, required.contains(&name.as_str()), depth))
                }
            }
        },
        _ => html! { p.schema-type { "Type: " code { (type_label(schema)) } } },
    }
}

fn property_item(name: &str, property: &Value, required: bool, depth: usize) -> Markup {
    let Some(property) = property.as_object() else {
        return html! { li { code.prop { (name) } " " span.type { "any" } } };
    };
    let description = property.get("description").and_then(Value::as_str);
    let default = property.get("default");
    let choices = property.get("enum").and_then(Value::as_array);
    let nested = nested_object(property);
    html! {
        li {
            code.prop { (name) }
            " "
            span.type { (type_label(property)) }
            @if required { " " span.req { "required" } }
            @if let Some(description) = description { " — " span.desc { (description) } }
            @if let Some(choices) = choices {
                span.meta { " One of: " @for (index, choice) in choices.iter().enumerate() {
                    @if index > 0 { ", " } code { (compact(choice)) }
                } }
            }
            @if let Some(default) = default { span.meta { " Default: " code { (compact(default)) } } }
            @if let Some(nested) = nested {
                @if depth + 1 < MAX_DEPTH { (object_body(nested, depth + 1)) }
            }
        }
    }
}

/// The object whose properties a property holds: itself, or its array items.
fn nested_object(property: &Map<String, Value>) -> Option<&Map<String, Value>> {
    if property.get("properties").is_some() {
        return Some(property);
    }
    property
        .get("items")
        .and_then(Value::as_object)
        .filter(|items| items.get("properties").is_some())
}

/// `string`, `integer | null`, `array of string`, `Address` (a `$ref`), `any of: …`.
pub fn type_label(schema: &Map<String, Value>) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
            let labels: Vec<String> = options
                .iter()
                .filter_map(Value::as_object)
                .map(type_label)
                .collect();
            return labels.join(" | ");
        }
    }
    let base = match schema.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ if schema.contains_key("properties") => "object".to_owned(),
        _ if schema.contains_key("const") => {
            return format!("= {}", compact(&schema["const"]));
        }
        _ => "any".to_owned(),
    };
    if base == "array"
        && let Some(items) = schema.get("items").and_then(Value::as_object)
    {
        return format!("array of {}", type_label(items));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{base} ({format})"),
        None => base,
    }
}

/// A value on one line, shortened.
fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_read_like_prose() {
        let label = |value: Value| type_label(value.as_object().expect("object"));
        assert_eq!(label(json!({"type": "string"})), "string");
        assert_eq!(
            label(json!({"type": ["integer", "null"]})),
            "integer | null"
        );
        assert_eq!(
            label(json!({"type": "array", "items": {"type": "string"}})),
            "array of string"
        );
        assert_eq!(label(json!({"$ref": "#/$defs/Address"})), "Address");
        assert_eq!(
            label(json!({"anyOf": [{"type": "string"}, {"type": "null"}]})),
            "string | null"
        );
        assert_eq!(
            label(json!({"type": "string", "format": "date"})),
            "string (date)"
        );
    }

    #[test]
    fn properties_are_listed_and_escaped() {
        let schema = json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "<b>City</b>"}},
            "required": ["city"]
        });
        let html = super::schema(schema.as_object().expect("object"), "input").into_string();
        assert!(html.contains("required"), "{html}");
        assert!(html.contains("&lt;b&gt;City&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }
}
