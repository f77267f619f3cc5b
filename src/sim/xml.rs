//! XML output (`output=xml`) through quick-xml's serde support.
//!
//! Bodies are JSON values; quick-xml writes an object as child elements and an array as the
//! element repeated, which is exactly the shape of the reference's `EngagementMessagesResponse`
//! example (`<engagements>` repeated, each with `<id>`, repeated `<messages>` and `<settings>`).

use serde_json::Value;

/// Serialises `body` under the root element `root`, with an XML declaration.
pub fn to_xml(root: &str, body: &Value) -> Result<String, quick_xml::SeError> {
    let inner = quick_xml::se::to_string_with_root(root, body)?;
    Ok(format!("<?xml version=\"1.0\"?>\n{inner}"))
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
