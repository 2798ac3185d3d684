//! Tool rules: added/removed/renamed tools, descriptions, schemas and annotations.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Plain, extras, index, text};
use crate::compat::{Bump, Direction, Flag, Sink, SurfaceKind, schema};
use crate::tools::{JsonObject, Tool};

pub(super) fn tools(old: &[Tool], new: &[Tool], sink: &mut Sink) {
    duplicates(old, new, sink);
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
                flags: &[Flag::SecurityReview],
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

fn by_name(tools: &[Tool]) -> BTreeMap<&str, Vec<&Tool>> {
    let mut map: BTreeMap<&str, Vec<&Tool>> = BTreeMap::new();
    for tool in tools {
        map.entry(tool.name.as_str()).or_default().push(tool);
    }
    map
}

/// A name listed more than once by `new` and at most once by `old` (`tool-name-duplicated`).
///
/// Clients keep one of the definitions, and which one varies (first, last, or an error), while
/// the checker compares only the first. Identical copies are a patch; copies that differ are
/// major when the name was already published (calls by it may now reach a definition nobody
/// compared) and minor when the name is new with this version.
fn duplicates(old: &[Tool], new: &[Tool], sink: &mut Sink) {
    let before = by_name(old);
    for (name, copies) in by_name(new) {
        let published = before.get(name).map_or(0, Vec::len);
        if copies.len() < 2 || published > 1 {
            continue;
        }
        let identical = copies.iter().all(|copy| *copy == copies[0]);
        let (level, consequence) = if identical {
            (Bump::Patch, "the copies are identical")
        } else if published == 1 {
            (
                Bump::Major,
                "the copies differ, so calls by this published name may reach a definition that was not compared",
            )
        } else {
            (
                Bump::Minor,
                "the copies differ, so which one the model sees depends on the client",
            )
        };
        Plain {
            id: "tool-name-duplicated",
            level,
            flags: &[Flag::SecurityReview],
            surface: SurfaceKind::Tool,
            name,
            pointer: "/name",
            old: (published > 0).then(|| Value::String(name.to_owned())),
            new: Some(Value::String(name.to_owned())),
            message: format!(
                "tool name `{name}` is listed {} times; clients keep one of them and {consequence}",
                copies.len()
            ),
        }
        .push(sink);
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
            flags: &[Flag::SecurityReview],
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
            flags: &[Flag::SecurityReview],
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
                &[Flag::SecurityReview],
                "idempotentHint",
                true,
                false,
                "tool is no longer idempotent: clients that retry calls may repeat effects",
            );
        } else if !i_old && i_new {
            emit(
                "annotation-idempotent-granted",
                Bump::Minor,
                &[Flag::SecurityReview],
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
            &[Flag::SecurityReview],
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
            flags: &[Flag::SecurityReview],
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
            flags: &[Flag::SecurityReview],
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
