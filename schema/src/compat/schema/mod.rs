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

mod array;
mod composition;
mod object;
mod read;
mod refs;
mod scalar;

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{Map, Value};

use self::read::unwrap_nullable;
use self::refs::resolve;
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

/// Flags of a change to a string the model reads: descriptions, titles, `examples`, `default`,
/// `enum`, `const`, `pattern`, property names.
const REVIEW: &[Flag] = &[Flag::SecurityReview];

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
        self.flagged_effect(suffix, effect, &[], pointer, old, new, message);
    }

    /// [`Self::effect`] with flags (e.g. [`Flag::SecurityReview`] for model-facing strings).
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of a finding that vary per schema keyword; the rest come from `self`"
    )]
    fn flagged_effect(
        &mut self,
        suffix: &str,
        effect: Effect,
        flags: &[Flag],
        pointer: String,
        old: Option<&Value>,
        new: Option<&Value>,
        message: String,
    ) {
        let id = self.id(suffix);
        let level = self.level(effect);
        self.emit(id, level, flags, pointer, old, new, message);
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
