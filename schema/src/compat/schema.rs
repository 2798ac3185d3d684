//! Directional comparison of two JSON Schemas (an `inputSchema` or `outputSchema` pair).
//!
//! Every change is first classified by what it does to the set of accepted values (widens,
//! narrows, or neither contains the other); the direction then turns that into a level: for input
//! widening is minor and narrowing major, for output the reverse.
//!
//! Local `$ref`s (`#`, `#/$defs/...`, `#/definitions/...`) are resolved, so moving a subschema
//! between inline and `$defs` is not a change. Recursion through `$ref`s is memoised as compatible
//! (differences are reported where they are first met); a `$ref` chain that never reaches a schema,
//! non-local refs, and exceeded budgets are undecidable.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::{Bump, Direction, Finding, Flag, Sink, SurfaceKind, child};

/// Deepest schema nesting followed before giving up.
const MAX_DEPTH: usize = 64;
/// Most subschema pairs compared per schema before giving up (guards against `$defs` explosions).
const MAX_NODES: usize = 20_000;
/// Longest `$ref` → `$ref` chain followed.
const MAX_REF_HOPS: usize = 32;
/// Largest number compared exactly (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

type Obj = Map<String, Value>;

/// What a change does to the set of accepted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Widens,
    Narrows,
    /// Neither set contains the other.
    Changes,
}

/// Compares `old` and `new` schemas of one tool in direction `dir`; `base` is the pointer of the
/// schema inside the tool (e.g. `/inputSchema`).
pub(super) fn compare(
    dir: Direction,
    surface: SurfaceKind,
    name: &str,
    base: &str,
    old: &Value,
    new: &Value,
    sink: &mut Sink,
) {
    if old == new {
        return;
    }
    let defs_equal = defs_of(old) == defs_of(new);
    let mut differ = Differ {
        dir,
        surface,
        name,
        old_root: old,
        new_root: new,
        defs_equal,
        sink,
        stack: HashSet::new(),
        nodes: 0,
        budget_reported: false,
    };
    differ.node(old, new, base, 0);
}

/// The `$defs` and `definitions` of a root schema, for the "refs resolve the same" shortcut.
fn defs_of(root: &Value) -> (Option<&Value>, Option<&Value>) {
    (root.get("$defs"), root.get("definitions"))
}

struct Differ<'a, 's> {
    dir: Direction,
    surface: SurfaceKind,
    name: &'a str,
    old_root: &'a Value,
    new_root: &'a Value,
    /// Both roots define the same `$defs`: raw-equal subschemas then mean the same.
    defs_equal: bool,
    sink: &'s mut Sink,
    /// `$ref` target pairs being compared (recursion guard).
    stack: HashSet<(String, String)>,
    nodes: usize,
    budget_reported: bool,
}

/// A subschema after `$ref` resolution: its keywords and the final ref target (for the recursion
/// guard).
struct Resolved<'v> {
    map: Cow<'v, Obj>,
    target: Option<String>,
    has_ref: bool,
}

