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

/// A finding with no direction and no old/new values beyond the given ones.
#[allow(clippy::too_many_arguments)]
fn plain(
    sink: &mut Sink,
    id: &str,
    level: Bump,
    flags: &[Flag],
    surface: SurfaceKind,
    name: &str,
    pointer: &str,
    old: Option<Value>,
    new: Option<Value>,
    message: String,
) {
    sink.push(Finding::new(
        id,
        level,
        Direction::None,
        flags,
        surface,
        name,
        pointer,
        old,
        new,
        message,
    ));
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
            plain(
                sink,
                "tool-renamed-probable",
                Bump::Major,
                &[],
                SurfaceKind::Tool,
                &gone.name,
                "",
                Some(Value::String(gone.name.clone())),
                Some(Value::String(to.to_owned())),
                format!(
                    "tool `{}` is gone and `{to}` has the same schemas: probably renamed; calls by the old name fail",
                    gone.name
                ),
            );
        } else {
            plain(
                sink,
                "tool-removed",
                Bump::Major,
                &[],
                SurfaceKind::Tool,
                &gone.name,
                "",
                Some(Value::String(gone.name.clone())),
                None,
                format!("tool `{}` removed; calls to it fail", gone.name),
            );
        }
    }
    for fresh in added {
        plain(
            sink,
            "tool-added",
            Bump::Minor,
            &[Flag::SecurityReview],
            SurfaceKind::Tool,
            &fresh.name,
            "",
            None,
            Some(Value::String(fresh.name.clone())),
            format!("tool `{}` added", fresh.name),
        );
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
        plain(
            sink,
            "tool-description-changed",
            Bump::Patch,
            &[Flag::SecurityReview],
            kind,
            name,
            "/description",
            text(old.description.as_ref()),
            text(new.description.as_ref()),
            "description changed; the model reads it, so review it for injected instructions"
                .to_owned(),
        );
    }
    if old.title != new.title {
        plain(
            sink,
            "tool-title-changed",
            Bump::Patch,
            &[],
            kind,
            name,
            "/title",
            text(old.title.as_ref()),
            text(new.title.as_ref()),
            "title changed".to_owned(),
        );
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
        (None, Some(schema)) => plain(
            sink,
            "output-schema-added",
            Bump::Minor,
            &[],
            kind,
            name,
            "/outputSchema",
            None,
            Some(Value::Object(schema.clone())),
            "`outputSchema` added: results now carry a structured-content guarantee".to_owned(),
        ),
        (Some(schema), None) => plain(
            sink,
            "output-schema-removed",
            Bump::Major,
            &[],
            kind,
            name,
            "/outputSchema",
            Some(Value::Object(schema.clone())),
            None,
            "`outputSchema` removed: consumers lose the structured-result contract".to_owned(),
        ),
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
#[allow(clippy::too_many_lines)]
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
        plain(
            sink,
            id,
            level,
            flags,
            kind,
            name,
            &format!("/annotations/{key}"),
            Some(Value::Bool(old_v)),
            Some(Value::Bool(new_v)),
            message.to_owned(),
        );
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
        plain(
            sink,
            "tool-title-changed",
            Bump::Patch,
            &[],
            kind,
            name,
            "/annotations/title",
            title(old).map(Value::String),
            title(new).map(Value::String),
            "annotations title changed".to_owned(),
        );
    }
    let empty = JsonObject::new();
    let extra = |tool: &Tool| -> JsonObject {
        tool.annotations
            .as_ref()
            .map_or_else(|| empty.clone(), |a| a.extra.clone())
    };
    let (a, b) = (extra(old), extra(new));
    if a != b {
        plain(
            sink,
            "tool-meta-changed",
            Bump::Patch,
            &[],
            kind,
            name,
            "/annotations",
            Some(Value::Object(a)),
            Some(Value::Object(b)),
            "unmodelled annotation keys changed".to_owned(),
        );
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
        plain(
            sink,
            id,
            Bump::Patch,
            flags,
            kind,
            name,
            &child("", key),
            a.cloned(),
            b.cloned(),
            message,
        );
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
        plain(
            sink,
            id,
            Bump::Major,
            &[],
            kind,
            name,
            "",
            Some(Value::String((*name).to_owned())),
            new_value,
            message,
        );
    }
    for name in new_map.keys().filter(|n| !old_map.contains_key(*n)) {
        plain(
            sink,
            "prompt-added",
            Bump::Minor,
            &[Flag::SecurityReview],
            kind,
            name,
            "",
            None,
            Some(Value::String((*name).to_owned())),
            format!("prompt `{name}` added"),
        );
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
                plain(
                    sink,
                    "prompt-text-changed",
                    Bump::Patch,
                    &[Flag::SecurityReview],
                    kind,
                    name,
                    &format!("/{key}"),
                    text(x.as_ref()),
                    text(y.as_ref()),
                    format!("prompt {key} changed; review model-facing text"),
                );
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
        plain(
            sink,
            "resource-removed",
            Bump::Major,
            &[],
            kind,
            uri,
            "",
            Some(Value::String((*uri).to_owned())),
            None,
            format!("resource `{uri}` removed"),
        );
    }
    for uri in new_map.keys().filter(|u| !old_map.contains_key(*u)) {
        plain(
            sink,
            "resource-added",
            Bump::Minor,
            &[],
            kind,
            uri,
            "",
            None,
            Some(Value::String((*uri).to_owned())),
            format!("resource `{uri}` added"),
        );
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
            plain(
                sink,
                "resource-metadata-changed",
                Bump::Patch,
                &[],
                kind,
                uri,
                "/size",
                a.size.map(Value::from),
                b.size.map(Value::from),
                "size changed".to_owned(),
            );
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
        plain(
            sink,
            "resource-mime-type-changed",
            Bump::Major,
            &[],
            kind,
            name,
            "/mimeType",
            text(a),
            text(b),
            format!(
                "`mimeType` changed from {} to {}; consumers dispatch on it",
                a.map_or("unset", String::as_str),
                b.map_or("unset", String::as_str)
            ),
        );
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
            plain(
                sink,
                "resource-metadata-changed",
                Bump::Patch,
                flags,
                kind,
                name,
                &format!("/{key}"),
                text(*a),
                text(*b),
                format!("{key} changed"),
            );
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
        plain(
            sink,
            id,
            Bump::Major,
            &[],
            kind,
            uri,
            "/uriTemplate",
            Some(Value::String((*uri).to_owned())),
            new_value,
            message,
        );
    }
    for uri in added.iter().filter(|u| !edited_to.contains(u)) {
        plain(
            sink,
            "resource-template-added",
            Bump::Minor,
            &[],
            kind,
            uri,
            "",
            None,
            Some(Value::String((*uri).to_owned())),
            format!("resource template `{uri}` added"),
        );
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
            plain(
                sink,
                "experimental-changed",
                Bump::Patch,
                &[],
                kind,
                &name,
                &pointer,
                a.cloned(),
                b.cloned(),
                "experimental capabilities changed (no compatibility promise)".to_owned(),
            );
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
                plain(
                    sink,
                    id,
                    level,
                    &[],
                    kind,
                    &name,
                    &pointer,
                    a.cloned(),
                    b.cloned(),
                    format!("`{name}` {what}"),
                );
            }
            (Some(_), None) => plain(
                sink,
                "capability-removed",
                Bump::Major,
                &[],
                kind,
                &name,
                &pointer,
                a.cloned(),
                None,
                format!("capability `{name}` removed"),
            ),
            (None, Some(_)) => plain(
                sink,
                "capability-added",
                Bump::Minor,
                &[],
                kind,
                &name,
                &pointer,
                None,
                b.cloned(),
                format!("capability `{name}` added"),
            ),
            _ => plain(
                sink,
                "capability-removed",
                Bump::Major,
                &[],
                kind,
                &name,
                &pointer,
                a.cloned(),
                b.cloned(),
                format!("capability `{name}` changed shape"),
            ),
        }
    }
}

