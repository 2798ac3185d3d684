//! Rules for scalar keywords: type, enum, const, bounds, pattern, format and annotations.

use serde_json::Value;

use super::read::{covers, describe_types, enum_of, list, number, show, types_of, types_value};
use super::{Differ, Effect, MAX_EXACT, Obj, REVIEW};
use crate::compat::{Bump, Direction, Finding, Flag, child};

impl Differ<'_, '_> {
    pub(super) fn types(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let (old_types, new_types) = (types_of(old), types_of(new));
        let effect = match (old_types, new_types) {
            (None, None) => return,
            (None, Some(_)) => Effect::Narrows,
            (Some(_), None) => Effect::Widens,
            (Some(o), Some(n)) => {
                let (up, down) = (covers(n, o), covers(o, n));
                match (up, down) {
                    (true, true) => return,
                    (true, false) => Effect::Widens,
                    (false, true) => Effect::Narrows,
                    (false, false) => Effect::Changes,
                }
            }
        };
        let old_value = old_types.map(types_value);
        let new_value = new_types.map(types_value);
        let (suffix, what) = match (self.dir, effect) {
            (_, Effect::Widens) => ("type-widened", "widened"),
            (_, Effect::Narrows) => ("type-narrowed", "narrowed"),
            (Direction::Output, Effect::Changes) => ("type-widened", "changed"),
            (_, Effect::Changes) => ("type-narrowed", "changed"),
        };
        let message = format!(
            "type {what} from {} to {}",
            describe_types(old_types),
            describe_types(new_types)
        );
        self.effect(
            suffix,
            effect,
            child(ptr, "type"),
            old_value.as_ref(),
            new_value.as_ref(),
            message,
        );
    }

    pub(super) fn enums(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let (old_enum, old_ext) = enum_of(old);
        let (new_enum, new_ext) = enum_of(new);
        let pointer = child(ptr, "enum");
        match (old_enum, new_enum) {
            (None, None) => {}
            (None, Some(values)) => self.flagged_effect(
                "became-enum",
                Effect::Narrows,
                REVIEW,
                pointer,
                None,
                Some(&Value::Array(values.to_vec())),
                "values are now restricted to an enum".to_owned(),
            ),
            (Some(values), None) => self.flagged_effect(
                "enum-removed",
                Effect::Widens,
                REVIEW,
                pointer,
                Some(&Value::Array(values.to_vec())),
                None,
                "the enum restriction was removed".to_owned(),
            ),
            (Some(o), Some(n)) => {
                let added: Vec<Value> = n.iter().filter(|v| !o.contains(v)).cloned().collect();
                let removed: Vec<Value> = o.iter().filter(|v| !n.contains(v)).cloned().collect();
                if !added.is_empty() {
                    let extensible = old_ext || new_ext;
                    let (level, note) = if self.dir == Direction::Output && extensible {
                        (Bump::Minor, " (enum marked `x-extensible-enum`)")
                    } else {
                        (self.level(Effect::Widens), "")
                    };
                    let id = self.id("enum-value-added");
                    let message = format!("enum value(s) {} added{note}", list(&added));
                    self.emit(
                        id,
                        level,
                        REVIEW,
                        pointer.clone(),
                        None,
                        Some(&Value::Array(added)),
                        message,
                    );
                }
                if !removed.is_empty() {
                    let message = format!("enum value(s) {} removed", list(&removed));
                    self.flagged_effect(
                        "enum-value-removed",
                        Effect::Narrows,
                        REVIEW,
                        pointer,
                        Some(&Value::Array(removed)),
                        None,
                        message,
                    );
                }
            }
        }
    }

    pub(super) fn constant(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let (o, n) = (old.get("const"), new.get("const"));
        if o == n {
            return;
        }
        let pointer = child(ptr, "const");
        let (effect, what) = match (o, n) {
            (None, Some(_)) => (Effect::Narrows, "added"),
            (Some(_), None) => (Effect::Widens, "removed"),
            _ => (Effect::Changes, "changed"),
        };
        let suffix = match (self.dir, effect) {
            (Direction::Output, Effect::Narrows) => "bound-tightened",
            (Direction::Output, Effect::Widens) => "bound-loosened",
            _ => "const-changed",
        };
        self.flagged_effect(
            suffix,
            effect,
            REVIEW,
            pointer,
            o,
            n,
            format!("`const` {what}"),
        );
    }

