//! Rules for array keywords: `items`, `prefixItems` and the tuple form of `items`.

use serde_json::Value;

use super::{Differ, Effect, Obj};
use crate::compat::child;

impl Differ<'_, '_> {
    pub(super) fn arrays(&mut self, old: &Obj, new: &Obj, ptr: &str, depth: usize) {
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
