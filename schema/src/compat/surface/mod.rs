//! Tools, prompts, resources, templates, capabilities and instructions (§3.1, 3.2, 3.5–3.7).

mod prompts;
mod resources;
mod server;
mod tools;

use std::collections::BTreeMap;

use serde_json::Value;

use self::prompts::prompts;
use self::resources::{resources, templates};
use self::server::{capabilities, server};
use self::tools::tools;
use super::{Bump, Direction, Finding, Flag, Sink, SurfaceKind, child};
use crate::tools::{JsonObject, ToolSurface};

pub(super) fn compare(old: &ToolSurface, new: &ToolSurface, sink: &mut Sink) {
    tools(
        old.tools.as_deref().unwrap_or_default(),
        new.tools.as_deref().unwrap_or_default(),
        sink,
    );
    prompts(
        old.prompts.as_deref().unwrap_or_default(),
        new.prompts.as_deref().unwrap_or_default(),
        sink,
    );
    resources(
        old.resources.as_deref().unwrap_or_default(),
        new.resources.as_deref().unwrap_or_default(),
        sink,
    );
    templates(
        old.resource_templates.as_deref().unwrap_or_default(),
        new.resource_templates.as_deref().unwrap_or_default(),
        sink,
    );
    capabilities(&old.capabilities, &new.capabilities, "", sink);
    server(old, new, sink);
}

/// A finding with no direction (most surface findings): [`Finding::new`]'s parts, by name.
struct Plain<'a> {
    id: &'a str,
    level: Bump,
    flags: &'a [Flag],
    surface: SurfaceKind,
    name: &'a str,
    pointer: &'a str,
    old: Option<Value>,
    new: Option<Value>,
    message: String,
}

impl Plain<'_> {
    fn push(self, sink: &mut Sink) {
        sink.push(Finding::new(
            self.id,
            self.level,
            Direction::None,
            self.flags,
            self.surface,
            self.name,
            self.pointer,
            self.old,
            self.new,
            self.message,
        ));
    }
}

/// Items keyed by identity; the first wins should a server list a key twice.
fn index<T>(items: &[T], key: impl Fn(&T) -> &str) -> BTreeMap<&str, &T> {
    let mut map = BTreeMap::new();
    for item in items {
        map.entry(key(item)).or_insert(item);
    }
    map
}

fn text(value: Option<&String>) -> Option<Value> {
    value.map(|s| Value::String(s.clone()))
}

/// Keys of an item the rule table does not model (`icons`, `_meta`, `execution`, vendor keys).
fn extras(
    old: &JsonObject,
    new: &JsonObject,
    kind: SurfaceKind,
    name: &str,
    noun: &str,
    sink: &mut Sink,
) {
    let mut keys: Vec<&String> = new.keys().collect();
    keys.extend(old.keys().filter(|k| !new.contains_key(*k)));
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        let (id, message) = match (kind, key.as_str()) {
            (SurfaceKind::Tool, "icons") => ("tool-icons-changed", "icons changed".to_owned()),
            (SurfaceKind::Tool, _) => (
                "tool-meta-changed",
                format!("`{key}` changed (no compatibility contract)"),
            ),
            (SurfaceKind::Prompt, "icons") => ("prompt-text-changed", "icons changed".to_owned()),
            (SurfaceKind::Prompt, _) => ("prompt-meta-changed", format!("`{key}` changed")),
            _ => (
                "resource-metadata-changed",
                format!("{noun} `{key}` changed"),
            ),
        };
        let flags: &[Flag] = if id == "prompt-text-changed" {
            &[Flag::SecurityReview]
        } else {
            &[]
        };
        Plain {
            id,
            level: Bump::Patch,
            flags,
            surface: kind,
            name,
            pointer: &child("", key),
            old: a.cloned(),
            new: b.cloned(),
            message,
        }
        .push(sink);
    }
}