    pub(super) fn bounds(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        // (keyword, a higher value accepts fewer values)
        const BOUNDS: [(&str, bool); 12] = [
            ("minimum", true),
            ("exclusiveMinimum", true),
            ("maximum", false),
            ("exclusiveMaximum", false),
            ("minLength", true),
            ("maxLength", false),
            ("minItems", true),
            ("maxItems", false),
            ("minProperties", true),
            ("maxProperties", false),
            ("minContains", true),
            ("maxContains", false),
        ];
        for (keyword, higher_tightens) in BOUNDS {
            let (o, n) = (old.get(keyword), new.get(keyword));
            if o == n {
                continue;
            }
            let pointer = child(ptr, keyword);
            let (of, nf) = (o.map(number), n.map(number));
            if matches!(of, Some(None)) || matches!(nf, Some(None)) {
                let id = self.id("keyword-changed");
                self.undecidable(
                    id,
                    keyword,
                    pointer,
                    o,
                    n,
                    "bound is not a number within ±2^53 (or is a draft-04 boolean)",
                );
                continue;
            }
            let trivial = |value: f64| {
                keyword.starts_with("min") && value <= 0.0 && !keyword.starts_with("minimum")
            };
            let effect = match (of.flatten(), nf.flatten()) {
                (None, None) => continue,
                (None, Some(value)) if trivial(value) => continue,
                (Some(value), None) if trivial(value) => continue,
                (None, Some(_)) => Effect::Narrows,
                (Some(_), None) => Effect::Widens,
                (Some(a), Some(b)) => {
                    if (b > a) == higher_tightens {
                        Effect::Narrows
                    } else {
                        Effect::Widens
                    }
                }
            };
            let (suffix, what) = if effect == Effect::Narrows {
                ("bound-tightened", "tightened")
            } else {
                ("bound-loosened", "loosened")
            };
            let message = format!("`{keyword}` {what} ({} → {})", show(o), show(n));
            self.effect(suffix, effect, pointer, o, n, message);
        }
    }

    pub(super) fn multiple_of(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let (o, n) = (old.get("multipleOf"), new.get("multipleOf"));
        if o == n {
            return;
        }
        let pointer = child(ptr, "multipleOf");
        let effect = match (o.and_then(Value::as_f64), n.and_then(Value::as_f64)) {
            (None, Some(_)) => Effect::Narrows,
            (Some(_), None) => Effect::Widens,
            (Some(a), Some(b)) => {
                let integral = |x: f64| x.fract() == 0.0 && x > 0.0 && x.abs() <= MAX_EXACT;
                if !integral(a) || !integral(b) {
                    let id = self.id("keyword-changed");
                    self.undecidable(
                        id,
                        "multipleOf",
                        pointer,
                        o,
                        n,
                        "non-integral `multipleOf` divisibility is not decided",
                    );
                    return;
                }
                if a % b == 0.0 {
                    Effect::Widens
                } else if b % a == 0.0 {
                    Effect::Narrows
                } else {
                    Effect::Changes
                }
            }
            (None, None) => return,
        };
        let suffix = match (self.dir, effect) {
            (_, Effect::Widens) | (Direction::Output, Effect::Changes) => "bound-loosened",
            _ => "bound-tightened",
        };
        self.effect(
            suffix,
            effect,
            pointer,
            o,
            n,
            format!("`multipleOf` changed ({} → {})", show(o), show(n)),
        );
    }