impl Differ<'_, '_> {
    fn prefix(&self) -> &'static str {
        match self.dir {
            Direction::Output => "output",
            _ => "input",
        }
    }

    fn id(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix())
    }

    fn level(&self, effect: Effect) -> Bump {
        match (self.dir, effect) {
            (Direction::Output, Effect::Narrows) | (Direction::Input, Effect::Widens) => {
                Bump::Minor
            }
            _ => Bump::Major,
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of a finding that vary per schema keyword; the rest come from `self`"
    )]
    fn emit(
        &mut self,
        id: String,
        level: Bump,
        flags: &[Flag],
        pointer: String,
        old: Option<&Value>,
        new: Option<&Value>,
        message: String,
    ) {
        self.sink.push(Finding::new(
            id,
            level,
            self.dir,
            flags,
            self.surface,
            self.name,
            pointer,
            old.cloned(),
            new.cloned(),
            message,
        ));
    }

    fn undecidable(
        &mut self,
        id: String,
        keyword: &str,
        pointer: String,
        old: Option<&Value>,
        new: Option<&Value>,
        reason: &str,
    ) {
        self.sink.undecidable(
            id,
            self.dir,
            self.surface,
            self.name,
            keyword,
            pointer,
            old.cloned(),
            new.cloned(),
            reason,
        );
    }

    /// Emits a change whose level follows from its effect.
    fn effect(
        &mut self,
        suffix: &str,
        effect: Effect,
        pointer: String,
        old: Option<&Value>,
        new: Option<&Value>,
        message: String,
    ) {
        let id = self.id(suffix);
        let level = self.level(effect);
        self.emit(id, level, &[], pointer, old, new, message);
    }

    fn node(&mut self, old: &Value, new: &Value, ptr: &str, depth: usize) {
        if self.defs_equal && old == new {
            return;
        }
        self.nodes += 1;
        if depth > MAX_DEPTH || self.nodes > MAX_NODES {
            if !self.budget_reported {
                self.budget_reported = true;
                let id = self.id("schema-undecidable");
                self.undecidable(
                    id,
                    "budget",
                    ptr.to_owned(),
                    None,
                    None,
                    "schema too deep or too large to compare within the budget",
                );
            }
            return;
        }
        let old_resolved = match resolve(self.old_root, old) {
            Ok(resolved) => resolved,
            Err(reason) => {
                let id = self.id("schema-undecidable");
                self.undecidable(id, "$ref", ptr.to_owned(), Some(old), Some(new), &reason);
                return;
            }
        };
        let new_resolved = match resolve(self.new_root, new) {
            Ok(resolved) => resolved,
            Err(reason) => {
                let id = self.id("schema-undecidable");
                self.undecidable(id, "$ref", ptr.to_owned(), Some(old), Some(new), &reason);
                return;
            }
        };
        let key = (
            old_resolved.target.clone().unwrap_or_default(),
            new_resolved.target.clone().unwrap_or_default(),
        );
        let guarded = old_resolved.target.is_some() || new_resolved.target.is_some();
        if guarded && !self.stack.insert(key.clone()) {
            // Already comparing this pair further up: assume compatible (coinduction).
            return;
        }
        let before = self.sink.findings.len();
        self.keywords(&old_resolved.map, &new_resolved.map, ptr, depth);
        if self.sink.findings.len() == before
            && (old_resolved.has_ref || new_resolved.has_ref)
            && old != new
        {
            let id = self.id("ref-refactor");
            self.emit(
                id,
                Bump::None,
                &[],
                ptr.to_owned(),
                Some(old),
                Some(new),
                "subschema moved between inline and `$defs`/`$ref`; it resolves to the same schema"
                    .to_owned(),
            );
        }
        if guarded {
            self.stack.remove(&key);
        }
    }

    fn keywords(&mut self, old: &Obj, new: &Obj, ptr: &str, depth: usize) {
        if self.unsupported(old, new, ptr, depth) {
            return;
        }
        let old = unwrap_nullable(old);
        let new = unwrap_nullable(new);
        let (old, new) = (old.as_ref(), new.as_ref());
        self.types(old, new, ptr);
        self.enums(old, new, ptr);
        self.constant(old, new, ptr);
        self.bounds(old, new, ptr);
        self.multiple_of(old, new, ptr);
        self.unique_items(old, new, ptr);
        self.pattern(old, new, ptr);
        self.format(old, new, ptr);
        self.annotations(old, new, ptr);
        self.header_mirror(old, new, ptr);
        self.object(old, new, ptr, depth);
        self.arrays(old, new, ptr, depth);
        for keyword in ["anyOf", "oneOf", "allOf"] {
            self.composition(keyword, old, new, ptr, depth);
        }
        self.opaque_keywords(old, new, ptr);
    }

    /// Keywords whose scoping rules the checker does not model: undecidable when the schemas differ.
    /// A root `$id` only names the document and is harmless.
    fn unsupported(&mut self, old: &Obj, new: &Obj, ptr: &str, depth: usize) -> bool {
        const UNSUPPORTED: [&str; 6] = [
            "$dynamicRef",
            "$dynamicAnchor",
            "$recursiveRef",
            "$recursiveAnchor",
            "$anchor",
            "$id",
        ];
        let found = UNSUPPORTED
            .iter()
            .filter(|keyword| depth > 0 || **keyword != "$id")
            .find(|keyword| old.contains_key(**keyword) || new.contains_key(**keyword));
        match found {
            Some(keyword) if old != new => {
                let id = self.id("keyword-changed");
                self.undecidable(
                    id,
                    keyword,
                    child(ptr, keyword),
                    old.get(*keyword),
                    new.get(*keyword),
                    "dynamic scopes, anchors and `$id` are not resolved by the checker",
                );
                true
            }
            _ => false,
        }
    }

    fn types(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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

    fn enums(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        let (old_enum, old_ext) = enum_of(old);
        let (new_enum, new_ext) = enum_of(new);
        let pointer = child(ptr, "enum");
        match (old_enum, new_enum) {
            (None, None) => {}
            (None, Some(values)) => self.effect(
                "became-enum",
                Effect::Narrows,
                pointer,
                None,
                Some(&Value::Array(values.to_vec())),
                "values are now restricted to an enum".to_owned(),
            ),
            (Some(values), None) => self.effect(
                "enum-removed",
                Effect::Widens,
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
                        &[],
                        pointer.clone(),
                        None,
                        Some(&Value::Array(added)),
                        message,
                    );
                }
                if !removed.is_empty() {
                    let message = format!("enum value(s) {} removed", list(&removed));
                    self.effect(
                        "enum-value-removed",
                        Effect::Narrows,
                        pointer,
                        Some(&Value::Array(removed)),
                        None,
                        message,
                    );
                }
            }
        }
    }

    fn constant(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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
        self.effect(suffix, effect, pointer, o, n, format!("`const` {what}"));
    }

    fn bounds(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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

    fn multiple_of(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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

    fn unique_items(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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

    fn pattern(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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
            self.effect(
                suffix,
                Effect::Narrows,
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
            self.effect(
                suffix,
                Effect::Widens,
                pointer,
                o,
                n,
                "`pattern` removed".to_owned(),
            );
        } else {
            let id = self.id("pattern-changed");
            self.undecidable(id, "pattern", pointer, o, n, "regex inclusion not decided");
        }
    }

    fn format(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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
    fn annotations(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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
                "description" => (
                    self.id("annotation-changed"),
                    Bump::Patch,
                    &[Flag::SecurityReview],
                ),
                "default" if input => (
                    self.id("default-changed"),
                    Bump::Minor,
                    &[Flag::BehaviourChange],
                ),
                "deprecated" if input && n == Some(&Value::Bool(true)) => {
                    (self.id("property-deprecated"), Bump::Minor, &[])
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
    fn header_mirror(&mut self, old: &Obj, new: &Obj, ptr: &str) {
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

    #[allow(
        clippy::too_many_lines,
        reason = "one pass over the object keywords, in the order the rules are specified"
    )]
    fn object(&mut self, old: &Obj, new: &Obj, ptr: &str, depth: usize) {
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
                        self.effect(
                            suffix,
                            effect,
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
                            self.effect(
                                "required-property-added",
                                Effect::Narrows,
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
                            self.effect(
                                suffix,
                                Effect::Narrows,
                                pointer,
                                None,
                                new_schema,
                                format!("required parameter `{key}` added{note}"),
                            );
                        } else {
                            self.emit(
                                self.id("optional-property-added"),
                                Bump::Minor,
                                &[Flag::SecurityReview],
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
                            &[],
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
                            &[],
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

    fn arrays(&mut self, old: &Obj, new: &Obj, ptr: &str, depth: usize) {
        let any = Value::Object(Obj::new());
        match (single(old), single(new)) {
            (None, None) => {}
            (o, n) => {
                let pointer = child(ptr, "items");
                self.node(o.unwrap_or(&any), n.unwrap_or(&any), &pointer, depth + 1);
            }
        }
        let (o, n) = (tuple(old), tuple(new));
        if o == n {
            return;
        }
        let pointer = child(ptr, "prefixItems");
        match (o, n) {
            (Some(a), Some(b)) if a.len() == b.len() => {
                for (index, (x, y)) in a.iter().zip(b).enumerate() {
                    self.node(x, y, &child(&pointer, &index.to_string()), depth + 1);
                }
            }
            (None, Some(b)) => self.effect(
                "keyword-added",
                Effect::Narrows,
                pointer,
                None,
                Some(&Value::Array(b.clone())),
                "tuple item schemas added".to_owned(),
            ),
            (Some(a), None) => self.effect(
                "keyword-removed",
                Effect::Widens,
                pointer,
                Some(&Value::Array(a.clone())),
                None,
                "tuple item schemas removed".to_owned(),
            ),
            (a, b) => {
                let id = self.id("keyword-changed");
                self.undecidable(
                    id,
                    "prefixItems",
                    pointer,
                    a.map(|v| Value::Array(v.clone())).as_ref(),
                    b.map(|v| Value::Array(v.clone())).as_ref(),
                    "tuple length changed",
                );
            }
        }
    }

    #[allow(
        clippy::too_many_lines,
        reason = "matching `anyOf`/`oneOf`/`allOf` branches is one algorithm, read top to bottom"
    )]
    fn composition(&mut self, keyword: &str, old: &Obj, new: &Obj, ptr: &str, depth: usize) {
        let empty = Vec::new();
        let o = old.get(keyword).and_then(Value::as_array).unwrap_or(&empty);
        let n = new.get(keyword).and_then(Value::as_array).unwrap_or(&empty);
        if o == n {
            return;
        }
        let pointer = child(ptr, keyword);
        let pairs = self.match_branches(o, n);
        let mut old_used = vec![false; o.len()];
        let mut new_used = vec![false; n.len()];
        for &(i, j) in &pairs {
            old_used[i] = true;
            new_used[j] = true;
            self.node(&o[i], &n[j], &child(&pointer, &j.to_string()), depth + 1);
        }
        let input = self.dir == Direction::Input;
        for (j, branch) in n.iter().enumerate().filter(|(j, _)| !new_used[*j]) {
            let at = child(&pointer, &j.to_string());
            match (keyword, input) {
                ("anyOf", true) => self.effect(
                    "any-of-added",
                    Effect::Widens,
                    at,
                    None,
                    Some(branch),
                    "`anyOf` branch added".to_owned(),
                ),
                ("oneOf", true) => {
                    let others = n.iter().enumerate().filter(|(k, _)| *k != j);
                    let disjoint = others
                        .clone()
                        .all(|(_, other)| self.disjoint(branch, other));
                    if disjoint {
                        self.effect(
                            "one-of-added",
                            Effect::Widens,
                            at,
                            None,
                            Some(branch),
                            "`oneOf` branch added, provably disjoint from the others".to_owned(),
                        );
                    } else {
                        self.undecidable(
                            self.id("one-of-added-overlap"),
                            "oneOf",
                            at,
                            None,
                            Some(branch),
                            "the new branch may overlap another, and a value matching two branches fails `oneOf`",
                        );
                    }
                }
                ("allOf", _) => self.effect(
                    "all-of-added",
                    Effect::Narrows,
                    at,
                    None,
                    Some(branch),
                    "`allOf` subschema added".to_owned(),
                ),
                _ => self.effect(
                    "union-branch-added",
                    Effect::Widens,
                    at,
                    None,
                    Some(branch),
                    format!("`{keyword}` branch added: results may take a new shape"),
                ),
            }
        }
        let old_pointer = child(ptr, keyword);
        for (i, branch) in o.iter().enumerate().filter(|(i, _)| !old_used[*i]) {
            let at = child(&old_pointer, &i.to_string());
            let (suffix, effect) = match (keyword, input) {
                ("anyOf", true) => ("any-of-removed", Effect::Narrows),
                ("oneOf", true) => ("one-of-removed", Effect::Narrows),
                ("allOf", _) => ("all-of-removed", Effect::Widens),
                _ => ("union-branch-removed", Effect::Narrows),
            };
            self.effect(
                suffix,
                effect,
                at,
                Some(branch),
                None,
                format!("`{keyword}` branch removed"),
            );
        }
    }

    /// Pairs old and new branches: equal ones first, then same type signature, then (if the
    /// counts match) the rest in order.
    fn match_branches(&self, o: &[Value], n: &[Value]) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        let mut old_free: Vec<bool> = vec![true; o.len()];
        let mut new_free: Vec<bool> = vec![true; n.len()];
        let signature = |root: &Value, branch: &Value| -> Option<(Option<u8>, Option<Value>)> {
            let resolved = resolve(root, branch).ok()?;
            let map = resolved.map.as_ref();
            Some((types_of(map), map.get("const").cloned()))
        };
        for pass in 0..2 {
            for (j, new_branch) in n.iter().enumerate() {
                if !new_free[j] {
                    continue;
                }
                let found = (0..o.len()).find(|&i| {
                    old_free[i]
                        && if pass == 0 {
                            self.defs_equal && o[i] == *new_branch
                        } else {
                            let a = signature(self.old_root, &o[i]);
                            a.is_some() && a == signature(self.new_root, new_branch)
                        }
                });
                if let Some(i) = found {
                    old_free[i] = false;
                    new_free[j] = false;
                    pairs.push((i, j));
                }
            }
        }
        let rest_old: Vec<usize> = (0..o.len()).filter(|&i| old_free[i]).collect();
        let rest_new: Vec<usize> = (0..n.len()).filter(|&j| new_free[j]).collect();
        if rest_old.len() == rest_new.len() {
            pairs.extend(rest_old.into_iter().zip(rest_new));
        }
        pairs
    }

    /// Whether no value can match both branches (distinct types, disjoint const/enum values, or a
    /// required property with different `const` discriminators).
    fn disjoint(&self, a: &Value, b: &Value) -> bool {
        let (Ok(a), Ok(b)) = (resolve(self.new_root, a), resolve(self.new_root, b)) else {
            return false;
        };
        let (a, b) = (a.map.as_ref(), b.map.as_ref());
        if let (Some(x), Some(y)) = (types_of(a), types_of(b))
            && !covers(x, y)
            && !covers(y, x)
            && expand(x) & expand(y) == 0
        {
            return true;
        }
        let values = |map: &Obj| -> Option<Vec<Value>> {
            map.get("const")
                .map(|v| vec![v.clone()])
                .or_else(|| map.get("enum").and_then(Value::as_array).cloned())
        };
        if let (Some(x), Some(y)) = (values(a), values(b))
            && x.iter().all(|v| !y.contains(v))
        {
            return true;
        }
        let empty = Obj::new();
        let props = |map: &Obj| {
            map.get("properties")
                .and_then(Value::as_object)
                .unwrap_or(&empty)
                .clone()
        };
        let (pa, pb) = (props(a), props(b));
        let (ra, rb) = (required_of(a), required_of(b));
        pa.iter().any(|(key, schema)| {
            let other = pb.get(key).and_then(|s| s.get("const"));
            ra.contains(key.as_str())
                && rb.contains(key.as_str())
                && schema.get("const").is_some()
                && other.is_some()
                && schema.get("const") != other
        })
    }

    /// Keywords compared only for presence: added narrows, removed widens, changed is undecidable.
    fn opaque_keywords(&mut self, old: &Obj, new: &Obj, ptr: &str) {
        for keyword in [
            "not",
            "if",
            "then",
            "else",
            "dependentRequired",
            "dependentSchemas",
            "dependencies",
            "contains",
            "unevaluatedProperties",
            "unevaluatedItems",
            "additionalItems",
        ] {
            let (o, n) = (old.get(keyword), new.get(keyword));
            if o == n {
                continue;
            }
            let pointer = child(ptr, keyword);
            match (o, n) {
                (None, Some(_)) => self.effect(
                    "keyword-added",
                    Effect::Narrows,
                    pointer,
                    o,
                    n,
                    format!("`{keyword}` added"),
                ),
                (Some(_), None) => self.effect(
                    "keyword-removed",
                    Effect::Widens,
                    pointer,
                    o,
                    n,
                    format!("`{keyword}` removed"),
                ),
                _ => {
                    let id = self.id("keyword-changed");
                    self.undecidable(
                        id,
                        keyword,
                        pointer,
                        o,
                        n,
                        "subset relation of the changed subschema is not decided",
                    );
                }
            }
        }
    }
}

/// Tuple item schemas: 2020-12 `prefixItems`, or the draft-07 array form of `items`.
fn tuple(map: &Obj) -> Option<&Vec<Value>> {
    map.get("prefixItems")
        .and_then(Value::as_array)
        .or_else(|| map.get("items").and_then(Value::as_array))
}

/// The single `items` schema (not the draft-07 tuple form).
fn single(map: &Obj) -> Option<&Value> {
    map.get("items").filter(|items| !items.is_array())
}

/// Resolves `$ref` chains (local only) and merges sibling keywords over the target.
fn resolve<'v>(root: &'v Value, node: &'v Value) -> Result<Resolved<'v>, String> {
    let mut current: Cow<'v, Obj> = match node {
        Value::Object(map) => Cow::Borrowed(map),
        Value::Bool(true) => Cow::Owned(Obj::new()),
        Value::Bool(false) => {
            let mut never = Obj::new();
            never.insert("type".to_owned(), Value::Array(Vec::new()));
            Cow::Owned(never)
        }
        _ => return Err("subschema is neither an object nor a boolean".to_owned()),
    };
    let mut target = None;
    let mut seen: Vec<String> = Vec::new();
    let has_ref = current.contains_key("$ref");
    while let Some(reference) = current.get("$ref") {
        let Some(reference) = reference.as_str() else {
            return Err("`$ref` is not a string".to_owned());
        };
        if seen.len() >= MAX_REF_HOPS || seen.iter().any(|r| r == reference) {
            return Err(format!("cyclic `$ref` chain through `{reference}`"));
        }
        seen.push(reference.to_owned());
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(format!(
                "non-local `$ref` `{reference}` is never dereferenced"
            ));
        };
        if !fragment.is_empty() && !fragment.starts_with('/') {
            return Err(format!("anchor `$ref` `{reference}` is not resolved"));
        }
        let fragment = percent_decode(fragment);
        let found = root
            .pointer(&fragment)
            .ok_or_else(|| format!("`$ref` `{reference}` points at nothing"))?;
        let mut merged: Obj = match found {
            Value::Object(map) => map.clone(),
            Value::Bool(true) => Obj::new(),
            Value::Bool(false) => {
                let mut never = Obj::new();
                never.insert("type".to_owned(), Value::Array(Vec::new()));
                never
            }
            _ => return Err(format!("`$ref` `{reference}` does not point at a schema")),
        };
        // Sibling keywords of `$ref` apply too (2020-12); the target's own `$ref` continues the
        // chain.
        for (key, value) in current.iter() {
            if key != "$ref" && key != "$defs" && key != "definitions" {
                merged.insert(key.clone(), value.clone());
            }
        }
        target = Some(fragment.clone());
        current = Cow::Owned(merged);
    }
    Ok(Resolved {
        map: current,
        target,
        has_ref,
    })
}

/// Decodes `%xx` escapes in a URI fragment (JSON Pointer tokens may be percent-encoded in `$ref`).
fn percent_decode(fragment: &str) -> String {
    if !fragment.contains('%') {
        return fragment.to_owned();
    }
    percent_encoding::percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned()
}

/// `T | null` written as a two-branch `anyOf`/`oneOf` with a `{type: "null"}` branch, folded into
/// `T` with `null` added to its types, so all three spellings of nullability compare equal.
fn unwrap_nullable(map: &Obj) -> Cow<'_, Obj> {
    for keyword in ["anyOf", "oneOf"] {
        let Some(branches) = map.get(keyword).and_then(Value::as_array) else {
            continue;
        };
        if branches.len() != 2 {
            continue;
        }
        let is_null = |v: &Value| {
            v.as_object()
                .is_some_and(|o| o.len() == 1 && types_of(o) == Some(NULL))
        };
        let other = match (is_null(&branches[0]), is_null(&branches[1])) {
            (true, false) => &branches[1],
            (false, true) => &branches[0],
            _ => continue,
        };
        let Some(other) = other.as_object() else {
            continue;
        };
        let Some(types) = types_of(other) else {
            continue;
        };
        if other.contains_key("$ref") {
            continue;
        }
        let mut merged = map.clone();
        merged.remove(keyword);
        for (key, value) in other {
            merged.entry(key.clone()).or_insert_with(|| value.clone());
        }
        merged.insert("type".to_owned(), types_value(types | NULL));
        return Cow::Owned(merged);
    }
    Cow::Borrowed(map)
}

const NULL: u8 = 1;
const BOOLEAN: u8 = 2;
const OBJECT: u8 = 4;
const ARRAY: u8 = 8;
const NUMBER: u8 = 16;
const STRING: u8 = 32;
const INTEGER: u8 = 64;
const TYPE_NAMES: [(u8, &str); 7] = [
    (NULL, "null"),
    (BOOLEAN, "boolean"),
    (OBJECT, "object"),
    (ARRAY, "array"),
    (NUMBER, "number"),
    (STRING, "string"),
    (INTEGER, "integer"),
];

/// The `type` keyword as a bit set; `None` when absent or unreadable (no constraint).
fn types_of(map: &Obj) -> Option<u8> {
    let bit = |name: &str| TYPE_NAMES.iter().find(|(_, n)| *n == name).map(|(b, _)| *b);
    match map.get("type")? {
        Value::String(name) => bit(name),
        Value::Array(names) => names
            .iter()
            .map(|name| name.as_str().and_then(bit))
            .try_fold(0u8, |acc, b| b.map(|b| acc | b)),
        _ => None,
    }
}

/// Whether every value of types `b` is a value of types `a` (integer ⊂ number).
fn covers(a: u8, b: u8) -> bool {
    let a = expand(a);
    b & !a == 0
}

/// `number` includes `integer`.
fn expand(types: u8) -> u8 {
    if types & NUMBER != 0 {
        types | INTEGER
    } else {
        types
    }
}

fn types_value(types: u8) -> Value {
    let names: Vec<Value> = TYPE_NAMES
        .iter()
        .filter(|(bit, _)| types & bit != 0)
        .map(|(_, name)| Value::String((*name).to_owned()))
        .collect();
    if names.len() == 1 {
        names.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(names)
    }
}

fn describe_types(types: Option<u8>) -> String {
    match types {
        None => "any".to_owned(),
        Some(0) => "nothing".to_owned(),
        Some(bits) => TYPE_NAMES
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join("|"),
    }
}

/// `enum` values and whether the enum is declared extensible (`x-extensible-enum: true`, or the
/// OpenAPI-style `x-extensible-enum: [...]` that lists values in place of `enum`).
fn enum_of(map: &Obj) -> (Option<&[Value]>, bool) {
    match (
        map.get("enum").and_then(Value::as_array),
        map.get("x-extensible-enum"),
    ) {
        (Some(values), ext) => (
            Some(values),
            ext.is_some_and(|e| e.as_bool() == Some(true) || e.is_array()),
        ),
        (None, Some(Value::Array(values))) => (Some(values), true),
        (None, _) => (None, false),
    }
}

fn required_of(map: &Obj) -> BTreeSet<&str> {
    map.get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[derive(Debug, PartialEq)]
enum Additional<'v> {
    /// Absent, `true` or `{}`.
    Open,
    /// `false`.
    Closed,
    /// A value schema: the object is a map.
    Schema(&'v Value),
}

fn additional(map: &Obj) -> Additional<'_> {
    match map.get("additionalProperties") {
        None | Some(Value::Bool(true)) => Additional::Open,
        Some(Value::Bool(false)) => Additional::Closed,
        Some(Value::Object(o)) if o.is_empty() => Additional::Open,
        Some(other) => Additional::Schema(other),
    }
}

fn closed_unevaluated(map: &Obj) -> bool {
    map.get("unevaluatedProperties") == Some(&Value::Bool(false))
}

/// A bound as `f64`: `None` when absent, `Some(None)` when not an exactly comparable number.
fn number(value: &Value) -> Option<f64> {
    value.as_f64().filter(|x| x.abs() <= MAX_EXACT)
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "unset".to_owned(), ToString::to_string)
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
