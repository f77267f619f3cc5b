//! The span tree: a second, position-keeping parse of a suite (saphyr's marked YAML).
//!
//! serde_yaml gives the typed [`Suite`](super::Suite) but only one error with a position. The
//! semantic checks (`validate`) walk this tree instead, so every problem they find points at its
//! own key or value, and they still run when serde_yaml stopped at a type error. Positions are
//! byte ranges into the suite's source text.

use std::collections::BTreeMap;
use std::ops::Range;

use saphyr::{LoadableYamlNode, MarkedYaml, Marker, Scalar, YamlData};

/// One node of the suite with its byte range in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Range<usize>,
    pub value: Value,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar: its text as the value (strings unquoted, numbers as written) and whether YAML
    /// reads it as a string.
    Scalar {
        text: String,
        is_string: bool,
    },
    /// Keys in file order, each with the key's own span.
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    /// Null, an alias, or anything else the checks ignore.
    Other,
}

/// A mapping entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub node: Node,
}

impl Node {
    /// The entry under `key`, when this is a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|e| e.key == key)
    }

    /// The value under `key`, when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.node)
    }

    /// The entries of a mapping (none for anything else).
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(m) => m,
            _ => &[],
        }
    }

    /// The items of a sequence (none for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(s) => s,
            _ => &[],
        }
    }

    /// A scalar's text, whatever type YAML gives it.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A scalar's text when YAML reads it as a string.
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar {
                text,
                is_string: true,
            } => Some(text),
            _ => None,
        }
    }
}

/// Turns saphyr's character indices into byte offsets in O(log n): the byte offset of a
/// character is its index plus the extra bytes of the multi-byte characters before it (none in
/// an ASCII file). Columns are not used: counting characters along a line is quadratic on a
/// long one-line flow mapping.
struct Lines<'a> {
    src: &'a str,
    /// For each multi-byte character: its character index, and the extra bytes up to and
    /// including it.
    wide: Vec<(usize, usize)>,
}

impl<'a> Lines<'a> {
    fn new(src: &'a str) -> Self {
        let mut extra = 0;
        let wide = src
            .chars()
            .enumerate()
            .filter(|(_, c)| !c.is_ascii())
            .map(|(i, c)| {
                extra += c.len_utf8() - 1;
                (i, extra)
            })
            .collect();
        Lines { src, wide }
    }

    /// Byte offset of a marker, clamped to the source.
    fn offset(&self, m: &Marker) -> usize {
        let i = m.index();
        let before = self.wide.partition_point(|&(c, _)| c < i);
        let extra = before.checked_sub(1).map_or(0, |k| self.wide[k].1);
        (i + extra).min(self.src.len())
    }

    fn span(&self, start: &Marker, end: &Marker) -> Range<usize> {
        let a = self.offset(start);
        let b = self.offset(end).max(a);
        // Block nodes end at the start of the next line: stop at the last non-blank byte.
        a..a + self.src.get(a..b).unwrap_or_default().trim_end().len()
    }
}

/// Parses `src` into a span tree (its first document). `Err` holds the parser's message and the
/// byte offset where it stopped.
pub fn parse(src: &str) -> Result<Option<Node>, (String, usize)> {
    let lines = Lines::new(src);
    let docs = MarkedYaml::load_from_str(src)
        .map_err(|e| (e.info().to_string(), lines.offset(e.marker())))?;
    Ok(docs.first().map(|d| convert(d, &lines)))
}

fn convert(y: &MarkedYaml<'_>, lines: &Lines<'_>) -> Node {
    let span = lines.span(&y.span.start, &y.span.end);
    let value = match &y.data {
        YamlData::Value(s) => scalar(s, &span, lines.src),
        YamlData::Mapping(m) => Value::Map(
            m.iter()
                .map(|(k, v)| Entry {
                    key: match &k.data {
                        YamlData::Value(s) => {
                            match scalar(s, &lines.span(&k.span.start, &k.span.end), lines.src) {
                                Value::Scalar { text, .. } => text,
                                _ => String::new(),
                            }
                        }
                        _ => String::new(),
                    },
                    key_span: lines.span(&k.span.start, &k.span.end),
                    node: convert(v, lines),
                })
                .collect(),
        ),
        YamlData::Sequence(s) => Value::Seq(s.iter().map(|n| convert(n, lines)).collect()),
        _ => Value::Other,
    };
    Node { span, value }
}

fn scalar(s: &Scalar<'_>, span: &Range<usize>, src: &str) -> Value {
    match s {
        Scalar::String(t) => Value::Scalar {
            text: t.to_string(),
            is_string: true,
        },
        Scalar::Null => Value::Other,
        _ => Value::Scalar {
            text: src.get(span.clone()).unwrap_or_default().to_string(),
            is_string: false,
        },
    }
}

