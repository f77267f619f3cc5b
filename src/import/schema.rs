//! JSON Schema inference from recorded response bodies, merged over every sample.
//!
//! Written here rather than taken from a crate: `genson-rs` 0.2 installs mimalloc as the global
//! allocator from its library and `unwrap`s its input; `infers-jsonschema` 0.1 (2020) infers from
//! one document and cannot merge; `jtd-infer` writes JSON Type Definition, not JSON Schema.
//!
//! The rule: each property's types are the union of the types seen (an integer and a number
//! make `number`); `required` lists the properties present in every object sample; array items
//! are merged over every element of every sample; a value only ever seen as `null` gets no type
//! (the recording cannot tell what it holds otherwise). No values, enums or formats are copied:
//! a schema says nothing the recording's data could leak.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// Deeper values are left untyped (serde_json already stops at 128 levels).
const MAX_DEPTH: usize = 32;

/// What the samples seen at one place had in common.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    types: BTreeSet<&'static str>,
    /// Object samples seen, and per property how many of them had it.
    objects: usize,
    props: BTreeMap<String, (usize, Shape)>,
    items: Option<Box<Shape>>,
    samples: usize,
}

impl Shape {
    /// Merges one sample.
    pub fn add(&mut self, v: &Value) {
        self.add_at(v, 0);
    }

    /// How many samples were merged.
    pub fn samples(&self) -> usize {
        self.samples
    }

    fn add_at(&mut self, v: &Value, depth: usize) {
        self.samples += 1;
        if depth >= MAX_DEPTH {
            return;
        }
        match v {
            Value::Null => {
                self.types.insert("null");
            }
            Value::Bool(_) => {
                self.types.insert("boolean");
            }
            Value::Number(n) => {
                self.types
                    .insert(if n.is_f64() { "number" } else { "integer" });
            }
            Value::String(_) => {
                self.types.insert("string");
            }
            Value::Array(items) => {
                self.types.insert("array");
                let shape = self.items.get_or_insert_with(Box::default);
                for item in items {
                    shape.add_at(item, depth + 1);
                }
            }
            Value::Object(map) => {
                self.types.insert("object");
                self.objects += 1;
                for (k, item) in map {
                    let slot = self.props.entry(k.clone()).or_default();
                    slot.0 += 1;
                    slot.1.add_at(item, depth + 1);
                }
            }
        }
    }

    /// The JSON Schema for what was merged.
    pub fn to_schema(&self) -> Value {
        let mut types: Vec<&str> = self.types.iter().copied().collect();
        if types.contains(&"number") {
            types.retain(|t| *t != "integer");
        }
        if types == ["null"] || types.is_empty() {
            return json!({});
        }
        let mut out = Map::new();
        out.insert(
            "type".into(),
            match types.as_slice() {
                [one] => json!(one),
                many => json!(many),
            },
        );
        if self.types.contains("object") && !self.props.is_empty() {
            let required: Vec<&str> = self
                .props
                .iter()
                .filter(|(_, (n, _))| *n == self.objects)
                .map(|(k, _)| k.as_str())
                .collect();
            if !required.is_empty() {
                out.insert("required".into(), json!(required));
            }
            let props: Map<String, Value> = self
                .props
                .iter()
                .map(|(k, (_, s))| (k.clone(), s.to_schema()))
                .collect();
            out.insert("properties".into(), Value::Object(props));
        }
        if let Some(items) = &self.items
            && items.samples > 0
        {
            let s = items.to_schema();
            if s != json!({}) {
                out.insert("items".into(), s);
            }
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(samples: &[Value]) -> Value {
        let mut s = Shape::default();
        for v in samples {
            s.add(v);
        }
        s.to_schema()
    }

    #[test]
    fn required_is_what_every_sample_has_and_types_merge() {
        let got = infer(&[
            json!({"a": 1, "b": "x", "c": null, "d": [1, 2.5]}),
            json!({"a": 2.5, "b": "y", "e": true, "d": []}),
        ]);
        assert_eq!(
            got,
            json!({
                "type": "object",
                "required": ["a", "b", "d"],
                "properties": {
                    "a": {"type": "number"},
                    "b": {"type": "string"},
                    "c": {},
                    "d": {"type": "array", "items": {"type": "number"}},
                    "e": {"type": "boolean"},
                }
            })
        );
    }

    #[test]
    fn array_items_merge_over_every_element_and_nulls_widen_types() {
        let got = infer(&[
            json!({"m": [
            {"messageType": "newRequest", "timestamp": 1},
            {"messageType": "chatLine", "messageText": "hi", "timestamp": 2},
        ], "s": "a"}),
            json!({"m": [], "s": null}),
        ]);
        assert_eq!(
            got,
            json!({
                "type": "object",
                "required": ["m", "s"],
                "properties": {
                    "m": {"type": "array", "items": {
                        "type": "object",
                        "required": ["messageType", "timestamp"],
                        "properties": {
                            "messageText": {"type": "string"},
                            "messageType": {"type": "string"},
                            "timestamp": {"type": "integer"},
                        }
                    }},
                    "s": {"type": ["null", "string"]},
                }
            })
        );
    }

    #[test]
    fn the_inferred_schema_compiles_and_accepts_every_sample() {
        let samples = [
            json!({"x": [{"y": 1}], "z": {"w": "s"}}),
            json!({"x": [{"y": 2, "q": false}], "z": {"w": "t", "v": 1.5}}),
        ];
        let schema = infer(&samples);
        let v = jsonschema::validator_for(&schema).expect("compiles");
        for s in &samples {
            assert!(v.is_valid(s), "{s}");
        }
        assert!(!v.is_valid(&json!({"x": [{"y": "no"}], "z": {"w": "s"}})));
    }

    #[test]
    fn depth_is_bounded() {
        let mut v = json!(1);
        for _ in 0..100 {
            v = json!([v]);
        }
        let mut s = Shape::default();
        s.add(&v);
        let text = s.to_schema().to_string();
        assert_eq!(text.matches("items").count(), MAX_DEPTH - 1);
    }
}
