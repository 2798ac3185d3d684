//! Tools, prompts, resources, templates, capabilities and instructions (§3.1, 3.2, 3.5–3.7).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Bump, Direction, Finding, Flag, Sink, SurfaceKind, child, schema};
use crate::tools::{JsonObject, Prompt, Resource, ResourceTemplate, Tool, ToolSurface};

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

fn tools(old: &[Tool], new: &[Tool], sink: &mut Sink) {
    let old_map = index(old, |t| &t.name);
    let new_map = index(new, |t| &t.name);
    let removed: Vec<&Tool> = old_map
        .iter()
        .filter(|(name, _)| !new_map.contains_key(*name))
        .map(|(_, tool)| *tool)
        .collect();
    let added: Vec<&Tool> = new_map
        .iter()
        .filter(|(name, _)| !old_map.contains_key(*name))
        .map(|(_, tool)| *tool)
        .collect();
    let mut renamed_to: Vec<Option<&str>> = vec![None; removed.len()];
    let mut taken = vec![false; added.len()];
    for (i, gone) in removed.iter().enumerate() {
        let candidate = added.iter().enumerate().find(|(j, fresh)| {
            !taken[*j]
                && (fresh.name.eq_ignore_ascii_case(&gone.name)
                    || (same_schemas(gone, fresh) && has_parameters(gone)))
        });
        if let Some((j, fresh)) = candidate {
            taken[j] = true;
            renamed_to[i] = Some(&fresh.name);
        }
    }
    for (gone, renamed) in removed.iter().zip(renamed_to) {
        if let Some(to) = renamed {
            Plain {
                id: "tool-renamed-probable",
                level: Bump::Major,
                flags: &[],
                surface: SurfaceKind::Tool,
                name: &gone.name,
                pointer: "",
                old: Some(Value::String(gone.name.clone())),
                new: Some(Value::String(to.to_owned())),
                message: format!(
                    "tool `{}` is gone and `{to}` has the same schemas: probably renamed; calls by the old name fail",
                    gone.name
                ),
            }
            .push(sink);
        } else {
            Plain {
                id: "tool-removed",
                level: Bump::Major,
                flags: &[],
                surface: SurfaceKind::Tool,
                name: &gone.name,
                pointer: "",
                old: Some(Value::String(gone.name.clone())),
                new: None,
                message: format!("tool `{}` removed; calls to it fail", gone.name),
            }
            .push(sink);
        }
    }
    for fresh in added {
        Plain {
            id: "tool-added",
            level: Bump::Minor,
            flags: &[Flag::SecurityReview],
            surface: SurfaceKind::Tool,
            name: &fresh.name,
            pointer: "",
            old: None,
            new: Some(Value::String(fresh.name.clone())),
            message: format!("tool `{}` added", fresh.name),
        }
        .push(sink);
    }
    for (name, old_tool) in &old_map {
        if let Some(new_tool) = new_map.get(name)
            && old_tool != new_tool
        {
            tool(old_tool, new_tool, sink);
        }
    }
}

fn same_schemas(a: &Tool, b: &Tool) -> bool {
    a.input_schema == b.input_schema && a.output_schema == b.output_schema
}

fn has_parameters(tool: &Tool) -> bool {
    tool.input_schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|props| !props.is_empty())
}