/// Instructions and protocol versions.
fn server(old: &ToolSurface, new: &ToolSurface, sink: &mut Sink) {
    let kind = SurfaceKind::Server;
    if old.instructions != new.instructions {
        plain(
            sink,
            "instructions-changed",
            Bump::Patch,
            &[Flag::SecurityReview],
            kind,
            "instructions",
            "/instructions",
            text(old.instructions.as_ref()),
            text(new.instructions.as_ref()),
            "server instructions changed; the model reads them, so review them".to_owned(),
        );
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
            plain(
                sink,
                "protocol-version-dropped",
                Bump::Major,
                &[],
                kind,
                version,
                "/supportedProtocolVersions",
                Some(Value::String(version.clone())),
                None,
                format!("protocol version {version} no longer supported"),
            );
        }
        for version in b.iter().filter(|v| !a.contains(v)) {
            plain(
                sink,
                "protocol-version-added",
                Bump::Minor,
                &[],
                kind,
                version,
                "/supportedProtocolVersions",
                None,
                Some(Value::String(version.clone())),
                format!("protocol version {version} now supported"),
            );
        }
    } else if old.protocol_version != new.protocol_version {
        plain(
            sink,
            "protocol-version-changed",
            Bump::Patch,
            &[Flag::BehaviourChange],
            kind,
            "protocol",
            "/protocolVersion",
            Some(Value::String(old.protocol_version.clone())),
            Some(Value::String(new.protocol_version.clone())),
            format!(
                "negotiated protocol version changed from {} to {}; the capture does not list every supported version, so dropped support is not proved",
                old.protocol_version, new.protocol_version
            ),
        );
    }
}
