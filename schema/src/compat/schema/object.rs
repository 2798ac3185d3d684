//! Rules for object keywords: properties, required, additionalProperties and key patterns.

use std::collections::BTreeSet;

use serde_json::Value;

use super::read::{Additional, additional, closed_unevaluated, required_of};
use super::{Differ, Effect, Obj, REVIEW};
use crate::compat::{Bump, Direction, Flag, child};

impl Differ<'_, '_> {
    #[allow(
        clippy::too_many_lines,
        reason = "one pass over the object keywords, in the order the rules are specified"
    )]
    pub(super) fn object(&mut self, old: &Obj, new: &Obj, ptr: &str, depth: usize) {
        let empty = Obj::new();
        let old_props = old
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let new_props = new
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let old_req = required_of(old);
        let new_req = required_of(new);
        let old_ap = additional(old);
        let new_ap = additional(new);
        let old_closed = old_ap == Additional::Closed || closed_unevaluated(old);
        let new_closed = new_ap == Additional::Closed || closed_unevaluated(new);
        let input = self.dir == Direction::Input;

        let mut keys: Vec<&str> = new_props.keys().map(String::as_str).collect();
        for name in &new_req {
            if !keys.contains(name) {
                keys.push(name);
            }
        }
        for name in old_props
            .keys()
            .map(String::as_str)
            .chain(old_req.iter().copied())
        {
            if !keys.contains(&name) {
                keys.push(name);
            }
        }
        let any = Value::Object(Obj::new());
        for key in keys {
            let in_old = old_props.contains_key(key) || old_req.contains(key);
            let in_new = new_props.contains_key(key) || new_req.contains(key);
            let (ro, rn) = (old_req.contains(key), new_req.contains(key));
            let old_schema = old_props.get(key);
            let new_schema = new_props.get(key);
            let pointer = child(&child(ptr, "properties"), key);
            match (in_old, in_new) {
                (true, true) => {
                    if ro != rn {
                        let (suffix, effect, what) = if rn {
                            (
                                "property-became-required",
                                Effect::Narrows,
                                "is now required",
                            )
                        } else {
                            (
                                "property-became-optional",
                                Effect::Widens,
                                "is now optional",
                            )
                        };
                        // For output, "required" is a guarantee: losing it widens.
                        let effect = if input {
                            effect
                        } else if rn {
                            Effect::Narrows
                        } else {
                            Effect::Widens
                        };
                        // An input parameter the model must now fill in is a harvesting lever.
                        let flags = if input && rn { REVIEW } else { &[] };
                        self.flagged_effect(
                            suffix,
                            effect,
                            flags,
                            pointer.clone(),
                            Some(&Value::Bool(ro)),
                            Some(&Value::Bool(rn)),
                            format!("`{key}` {what}"),
                        );
                    }
                    self.node(
                        old_schema.unwrap_or(&any),
                        new_schema.unwrap_or(&any),
                        &pointer,
                        depth + 1,
                    );
                }
                (false, true) => {
                    if let Additional::Schema(map_schema) = &old_ap {
                        // Map-like object: the key was data before; compare value schemas.
                        self.node(map_schema, new_schema.unwrap_or(&any), &pointer, depth + 1);
                        if input && rn {
                            self.flagged_effect(
                                "required-property-added",
                                Effect::Narrows,
                                REVIEW,
                                pointer,
                                None,
                                new_schema,
                                format!("required property `{key}` added"),
                            );
                        }
                        continue;
                    }
                    if input {
                        if rn {
                            let with_default = new_schema.and_then(|s| s.get("default")).is_some();
                            let (suffix, note) = if with_default {
                                (
                                    "required-property-with-default-added",
                                    " (a default does not make an omitted required argument valid)",
                                )
                            } else {
                                ("required-property-added", "")
                            };
                            self.flagged_effect(
                                suffix,
                                Effect::Narrows,
                                REVIEW,
                                pointer,
                                None,
                                new_schema,
                                format!("required parameter `{key}` added{note}"),
                            );
                        } else {
                            self.emit(
                                self.id("optional-property-added"),
                                Bump::Minor,
                                REVIEW,
                                pointer,
                                None,
                                new_schema,
                                format!("optional parameter `{key}` added"),
                            );
                        }
                    } else if old_closed {
                        self.emit(
                            self.id("property-added-closed"),
                            Bump::Major,
                            REVIEW,
                            pointer,
                            None,
                            new_schema,
                            format!(
                                "property `{key}` added to a closed object; consumers validating with `additionalProperties: false` reject it"
                            ),
                        );
                    } else {
                        self.emit(
                            self.id("property-added"),
                            Bump::Minor,
                            REVIEW,
                            pointer,
                            None,
                            new_schema,
                            format!("property `{key}` added"),
                        );
                    }
                }
                (true, false) => {
                    if input {
                        if let Additional::Schema(map_schema) = &new_ap {
                            self.node(old_schema.unwrap_or(&any), map_schema, &pointer, depth + 1);
                        } else if new_closed {
                            self.emit(
                                self.id("property-removed-closed"),
                                Bump::Major,
                                &[],
                                pointer,
                                old_schema,
                                None,
                                format!(
                                    "parameter `{key}` removed from a closed object; calls that send it are now rejected"
                                ),
                            );
                        } else {
                            self.emit(
                                self.id("property-removed-open"),
                                Bump::Minor,
                                &[Flag::Warning, Flag::BehaviourChange],
                                pointer,
                                old_schema,
                                None,
                                format!(
                                    "parameter `{key}` removed; calls that send it still validate but the argument is silently ignored"
                                ),
                            );
                        }
                    } else if ro {
                        self.emit(
                            self.id("required-property-removed"),
                            Bump::Major,
                            &[],
                            pointer,
                            old_schema,
                            None,
                            format!("required property `{key}` removed from the result"),
                        );
                    } else {
                        self.emit(
                            self.id("optional-property-removed"),
                            Bump::Minor,
                            &[Flag::Warning],
                            pointer,
                            old_schema,
                            None,
                            format!("optional property `{key}` no longer in the result"),
                        );
                    }
                }
                (false, false) => {}
            }
        }
        self.additional_properties(&old_ap, &new_ap, old, new, ptr, depth);
        self.map_keywords(old, new, ptr, depth);
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "both sides' keyword, both objects (for `properties`), the pointer and the depth budget"
    )]
    fn additional_properties(
        &mut self,
        old_ap: &Additional<'_>,
        new_ap: &Additional<'_>,
        old: &Obj,
        new: &Obj,
        ptr: &str,
        depth: usize,
    ) {
        use Additional::{Closed, Open, Schema};
        let pointer = child(ptr, "additionalProperties");
        let (o, n) = (
            old.get("additionalProperties"),
            new.get("additionalProperties"),
        );
        let input = self.dir == Direction::Input;
        // (id suffix, level, flags, message)
        // The declared-properties assumption covers objects whose undeclared keys were never
        // data; once `additionalProperties` is a schema (a map), keys are data and it does not.
        let outcome: Option<(&str, Bump, &[Flag], &str)> = match (old_ap, new_ap) {
            (Open, Open) | (Closed, Closed) => None,
            (Schema(a), Schema(b)) => {
                self.node(a, b, &pointer, depth + 1);
                None
            }
            (Schema(_), Closed) if input => Some((
                "map-narrowed",
                Bump::Major,
                &[],
                "the map no longer accepts undeclared keys",
            )),
            (Open, Closed | Schema(_)) if input => Some((
                "closed",
                Bump::Minor,
                &[Flag::Warning],
                "undeclared properties are now rejected (callers should not send them; LLM callers sometimes do)",
            )),
            (Open | Schema(_), Closed) | (Open, Schema(_)) => Some((
                "closed",
                Bump::Minor,
                &[],
                "undeclared properties are no longer produced",
            )),
            (Closed | Schema(_), Open) | (Closed, Schema(_)) if input => Some((
                "opened",
                Bump::Minor,
                &[],
                "undeclared properties are now accepted",
            )),
            (Schema(_), Open) => Some((
                "map-widened",
                Bump::Major,
                &[],
                "the result map may now hold values it did not before",
            )),
            (Closed, Open | Schema(_)) => Some((
                "opened",
                Bump::Minor,
                &[Flag::Warning],
                "the result object is no longer closed; consumers validating strictly may see undeclared properties",
            )),
        };
        if let Some((suffix, level, flags, message)) = outcome {
            let id = self.id(suffix);
            self.emit(id, level, flags, pointer, o, n, message.to_owned());
        }
    }

    /// `patternProperties` and `propertyNames`: keys as data, so the declared-properties
    /// assumption does not apply.
    fn map_keywords(&mut self, old: &Obj, new: &Obj, ptr: &str, depth: usize) {
        for keyword in ["patternProperties", "propertyNames"] {
            let (o, n) = (old.get(keyword), new.get(keyword));
            if o == n {
                continue;
            }
            let pointer = child(ptr, keyword);
            let input = self.dir == Direction::Input;
            match (o, n) {
                (None, Some(_)) => {
                    let suffix = if input {
                        "map-narrowed"
                    } else {
                        "keyword-added"
                    };
                    self.effect(
                        suffix,
                        Effect::Narrows,
                        pointer,
                        o,
                        n,
                        format!("`{keyword}` added"),
                    );
                }
                (Some(_), None) => {
                    let suffix = if input { "opened" } else { "keyword-removed" };
                    self.effect(
                        suffix,
                        Effect::Widens,
                        pointer,
                        o,
                        n,
                        format!("`{keyword}` removed"),
                    );
                }
                (Some(Value::Object(a)), Some(Value::Object(b)))
                    if keyword == "patternProperties"
                        && a.keys().collect::<BTreeSet<_>>()
                            == b.keys().collect::<BTreeSet<_>>() =>
                {
                    for (pattern, schema) in a {
                        if let Some(other) = b.get(pattern) {
                            self.node(schema, other, &child(&pointer, pattern), depth + 1);
                        }
                    }
                }
                (Some(a), Some(b)) if keyword == "propertyNames" => {
                    self.node(a, b, &pointer, depth + 1);
                }
                _ => {
                    let id = self.id("keyword-changed");
                    self.undecidable(id, keyword, pointer, o, n, "key patterns changed");
                }
            }
        }
    }
}