fn tool(old: &Tool, new: &Tool, sink: &mut Sink) {
    let name = new.name.as_str();
    let kind = SurfaceKind::Tool;
    if old.description != new.description {
        Plain {
            id: "tool-description-changed",
            level: Bump::Patch,
            flags: &[Flag::SecurityReview],
            surface: kind,
            name,
            pointer: "/description",
            old: text(old.description.as_ref()),
            new: text(new.description.as_ref()),
            message:
                "description changed; the model reads it, so review it for injected instructions"
                    .to_owned(),
        }
        .push(sink);
    }
    if old.title != new.title {
        Plain {
            id: "tool-title-changed",
            level: Bump::Patch,
            flags: &[],
            surface: kind,
            name,
            pointer: "/title",
            old: text(old.title.as_ref()),
            new: text(new.title.as_ref()),
            message: "title changed".to_owned(),
        }
        .push(sink);
    }
    schema::compare(
        Direction::Input,
        kind,
        name,
        "/inputSchema",
        &Value::Object(old.input_schema.clone()),
        &Value::Object(new.input_schema.clone()),
        sink,
    );
    match (&old.output_schema, &new.output_schema) {
        (None, None) => {}
        (None, Some(schema)) => Plain {
            id: "output-schema-added",
            level: Bump::Minor,
            flags: &[],
            surface: kind,
            name,
            pointer: "/outputSchema",
            old: None,
            new: Some(Value::Object(schema.clone())),
            message: "`outputSchema` added: results now carry a structured-content guarantee"
                .to_owned(),
        }
        .push(sink),
        (Some(schema), None) => Plain {
            id: "output-schema-removed",
            level: Bump::Major,
            flags: &[],
            surface: kind,
            name,
            pointer: "/outputSchema",
            old: Some(Value::Object(schema.clone())),
            new: None,
            message: "`outputSchema` removed: consumers lose the structured-result contract"
                .to_owned(),
        }
        .push(sink),
        (Some(a), Some(b)) => schema::compare(
            Direction::Output,
            kind,
            name,
            "/outputSchema",
            &Value::Object(a.clone()),
            &Value::Object(b.clone()),
            sink,
        ),
    }
    annotations(old, new, sink);
    extras(&old.extra, &new.extra, kind, name, "tool", sink);
}