/// Every node by its field path as serde_yaml spells it (`personas.fast.max_chats`,
/// `load.steps[1].duration`): the key's span and the value's span.
pub fn path_map(root: &Node) -> BTreeMap<String, (Option<Range<usize>>, Range<usize>)> {
    let mut map = BTreeMap::new();
    fn walk(
        n: &Node,
        path: String,
        key: Option<Range<usize>>,
        map: &mut BTreeMap<String, (Option<Range<usize>>, Range<usize>)>,
    ) {
        for e in n.entries() {
            let p = if path.is_empty() {
                e.key.clone()
            } else {
                format!("{path}.{}", e.key)
            };
            walk(&e.node, p, Some(e.key_span.clone()), map);
        }
        for (i, item) in n.items().iter().enumerate() {
            walk(item, format!("{path}[{i}]"), None, map);
        }
        map.insert(path, (key, n.span.clone()));
    }
    walk(root, String::new(), None, &mut map);
    map
}

/// Within a scalar written at `span`, the byte range of `sub` (a byte range of its value), when
/// the scalar is written on one line without escapes; otherwise the whole scalar.
pub fn sub_span(src: &str, span: &Range<usize>, value: &str, sub: Range<usize>) -> Range<usize> {
    let raw = src.get(span.clone()).unwrap_or_default();
    let inner = if raw == value {
        Some(0)
    } else if raw.len() == value.len() + 2
        && (raw.starts_with('"') || raw.starts_with('\''))
        && raw.get(1..raw.len() - 1) == Some(value)
    {
        Some(1)
    } else {
        None
    };
    match inner {
        Some(d) if sub.end <= value.len() => span.start + d + sub.start..span.start + d + sub.end,
        _ => span.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "name: smoke\nload:\n  agents: 20\n  ramp: \"5s\"\npersonas:\n  fast: {weight: 3}\nthresholds:\n  - p95 < 1s\n";

    fn root() -> Node {
        match parse(SRC) {
            Ok(Some(n)) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_and_values_have_byte_spans() {
        let r = root();
        let load = r.entry("load").unwrap_or_else(|| panic!("load"));
        assert_eq!(&SRC[load.key_span.clone()], "load");
        let ramp = load.node.get("ramp").unwrap_or_else(|| panic!("ramp"));
        assert_eq!(&SRC[ramp.span.clone()], "\"5s\"");
        assert_eq!(ramp.str(), Some("5s"));
        let agents = load.node.get("agents").unwrap_or_else(|| panic!("agents"));
        assert_eq!(agents.text(), Some("20"));
        assert_eq!(agents.str(), None);
    }

    #[test]
    fn path_map_uses_serde_paths() {
        let map = path_map(&root());
        let (key, value) = map
            .get("personas.fast.weight")
            .cloned()
            .unwrap_or_else(|| panic!("path"));
        assert_eq!(&SRC[key.unwrap_or_default()], "weight");
        assert_eq!(&SRC[value], "3");
        let (_, t) = map
            .get("thresholds[0]")
            .cloned()
            .unwrap_or_else(|| panic!("seq"));
        assert_eq!(&SRC[t], "p95 < 1s");
    }

    #[test]
    fn sub_span_sees_through_quotes() {
        let r = root();
        let ramp = r
            .get("load")
            .and_then(|l| l.get("ramp"))
            .unwrap_or_else(|| panic!("ramp"));
        assert_eq!(&SRC[sub_span(SRC, &ramp.span, "5s", 1..2)], "s");
    }

    #[test]
    fn spans_are_byte_ranges_after_multibyte_characters() {
        let src = "a: é\nbé: [ü, x]\n";
        let r = match parse(src) {
            Ok(Some(n)) => n,
            other => panic!("{other:?}"),
        };
        let e = &r.entries()[1];
        assert_eq!(&src[e.key_span.clone()], "bé");
        let items: Vec<&str> = e
            .node
            .items()
            .iter()
            .map(|n| &src[n.span.clone()])
            .collect();
        assert_eq!(items, ["ü", "x"]);
    }

    #[test]
    fn duplicate_keys_point_at_the_second_key() {
        assert_eq!(
            parse("a: 1\nb:\n  c: 1\n  c: 2\n").err(),
            Some(("duplicated key in mapping".to_string(), 17))
        );
    }

    #[test]
    fn syntax_errors_report_an_offset() {
        let Err((msg, at)) = parse("a: [1, 2\nb: 3\n") else {
            panic!("parsed")
        };
        // The unclosed flow sequence swallows line 2: the error is at its `:` (byte 10).
        assert!(msg.contains("':'"), "{msg}");
        assert_eq!(at, "a: [1, 2\nb".len(), "{msg}");
    }
}
