//! Rules for `anyOf`/`oneOf`/`allOf`: branch matching and disjointness.

use serde_json::Value;

use super::read::{covers, expand, required_of, types_of};
use super::refs::resolve;
use super::{Differ, Effect, Obj};
use crate::compat::{Direction, child};

impl Differ<'_, '_> {
    #[allow(
        clippy::too_many_lines,
        reason = "matching `anyOf`/`oneOf`/`allOf` branches is one algorithm, read top to bottom"
    )]
    pub(super) fn composition(
        &mut self,
        keyword: &str,
        old: &Obj,
        new: &Obj,
        ptr: &str,
        depth: usize,
    ) {
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
}