/// Effective annotation values with MCP defaults (§3.2).
#[allow(
    clippy::too_many_lines,
    reason = "one finding per MCP annotation, in the order of the spec's table"
)]
fn annotations(old: &Tool, new: &Tool, sink: &mut Sink) {
    let name = new.name.as_str();
    let kind = SurfaceKind::Tool;
    let mut emit = |id: &str,
                    level: Bump,
                    flags: &[Flag],
                    key: &str,
                    old_v: bool,
                    new_v: bool,
                    message: &str| {
        Plain {
            id,
            level,
            flags,
            surface: kind,
            name,
            pointer: &format!("/annotations/{key}"),
            old: Some(Value::Bool(old_v)),
            new: Some(Value::Bool(new_v)),
            message: message.to_owned(),
        }
        .push(sink);
    };
    let (ro_old, ro_new) = (old.is_read_only(), new.is_read_only());
    if ro_old && !ro_new {
        emit(
            "annotation-read-only-revoked",
            Bump::Major,
            &[Flag::SecurityReview],
            "readOnlyHint",
            true,
            false,
            "tool is no longer read-only (absent means false): it leaves read-only modes and auto-approval lists",
        );
    } else if !ro_old && ro_new {
        emit(
            "annotation-read-only-granted",
            Bump::Minor,
            &[Flag::SecurityReview],
            "readOnlyHint",
            false,
            true,
            "tool now claims to be read-only; hints are untrusted, so review the claim",
        );
    }
    // destructive and idempotent mean something only when the tool is not read-only.
    if !ro_old && !ro_new {
        let (d_old, d_new) = (old.is_destructive(), new.is_destructive());
        if !d_old && d_new {
            emit(
                "annotation-destructive-set",
                Bump::Major,
                &[Flag::SecurityReview],
                "destructiveHint",
                false,
                true,
                "tool may now be destructive (absent means true): confirmation policies change",
            );
        } else if d_old && !d_new {
            emit(
                "annotation-destructive-cleared",
                Bump::Minor,
                &[Flag::SecurityReview],
                "destructiveHint",
                true,
                false,
                "tool now claims not to be destructive",
            );
        }
        let (i_old, i_new) = (old.is_idempotent(), new.is_idempotent());
        if i_old && !i_new {
            emit(
                "annotation-idempotent-revoked",
                Bump::Major,
                &[],
                "idempotentHint",
                true,
                false,
                "tool is no longer idempotent: clients that retry calls may repeat effects",
            );
        } else if !i_old && i_new {
            emit(
                "annotation-idempotent-granted",
                Bump::Minor,
                &[],
                "idempotentHint",
                false,
                true,
                "tool now claims to be idempotent",
            );
        }
    }
    let (w_old, w_new) = (old.is_open_world(), new.is_open_world());
    if !w_old && w_new {
        emit(
            "annotation-open-world-set",
            Bump::Major,
            &[Flag::SecurityReview],
            "openWorldHint",
            false,
            true,
            "tool now reaches an open world of external entities (absent means true)",
        );
    } else if w_old && !w_new {
        emit(
            "annotation-open-world-cleared",
            Bump::Minor,
            &[],
            "openWorldHint",
            true,
            false,
            "tool now claims a closed world",
        );
    }
    let title = |tool: &Tool| tool.annotations.as_ref().and_then(|a| a.title.clone());
    if title(old) != title(new) {
        Plain {
            id: "tool-title-changed",
            level: Bump::Patch,
            flags: &[],
            surface: kind,
            name,
            pointer: "/annotations/title",
            old: title(old).map(Value::String),
            new: title(new).map(Value::String),
            message: "annotations title changed".to_owned(),
        }
        .push(sink);
    }
    let empty = JsonObject::new();
    let extra = |tool: &Tool| -> JsonObject {
        tool.annotations
            .as_ref()
            .map_or_else(|| empty.clone(), |a| a.extra.clone())
    };
    let (a, b) = (extra(old), extra(new));
    if a != b {
        Plain {
            id: "tool-meta-changed",
            level: Bump::Patch,
            flags: &[],
            surface: kind,
            name,
            pointer: "/annotations",
            old: Some(Value::Object(a)),
            new: Some(Value::Object(b)),
            message: "unmodelled annotation keys changed".to_owned(),
        }
        .push(sink);
    }
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

fn prompts(old: &[Prompt], new: &[Prompt], sink: &mut Sink) {
    let old_map = index(old, |p| &p.name);
    let new_map = index(new, |p| &p.name);
    let kind = SurfaceKind::Prompt;
    for (name, gone) in old_map.iter().filter(|(n, _)| !new_map.contains_key(*n)) {
        let renamed = new_map.iter().find(|(fresh, p)| {
            !old_map.contains_key(*fresh)
                && (fresh.eq_ignore_ascii_case(name)
                    || (p.arguments == gone.arguments && gone.arguments.is_some()))
        });
        let (id, new_value, message) = match renamed {
            Some((to, _)) => (
                "prompt-renamed-probable",
                Some(Value::String((*to).to_owned())),
                format!(
                    "prompt `{name}` is gone and `{to}` has the same arguments: probably renamed"
                ),
            ),
            None => (
                "prompt-removed",
                None,
                format!("prompt `{name}` removed; `prompts/get` by that name fails"),
            ),
        };
        Plain {
            id,
            level: Bump::Major,
            flags: &[],
            surface: kind,
            name,
            pointer: "",
            old: Some(Value::String((*name).to_owned())),
            new: new_value,
            message,
        }
        .push(sink);
    }
    for name in new_map.keys().filter(|n| !old_map.contains_key(*n)) {
        Plain {
            id: "prompt-added",
            level: Bump::Minor,
            flags: &[Flag::SecurityReview],
            surface: kind,
            name,
            pointer: "",
            old: None,
            new: Some(Value::String((*name).to_owned())),
            message: format!("prompt `{name}` added"),
        }
        .push(sink);
    }
    for (name, a) in &old_map {
        let Some(b) = new_map.get(name) else { continue };
        if a == b {
            continue;
        }
        for (key, x, y) in [
            ("description", &a.description, &b.description),
            ("title", &a.title, &b.title),
        ] {
            if x != y {
                Plain {
                    id: "prompt-text-changed",
                    level: Bump::Patch,
                    flags: &[Flag::SecurityReview],
                    surface: kind,
                    name,
                    pointer: &format!("/{key}"),
                    old: text(x.as_ref()),
                    new: text(y.as_ref()),
                    message: format!("prompt {key} changed; review model-facing text"),
                }
                .push(sink);
            }
        }
        prompt_arguments(a, b, sink);
        extras(&a.extra, &b.extra, kind, name, "prompt", sink);
    }
}

fn prompt_arguments(old: &Prompt, new: &Prompt, sink: &mut Sink) {
    let name = new.name.as_str();
    let kind = SurfaceKind::Prompt;
    let old_args = index(old.arguments.as_deref().unwrap_or_default(), |a| &a.name);
    let new_args = index(new.arguments.as_deref().unwrap_or_default(), |a| &a.name);
    let emit = |sink: &mut Sink,
                id: &str,
                level: Bump,
                flags: &[Flag],
                arg: &str,
                suffix: &str,
                old_v: Option<Value>,
                new_v: Option<Value>,
                message: String| {
        sink.push(Finding::new(
            id,
            level,
            Direction::Input,
            flags,
            kind,
            name,
            format!("{}{suffix}", child("/arguments", arg)),
            old_v,
            new_v,
            message,
        ));
    };
    for (arg, a) in &old_args {
        match new_args.get(arg) {
            None => emit(
                sink,
                "prompt-argument-removed",
                Bump::Major,
                &[],
                arg,
                "",
                Some(Value::String((*arg).to_owned())),
                None,
                format!("argument `{arg}` removed; clients that send it may be rejected"),
            ),
            Some(b) => {
                let (ra, rb) = (a.required.unwrap_or(false), b.required.unwrap_or(false));
                if ra != rb {
                    let (id, level, what) = if rb {
                        ("prompt-argument-became-required", Bump::Major, "required")
                    } else {
                        ("prompt-argument-became-optional", Bump::Minor, "optional")
                    };
                    emit(
                        sink,
                        id,
                        level,
                        &[],
                        arg,
                        "/required",
                        Some(Value::Bool(ra)),
                        Some(Value::Bool(rb)),
                        format!("argument `{arg}` is now {what}"),
                    );
                }
                for (key, x, y) in [
                    ("description", &a.description, &b.description),
                    ("title", &a.title, &b.title),
                ] {
                    if x != y {
                        emit(
                            sink,
                            "prompt-text-changed",
                            Bump::Patch,
                            &[Flag::SecurityReview],
                            arg,
                            &format!("/{key}"),
                            text(x.as_ref()),
                            text(y.as_ref()),
                            format!("argument `{arg}` {key} changed"),
                        );
                    }
                }
            }
        }
    }
    for (arg, b) in new_args.iter().filter(|(a, _)| !old_args.contains_key(*a)) {
        let (id, level, what) = if b.required.unwrap_or(false) {
            ("prompt-argument-required-added", Bump::Major, "required")
        } else {
            ("prompt-argument-optional-added", Bump::Minor, "optional")
        };
        emit(
            sink,
            id,
            level,
            &[],
            arg,
            "",
            None,
            Some(Value::String((*arg).to_owned())),
            format!("{what} argument `{arg}` added"),
        );
    }
}

fn resources(old: &[Resource], new: &[Resource], sink: &mut Sink) {
    let old_map = index(old, |r| &r.uri);
    let new_map = index(new, |r| &r.uri);
    let kind = SurfaceKind::Resource;
    for uri in old_map.keys().filter(|u| !new_map.contains_key(*u)) {
        Plain {
            id: "resource-removed",
            level: Bump::Major,
            flags: &[],
            surface: kind,
            name: uri,
            pointer: "",
            old: Some(Value::String((*uri).to_owned())),
            new: None,
            message: format!("resource `{uri}` removed"),
        }
        .push(sink);
    }
    for uri in new_map.keys().filter(|u| !old_map.contains_key(*u)) {
        Plain {
            id: "resource-added",
            level: Bump::Minor,
            flags: &[],
            surface: kind,
            name: uri,
            pointer: "",
            old: None,
            new: Some(Value::String((*uri).to_owned())),
            message: format!("resource `{uri}` added"),
        }
        .push(sink);
    }
    for (uri, a) in &old_map {
        let Some(b) = new_map.get(uri) else { continue };
        if a == b {
            continue;
        }
        mime(sink, kind, uri, a.mime_type.as_ref(), b.mime_type.as_ref());
        metadata(
            sink,
            kind,
            uri,
            &[
                ("name", Some(&a.name), Some(&b.name)),
                ("title", a.title.as_ref(), b.title.as_ref()),
                (
                    "description",
                    a.description.as_ref(),
                    b.description.as_ref(),
                ),
            ],
        );
        if a.size != b.size {
            Plain {
                id: "resource-metadata-changed",
                level: Bump::Patch,
                flags: &[],
                surface: kind,
                name: uri,
                pointer: "/size",
                old: a.size.map(Value::from),
                new: b.size.map(Value::from),
                message: "size changed".to_owned(),
            }
            .push(sink);
        }
        extras(
            &without_contents(&a.extra),
            &without_contents(&b.extra),
            kind,
            uri,
            "resource",
            sink,
        );
    }
}

/// Inlined `text`/`blob` contents are data, not part of the listing's contract.
fn without_contents(extra: &JsonObject) -> JsonObject {
    let mut extra = extra.clone();
    extra.shift_remove("text");
    extra.shift_remove("blob");
    extra
}

fn mime(sink: &mut Sink, kind: SurfaceKind, name: &str, a: Option<&String>, b: Option<&String>) {
    if a != b {
        Plain {
            id: "resource-mime-type-changed",
            level: Bump::Major,
            flags: &[],
            surface: kind,
            name,
            pointer: "/mimeType",
            old: text(a),
            new: text(b),
            message: format!(
                "`mimeType` changed from {} to {}; consumers dispatch on it",
                a.map_or("unset", String::as_str),
                b.map_or("unset", String::as_str)
            ),
        }
        .push(sink);
    }
}

fn metadata(
    sink: &mut Sink,
    kind: SurfaceKind,
    name: &str,
    fields: &[(&str, Option<&String>, Option<&String>)],
) {
    for (key, a, b) in fields {
        if a != b {
            let flags: &[Flag] = if *key == "description" {
                &[Flag::SecurityReview]
            } else {
                &[]
            };
            Plain {
                id: "resource-metadata-changed",
                level: Bump::Patch,
                flags,
                surface: kind,
                name,
                pointer: &format!("/{key}"),
                old: text(*a),
                new: text(*b),
                message: format!("{key} changed"),
            }
            .push(sink);
        }
    }
}

fn templates(old: &[ResourceTemplate], new: &[ResourceTemplate], sink: &mut Sink) {
    let old_map = index(old, |t| &t.uri_template);
    let new_map = index(new, |t| &t.uri_template);
    let kind = SurfaceKind::Template;
    let added: Vec<&str> = new_map
        .keys()
        .filter(|u| !old_map.contains_key(*u))
        .copied()
        .collect();
    let mut edited_to: Vec<&str> = Vec::new();
    for (uri, gone) in old_map.iter().filter(|(u, _)| !new_map.contains_key(*u)) {
        // Same name, different template: an edit (e.g. a variable renamed).
        let edit = added.iter().find(|fresh| {
            !edited_to.contains(fresh) && new_map.get(*fresh).is_some_and(|t| t.name == gone.name)
        });
        let (id, new_value, message) = match edit {
            Some(fresh) => {
                edited_to.push(fresh);
                (
                    "resource-template-changed",
                    Some(Value::String((*fresh).to_owned())),
                    format!(
                        "template `{}` changed from `{uri}` to `{fresh}`; expansions and completion refs by variable name break",
                        gone.name
                    ),
                )
            }
            None => (
                "resource-template-removed",
                None,
                format!("resource template `{uri}` removed"),
            ),
        };
        Plain {
            id,
            level: Bump::Major,
            flags: &[],
            surface: kind,
            name: uri,
            pointer: "/uriTemplate",
            old: Some(Value::String((*uri).to_owned())),
            new: new_value,
            message,
        }
        .push(sink);
    }
    for uri in added.iter().filter(|u| !edited_to.contains(u)) {
        Plain {
            id: "resource-template-added",
            level: Bump::Minor,
            flags: &[],
            surface: kind,
            name: uri,
            pointer: "",
            old: None,
            new: Some(Value::String((*uri).to_owned())),
            message: format!("resource template `{uri}` added"),
        }
        .push(sink);
    }
    for (uri, a) in &old_map {
        let Some(b) = new_map.get(uri) else { continue };
        if a == b {
            continue;
        }
        mime(sink, kind, uri, a.mime_type.as_ref(), b.mime_type.as_ref());
        metadata(
            sink,
            kind,
            uri,
            &[
                ("name", Some(&a.name), Some(&b.name)),
                ("title", a.title.as_ref(), b.title.as_ref()),
                (
                    "description",
                    a.description.as_ref(),
                    b.description.as_ref(),
                ),
            ],
        );
        extras(&a.extra, &b.extra, kind, uri, "template", sink);
    }
}

/// Capabilities by key path: a key removed is major, added minor; boolean flags (`listChanged`,
/// `subscribe`) cleared major, set minor; anything under `experimental` is patch.
fn capabilities(old: &Map<String, Value>, new: &Map<String, Value>, path: &str, sink: &mut Sink) {
    let kind = SurfaceKind::Capability;
    let mut keys: Vec<&String> = old.keys().collect();
    keys.extend(new.keys().filter(|k| !old.contains_key(*k)));
    for key in keys {
        let name = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let pointer = format!(
            "/capabilities/{}",
            name.split('.')
                .map(super::escape_token)
                .collect::<Vec<_>>()
                .join("/")
        );
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        if path.is_empty() && key == "experimental" {
            Plain {
                id: "experimental-changed",
                level: Bump::Patch,
                flags: &[],
                surface: kind,
                name: &name,
                pointer: &pointer,
                old: a.cloned(),
                new: b.cloned(),
                message: "experimental capabilities changed (no compatibility promise)".to_owned(),
            }
            .push(sink);
            continue;
        }
        let flag = |v: Option<&Value>| v.and_then(Value::as_bool);
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => capabilities(x, y, &name, sink),
            (a, b) if flag(a).is_some() || flag(b).is_some() => {
                let (was, is) = (flag(a).unwrap_or(false), flag(b).unwrap_or(false));
                if was == is {
                    continue;
                }
                let (id, level, what) = if is {
                    ("capability-flag-set", Bump::Minor, "set")
                } else {
                    ("capability-flag-cleared", Bump::Major, "cleared")
                };
                Plain {
                    id,
                    level,
                    flags: &[],
                    surface: kind,
                    name: &name,
                    pointer: &pointer,
                    old: a.cloned(),
                    new: b.cloned(),
                    message: format!("`{name}` {what}"),
                }
                .push(sink);
            }
            (Some(_), None) => Plain {
                id: "capability-removed",
                level: Bump::Major,
                flags: &[],
                surface: kind,
                name: &name,
                pointer: &pointer,
                old: a.cloned(),
                new: None,
                message: format!("capability `{name}` removed"),
            }
            .push(sink),
            (None, Some(_)) => Plain {
                id: "capability-added",
                level: Bump::Minor,
                flags: &[],
                surface: kind,
                name: &name,
                pointer: &pointer,
                old: None,
                new: b.cloned(),
                message: format!("capability `{name}` added"),
            }
            .push(sink),
            _ => Plain {
                id: "capability-removed",
                level: Bump::Major,
                flags: &[],
                surface: kind,
                name: &name,
                pointer: &pointer,
                old: a.cloned(),
                new: b.cloned(),
                message: format!("capability `{name}` changed shape"),
            }
            .push(sink),
        }
    }
}

