//! The documented rule that maps an AEAPI XML body (`output=xml`) to JSON, so one JSON Schema
//! checks both formats.
//!
//! The rule: the root element is dropped (its children become the top-level object); an element
//! with child elements becomes an object; an element with only text becomes a string (an empty
//! element becomes `""`); an element name that occurs more than once under one parent becomes an
//! array in document order; attributes become fields named `@name`. Types are then aligned with
//! the schema by `coerce`: where the schema asks for an array, a lone value is wrapped; where it
//! asks for a boolean or number, the text is parsed (`true`/`false`, decimal numbers); and where
//! the schema names a property of type array that the document lacks, it is added as `[]` (an
//! empty list has no element to write, so in XML "empty" and "absent" look the same).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

/// Why a body is not an XML document.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("XML error at byte {at}: {cause}")]
    Syntax { at: u64, cause: quick_xml::Error },
    #[error("XML has an unmatched end tag")]
    UnmatchedEnd,
    #[error("XML ends inside an element")]
    Unclosed,
    #[error("XML has no root element")]
    NoRoot,
    #[error("XML text: {0}")]
    Encoding(quick_xml::encoding::EncodingError),
    #[error("XML text: {0}")]
    Escape(quick_xml::escape::EscapeError),
    #[error("XML entity: {0}")]
    Entity(quick_xml::escape::EscapeError),
}

/// Maps an XML document to JSON by the rule above (before schema coercion).
pub fn to_json(bytes: &[u8]) -> Result<Value, XmlError> {
    let mut reader = Reader::from_reader(bytes);
    // Stack of (element name, children so far, text so far).
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root: Option<Value> = None;
    let mut buf = Vec::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|cause| XmlError::Syntax {
                at: reader.buffer_position(),
                cause,
            })?;
        match ev {
            Event::Start(e) => stack.push(opened(&e)),
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let value = Value::String(String::new());
                match stack.last_mut() {
                    Some((_, map, _)) => insert(map, name, value),
                    None => root = Some(Value::Object(Map::new())),
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                if let Some((_, _, text)) = stack.last_mut() {
                    text.push_str(&text_of(&ev)?);
                }
            }
            Event::End(_) => {
                let Some((name, map, text)) = stack.pop() else {
                    return Err(XmlError::UnmatchedEnd);
                };
                let value = if map.is_empty() {
                    Value::String(text)
                } else {
                    Value::Object(map)
                };
                match stack.last_mut() {
                    Some((_, parent, _)) => insert(parent, name, value),
                    None => root = Some(value),
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(XmlError::Unclosed);
    }
    match root {
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Value::Object(Map::new())),
        Some(v) => Ok(v),
        None => Err(XmlError::NoRoot),
    }
}

/// A just-opened element: its name, its attributes as `@name` fields, no text yet.
fn opened(e: &BytesStart) -> (String, Map<String, Value>, String) {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut map = Map::new();
    for a in e.attributes().flatten() {
        let k = format!("@{}", String::from_utf8_lossy(a.key.local_name().as_ref()));
        let v = a
            .unescape_value()
            .map(|c| c.into_owned())
            .unwrap_or_default();
        map.insert(k, Value::String(v));
    }
    (name, map, String::new())
}

/// The text a text, CDATA or entity-reference event adds to its element.
fn text_of(ev: &Event) -> Result<String, XmlError> {
    match ev {
        Event::Text(t) => {
            let s = t.decode().map_err(XmlError::Encoding)?;
            let s = quick_xml::escape::unescape(&s).map_err(XmlError::Escape)?;
            Ok(s.into_owned())
        }
        Event::CData(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        Event::GeneralRef(r) => {
            let name = String::from_utf8_lossy(r).into_owned();
            let entity = format!("&{name};");
            let s = quick_xml::escape::unescape(&entity).map_err(XmlError::Entity)?;
            Ok(s.into_owned())
        }
        _ => Ok(String::new()),
    }
}

fn insert(map: &mut Map<String, Value>, name: String, value: Value) {
    match map.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            map.insert(name, value);
        }
    }
}

/// Aligns `value` with `schema` (arrays, booleans, numbers), following `properties` and `items`.
pub fn coerce(value: &mut Value, schema: &Value) {
    let ty = schema.get("type").and_then(Value::as_str);
    match ty {
        Some("array") => {
            if !value.is_array() {
                let single = value.take();
                *value = match single {
                    Value::String(s) if s.is_empty() => Value::Array(vec![]),
                    other => Value::Array(vec![other]),
                };
            }
            if let (Some(items), Value::Array(vs)) = (schema.get("items"), value) {
                for v in vs {
                    coerce(v, items);
                }
            }
        }
        Some("boolean") => {
            if let Value::String(s) = value {
                match s.as_str() {
                    "true" => *value = Value::Bool(true),
                    "false" => *value = Value::Bool(false),
                    _ => {}
                }
            }
        }
        Some("integer") | Some("number") => {
            if let Value::String(s) = value {
                if let Ok(n) = s.parse::<i64>() {
                    *value = Value::from(n);
                } else if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
                {
                    *value = Value::Number(n);
                }
            }
        }
        Some("object") | None => {
            if let (Some(props), Value::Object(map)) =
                (schema.get("properties").and_then(Value::as_object), value)
            {
                for (k, sub) in props {
                    if let Some(v) = map.get_mut(k) {
                        coerce(v, sub);
                    } else if sub.get("type").and_then(Value::as_str) == Some("array") {
                        map.insert(k.clone(), Value::Array(Vec::new()));
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_reference_messages_example_with_repeated_elements() {
        let xml = br#"<?xml version="1.0"?>
<EngagementMessagesResponse>
  <engagements>
    <id>e1</id>
    <messages><messageType>newRequest</messageType><requestType>engagement</requestType></messages>
    <messages><messageType>chatLine</messageType><messageText>a &amp; b</messageText></messages>
    <settings><autoTransfer>true</autoTransfer></settings>
  </engagements>
</EngagementMessagesResponse>"#;
        let v = to_json(xml).expect("valid XML");
        assert_eq!(
            v,
            json!({"engagements": {"id": "e1", "messages": [
                {"messageType": "newRequest", "requestType": "engagement"},
                {"messageType": "chatLine", "messageText": "a & b"}
            ], "settings": {"autoTransfer": "true"}}})
        );
    }

    #[test]
    fn coerce_wraps_lone_values_and_parses_scalars() {
        let mut v = json!({"engagements": {"id": "e1", "n": "3", "ok": "true"}});
        let schema = json!({"type": "object", "properties": {"engagements": {
            "type": "array", "items": {"type": "object", "properties": {
                "n": {"type": "integer"}, "ok": {"type": "boolean"}}}}}});
        coerce(&mut v, &schema);
        assert_eq!(
            v,
            json!({"engagements": [{"id": "e1", "n": 3, "ok": true}]})
        );
    }

    #[test]
    fn coerce_restores_empty_arrays_the_xml_could_not_show() {
        let mut v = to_json(b"<R><engagements><id>e1</id></engagements></R>").expect("valid XML");
        let schema = json!({"type": "object", "properties": {
            "engagements": {"type": "array"}, "messages": {"type": "array"},
            "note": {"type": "string"}}});
        coerce(&mut v, &schema);
        assert_eq!(v, json!({"engagements": [{"id": "e1"}], "messages": []}));
    }

    #[test]
    fn rejects_garbage_and_truncated_documents() {
        assert!(to_json(b"<a><b></a>").is_err());
        assert!(to_json(b"<a><b>").is_err());
        assert!(to_json(b"").is_err());
    }
}
