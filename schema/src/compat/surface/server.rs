//! Server-level rules: capabilities, instructions and protocol versions.

use serde_json::{Map, Value};

use super::{Plain, text};
use crate::compat::{Bump, Flag, Sink, SurfaceKind};
use crate::tools::ToolSurface;

/// Capabilities by key path: a key removed is major, added minor; boolean flags (`listChanged`,
/// `subscribe`) cleared major, set minor; anything under `experimental` is patch.
pub(super) fn capabilities(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    path: &str,
    sink: &mut Sink,
) {
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
                .map(crate::compat::escape_token)
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
pub(super) fn server(old: &ToolSurface, new: &ToolSurface, sink: &mut Sink) {
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
