//! Comparing two inferred JSON Schemas (`schema::Shape::to_schema`) by JSON path: which fields
//! one has and the other lacks, and which changed type. `replay` compares each recorded answer
//! with the target's this way, and `conform --against` each case with its snapshot.
//!
//! A schema is flattened to paths (`/engagements/*/id`: `*` is an array's items) with the types
//! seen there. The rules, chosen so that what differs only by sample never counts:
//! - a path is *missing* (or *added*) when its parent exists on both sides and it is not an
//!   array's items: an empty array on one side says nothing about its items' fields;
//! - only the topmost missing path of a subtree is reported (an object's fields are not listed
//!   again when the object itself is gone);
//! - a *type change* compares the types seen with `null` left out and `integer` read as
//!   `number` (a sample can be `null`, or a whole number, by chance); a path only ever `null`
//!   on either side is not compared;
//! - with [`Rules::beneath_arrays`] off, fields beneath array items are compared for type only
//!   (used for long-poll answers, whose events depend on timing).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

/// What differs at one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The old side had the field, the new side lacks it.
    Missing { path: String },
    /// The new side has a field the old one did not.
    Added { path: String },
    /// Both have it, with other types.
    Retyped {
        path: String,
        from: String,
        to: String,
    },
}

impl Change {
    /// The JSON path (`/` for the document itself).
    pub fn path(&self) -> &str {
        match self {
            Change::Missing { path } | Change::Added { path } | Change::Retyped { path, .. } => {
                path
            }
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Missing { path } => write!(f, "field missing at {}", shown(path)),
            Change::Added { path } => write!(f, "field added at {}", shown(path)),
            Change::Retyped { path, from, to } => {
                write!(f, "type changed at {}: {from} → {to}", shown(path))
            }
        }
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

/// How strictly two shapes are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Report fields missing or added beneath array items too (otherwise their types only).
    pub beneath_arrays: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            beneath_arrays: true,
        }
    }
}

/// Every path of `schema` with the types seen there (`{}`: none known).
pub fn paths(schema: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    walk(schema, String::new(), &mut out, 0);
    out
}

fn walk(schema: &Value, at: String, out: &mut BTreeMap<String, BTreeSet<String>>, depth: usize) {
    let types: BTreeSet<String> = match schema.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => BTreeSet::new(),
    };
    if depth < 64 {
        if let Some(Value::Object(props)) = schema.get("properties") {
            for (k, v) in props {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                walk(v, format!("{at}/{escaped}"), out, depth + 1);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(items, format!("{at}/*"), out, depth + 1);
        }
    }
    out.insert(at, types);
}

/// The parent of a path (`/a/b` → `/a`, `/a` → the document).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Types as compared: `null` left out, `integer` read as `number`.
fn compared(types: &BTreeSet<String>) -> BTreeSet<&str> {
    types
        .iter()
        .map(|t| if t == "integer" { "number" } else { t.as_str() })
        .filter(|t| *t != "null")
        .collect()
}

/// What changed from `old` to `new` (two schemas), sorted by path.
pub fn diff(old: &Value, new: &Value, rules: Rules) -> Vec<Change> {
    let (a, b) = (paths(old), paths(new));
    let mut out = Vec::new();
    let presence = |path: &str| -> bool {
        !path.ends_with("/*") && (rules.beneath_arrays || !path.contains("/*/"))
    };
    for (path, types) in &a {
        match b.get(path) {
            None if !path.is_empty()
                && presence(path)
                && b.contains_key(parent(path))
                && a.contains_key(parent(path)) =>
            {
                out.push(Change::Missing { path: path.clone() });
            }
            None => {}
            Some(other) => {
                let (x, y) = (compared(types), compared(other));
                if !x.is_empty() && !y.is_empty() && x != y {
                    let join = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join("|");
                    out.push(Change::Retyped {
                        path: path.clone(),
                        from: join(&x),
                        to: join(&y),
                    });
                }
            }
        }
    }
    for path in b.keys() {
        if !a.contains_key(path)
            && !path.is_empty()
            && presence(path)
            && a.contains_key(parent(path))
        {
            out.push(Change::Added { path: path.clone() });
        }
    }
    out.sort_by(|x, y| x.path().cmp(y.path()).then_with(|| x.cmp(y)));
    out
}

/// The schema of one JSON value (`schema::Shape` over one sample).
pub fn schema_of(v: &Value) -> Value {
    let mut s = super::schema::Shape::default();
    s.add(v);
    s.to_schema()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(old: Value, new: Value, rules: Rules) -> Vec<String> {
        diff(&schema_of(&old), &schema_of(&new), rules)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn missing_added_and_retyped_fields_are_named_by_path() {
        let got = d(
            json!({"a": 1, "b": {"c": "x", "e": [1]}, "f": true, "n": null}),
            json!({"a": "1", "b": {"d": "x", "e": [2.5]}, "n": 3}),
            Rules::default(),
        );
        assert_eq!(
            got,
            vec![
                "type changed at /a: number → string",
                "field missing at /b/c",
                "field added at /b/d",
                "field missing at /f",
            ]
        );
    }

    #[test]
    fn only_the_topmost_missing_path_and_no_empty_array_items_are_reported() {
        let got = d(
            json!({"o": {"x": 1, "y": {"z": 2}}, "l": [{"k": 1}], "m": []}),
            json!({"l": [], "m": [{"k": "s"}]}),
            Rules::default(),
        );
        assert_eq!(got, vec!["field missing at /o"]);
    }

    #[test]
    fn beneath_arrays_off_compares_item_fields_by_type_only() {
        let old = json!({"e": [{"m": [{"messageType": "newRequest", "x": 1}]}]});
        let new = json!({"e": [{"m": [{"messageType": "chatLine", "text": "hi", "x": "1"}]}]});
        let rules = Rules {
            beneath_arrays: false,
        };
        assert_eq!(
            d(old.clone(), new.clone(), rules),
            vec!["type changed at /e/*/m/*/x: number → string"]
        );
        assert_eq!(d(old, new, Rules::default()).len(), 2);
    }

    #[test]
    fn equal_shapes_with_other_values_do_not_differ() {
        assert!(
            d(
                json!({"id": "1-2", "n": 1, "s": [1, 2]}),
                json!({"id": "9-9", "n": 2.5, "s": [7]}),
                Rules::default()
            )
            .is_empty()
        );
        assert!(d(json!("x"), json!("y"), Rules::default()).is_empty());
    }
}
