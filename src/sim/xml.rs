//! XML output (`output=xml`) through quick-xml's serde support.
//!
//! Bodies are JSON values; quick-xml writes an object as child elements and an array as the
//! element repeated, which is exactly the shape of the reference's `EngagementMessagesResponse`
//! example (`<engagements>` repeated, each with `<id>`, repeated `<messages>` and `<settings>`).

use serde_json::Value;

/// Serialises `body` under the root element `root`, with an XML declaration. Keys that are
/// not XML names (metric ids such as `1`) are written with a leading `_` (`<_1>`), and
/// characters an XML name cannot hold become `_`.
pub fn to_xml(root: &str, body: &Value) -> Result<String, quick_xml::SeError> {
    let inner = if needs_renaming(body) {
        quick_xml::se::to_string_with_root(root, &renamed(body))?
    } else {
        quick_xml::se::to_string_with_root(root, body)?
    };
    Ok(format!("<?xml version=\"1.0\"?>\n{inner}"))
}

fn name_ok(k: &str) -> bool {
    k.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn needs_renaming(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.iter().any(|(k, v)| !name_ok(k) || needs_renaming(v)),
        Value::Array(a) => a.iter().any(needs_renaming),
        _ => false,
    }
}

fn renamed(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let key = if name_ok(k) {
                        k.clone()
                    } else {
                        format!("_{}", crate::values::safe_chars(k))
                    };
                    (key, renamed(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(renamed).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engagement_messages_response_has_the_reference_shape() {
        let body = json!({
            "engagements": [{
                "id": "1000000001",
                "messages": [
                    {"messageType": "newRequest", "requestType": "engagement"},
                    {"messageType": "chatLine", "messageText": "a < b", "chatLineReceiverType": "external"}
                ],
                "settings": {"siteId": "306", "dispositions": true}
            }],
            "messages": []
        });
        let xml = to_xml("EngagementMessagesResponse", &body).expect("serialises");
        // serde_json orders keys alphabetically, as the reference's example does.
        assert_eq!(
            xml,
            "<?xml version=\"1.0\"?>\n<EngagementMessagesResponse><engagements><id>1000000001</id>\
             <messages><messageType>newRequest</messageType><requestType>engagement</requestType></messages>\
             <messages><chatLineReceiverType>external</chatLineReceiverType><messageText>a &lt; b</messageText>\
             <messageType>chatLine</messageType></messages>\
             <settings><dispositions>true</dispositions><siteId>306</siteId></settings>\
             </engagements></EngagementMessagesResponse>"
        );
    }
}
