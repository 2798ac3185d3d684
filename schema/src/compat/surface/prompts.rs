//! Prompt rules: prompts and their arguments.

use serde_json::Value;

use super::{Plain, extras, index, text};
use crate::compat::{Bump, Direction, Finding, Flag, Sink, SurfaceKind, child};
use crate::tools::Prompt;

pub(super) fn prompts(old: &[Prompt], new: &[Prompt], sink: &mut Sink) {
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
        // A probable rename introduces a name the model reads.
        let flags: &[Flag] = if renamed.is_some() {
            &[Flag::SecurityReview]
        } else {
            &[]
        };
        Plain {
            id,
            level: Bump::Major,
            flags,
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
            &[Flag::SecurityReview],
            arg,
            "",
            None,
            Some(Value::String((*arg).to_owned())),
            format!("{what} argument `{arg}` added"),
        );
    }
}