/// Instructions and protocol versions.
fn server(old: &ToolSurface, new: &ToolSurface, sink: &mut Sink) {
    let kind = SurfaceKind::Server;
    if old.instructions != new.instructions {
        Plain {
            id: "instructions-changed",
            level: Bump::Patch,
            flags: &[Flag::SecurityReview],
            surface: kind,
            name: "instructions",
            pointer: "/instructions",
            old: text(old.instructions.as_ref()),
            new: text(new.instructions.as_ref()),
            message: "server instructions changed; the model reads them, so review them".to_owned(),
        }
        .push(sink);
    }
    // A capture holds one negotiated version; a surface may also list every supported one.
    let supported = |surface: &ToolSurface| -> Option<Vec<String>> {
        surface
            .extra
            .get("supportedProtocolVersions")?
            .as_array()
            .map(|versions| {
                versions
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
    };
    if let (Some(a), Some(b)) = (supported(old), supported(new)) {
        for version in a.iter().filter(|v| !b.contains(v)) {
            Plain {
                id: "protocol-version-dropped",
                level: Bump::Major,
                flags: &[],
                surface: kind,
                name: version,
                pointer: "/supportedProtocolVersions",
                old: Some(Value::String(version.clone())),
                new: None,
                message: format!("protocol version {version} no longer supported"),
            }
            .push(sink);
        }
        for version in b.iter().filter(|v| !a.contains(v)) {
            Plain {
                id: "protocol-version-added",
                level: Bump::Minor,
                flags: &[],
                surface: kind,
                name: version,
                pointer: "/supportedProtocolVersions",
                old: None,
                new: Some(Value::String(version.clone())),
                message: format!("protocol version {version} now supported"),
            }
            .push(sink);
        }
    } else if old.protocol_version != new.protocol_version {
        Plain {
            id: "protocol-version-changed",
            level: Bump::Patch,
            flags: &[Flag::BehaviourChange],
            surface: kind,
            name: "protocol",
            pointer: "/protocolVersion",
            old: Some(Value::String(old.protocol_version.clone())),
            new: Some(Value::String(new.protocol_version.clone())),
            message: format!(
                "negotiated protocol version changed from {} to {}; the capture does not list every supported version, so dropped support is not proved",
                old.protocol_version, new.protocol_version
            ),
        }
        .push(sink);
    }
}