    pub(super) fn unique_items(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let flag = |map: &Obj| {
            map.get("uniqueItems")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let (o, n) = (flag(old), flag(new));
        if o == n {
            return;
        }
        let (effect, suffix, what) = if n {
            (Effect::Narrows, "bound-tightened", "now required")
        } else {
            (Effect::Widens, "bound-loosened", "no longer required")
        };
        self.effect(
            suffix,
            effect,
            child(ptr, "uniqueItems"),
            old.get("uniqueItems"),
            new.get("uniqueItems"),
            format!("unique items {what}"),
        );
    }

    pub(super) fn pattern(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let (o, n) = (old.get("pattern"), new.get("pattern"));
        if o == n {
            return;
        }
        let pointer = child(ptr, "pattern");
        let match_all = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .is_some_and(|p| matches!(p, ".*" | "^.*$" | "^.*" | ".*$" | ""))
        };
        let output = self.dir == Direction::Output;
        if o.is_none() || (match_all(o) && !match_all(n)) {
            let suffix = if output {
                "bound-tightened"
            } else {
                "pattern-added"
            };
            self.flagged_effect(
                suffix,
                Effect::Narrows,
                REVIEW,
                pointer,
                o,
                n,
                "`pattern` added".to_owned(),
            );
        } else if n.is_none() || match_all(n) {
            let suffix = if output {
                "bound-loosened"
            } else {
                "pattern-removed"
            };
            self.flagged_effect(
                suffix,
                Effect::Widens,
                REVIEW,
                pointer,
                o,
                n,
                "`pattern` removed".to_owned(),
            );
        } else {
            let id = self.id("pattern-changed");
            self.undecidable(id, "pattern", pointer, o, n, "regex inclusion not decided");
            if let Some(finding) = self.sink.findings.last_mut() {
                finding.flags.push(Flag::SecurityReview);
            }
        }
    }

    pub(super) fn format(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let (o, n) = (old.get("format"), new.get("format"));
        if o == n {
            return;
        }
        let pointer = child(ptr, "format");
        let output = self.dir == Direction::Output;
        let (suffix, effect, what) = match (o, n) {
            (None, _) => (
                if output {
                    "bound-tightened"
                } else {
                    "format-added"
                },
                Effect::Narrows,
                "added",
            ),
            (_, None) => (
                if output {
                    "bound-loosened"
                } else {
                    "format-removed"
                },
                Effect::Widens,
                "removed",
            ),
            _ => ("format-changed", Effect::Changes, "changed"),
        };
        let message = format!("`format` {what} ({} → {})", show(o), show(n));
        self.effect(suffix, effect, pointer, o, n, message);
    }

    /// Keywords that do not change validation: text for the model, defaults, deprecation.
    pub(super) fn annotations(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        for keyword in [
            "description",
            "title",
            "examples",
            "$comment",
            "default",
            "deprecated",
            "readOnly",
            "writeOnly",
        ] {
            let (o, n) = (old.get(keyword), new.get(keyword));
            if o == n {
                continue;
            }
            let pointer = child(ptr, keyword);
            let input = self.dir == Direction::Input;
            let (id, level, flags): (String, Bump, &[Flag]) = match keyword {
                "default" if input => (
                    self.id("default-changed"),
                    Bump::Minor,
                    &[Flag::SecurityReview, Flag::BehaviourChange],
                ),
                "deprecated" if input && n == Some(&Value::Bool(true)) => {
                    (self.id("property-deprecated"), Bump::Minor, &[])
                }
                // Text and values the model reads (an output `default` too).
                "description" | "title" | "examples" | "$comment" | "default" => {
                    (self.id("annotation-changed"), Bump::Patch, REVIEW)
                }
                _ => (self.id("annotation-changed"), Bump::Patch, &[]),
            };
            let message = match (o, n) {
                (None, _) => format!("`{keyword}` added"),
                (_, None) => format!("`{keyword}` removed"),
                _ => format!("`{keyword}` changed"),
            };
            self.emit(id, level, flags, pointer, o, n, message);
        }
    }

    /// `x-mcp-header`: a parameter mirrored into an HTTP header.
    pub(super) fn header_mirror(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        if self.dir != Direction::Input {
            return;
        }
        let (o, n) = (old.get("x-mcp-header"), new.get("x-mcp-header"));
        if o == n {
            return;
        }
        let pointer = child(ptr, "x-mcp-header");
        if o.is_none() {
            self.sink.push(Finding::new(
                "header-mirror-added",
                Bump::Minor,
                Direction::Input,
                &[Flag::Warning],
                self.surface,
                self.name,
                pointer,
                None,
                n.cloned(),
                "parameter is now mirrored into an `Mcp-Param-*` header; cached clients get HeaderMismatch",
            ));
        } else {
            self.sink.push(Finding::new(
                "header-mirror-changed",
                Bump::Major,
                Direction::Input,
                &[],
                self.surface,
                self.name,
                pointer,
                o.cloned(),
                n.cloned(),
                "header mirror removed or renamed; routing keyed on the header breaks",
            ));
        }
    }
}
