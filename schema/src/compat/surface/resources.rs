//! Resource and resource-template rules: listings, MIME types and metadata.

use serde_json::Value;

use super::{Plain, extras, index, text};
use crate::compat::{Bump, Flag, Sink, SurfaceKind};
use crate::tools::{JsonObject, Resource, ResourceTemplate};

pub(super) fn resources(old: &[Resource], new: &[Resource], sink: &mut Sink) {
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
            flags: &[Flag::SecurityReview],
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
            // `name`, `title` and `description` are all read by the model.
            Plain {
                id: "resource-metadata-changed",
                level: Bump::Patch,
                flags: &[Flag::SecurityReview],
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

pub(super) fn templates(old: &[ResourceTemplate], new: &[ResourceTemplate], sink: &mut Sink) {
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
        // An edited template is a new string the model fills in.
        let flags: &[Flag] = if edit.is_some() {
            &[Flag::SecurityReview]
        } else {
            &[]
        };
        Plain {
            id,
            level: Bump::Major,
            flags,
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
            flags: &[Flag::SecurityReview],
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
