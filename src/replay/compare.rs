//! One recorded answer against the target's: status, content type, and the shape of the body
//! by JSON path (`import::drift` over schemas inferred from the two bodies; XML bodies are
//! compared as the checks read them, mapped to JSON by `aeapi::xml`).
//!
//! Long-poll answers (`messages.get`) depend on timing: which events were waiting, or none
//! (204). For them 200 and 204 are the same status, bodies are compared only when both sides
//! have one, and beneath the arrays of engagements and messages only the types of fields that
//! both sides have are compared (which fields an event carries depends on the events that
//! happened). The customer's message fetch (`customer.message.get`) lists events too: beneath
//! its arrays the same type-only rule holds. An offer the recording's poll brought is waited
//! for (see `engine`).

use std::fmt;

use serde_json::Value;

use super::Step;
use crate::aeapi::client::Observed;
use crate::import::drift::{self, Change, Rules};

/// One way the target's answer differs from the recorded one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    Status {
        recorded: u16,
        got: u16,
    },
    /// No HTTP answer at all (connect, reset, timeout, an unreadable body).
    NoAnswer {
        recorded: u16,
        why: String,
    },
    ContentType {
        recorded: String,
        got: String,
    },
    Shape(Change),
    /// The recorded long-poll brought an offer; the target brought none in time.
    NoOffer {
        waited_s: u64,
    },
}

impl Difference {
    /// `status`, `no_answer`, `content_type`, `field_missing`, `field_added`, `type_changed`,
    /// `no_offer`.
    pub fn kind(&self) -> &'static str {
        match self {
            Difference::Status { .. } => "status",
            Difference::NoAnswer { .. } => "no_answer",
            Difference::ContentType { .. } => "content_type",
            Difference::Shape(Change::Missing { .. }) => "field_missing",
            Difference::Shape(Change::Added { .. }) => "field_added",
            Difference::Shape(Change::Retyped { .. }) => "type_changed",
            Difference::NoOffer { .. } => "no_offer",
        }
    }

    /// The JSON path, for shape differences.
    pub fn path(&self) -> Option<&str> {
        match self {
            Difference::Shape(c) => Some(if c.path().is_empty() { "/" } else { c.path() }),
            _ => None,
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Status { recorded, got } => {
                write!(f, "status {got}, recorded {recorded}")
            }
            Difference::NoAnswer { recorded, why } => {
                write!(f, "no answer ({why}), recorded status {recorded}")
            }
            Difference::ContentType { recorded, got } => {
                write!(f, "content type {got}, recorded {recorded}")
            }
            Difference::Shape(c) => c.fmt(f),
            Difference::NoOffer { waited_s } => write!(
                f,
                "the recorded poll brought an offer; none came within {waited_s} s"
            ),
        }
    }
}

/// `application/json` of `application/json; charset=utf-8`, lower case; `None` when empty.
pub fn essence(content_type: &str) -> Option<String> {
    let e = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    (!e.is_empty() && e != "x-unknown").then_some(e)
}

fn is_long_poll(step: &Step) -> bool {
    step.op.name == "messages.get"
}

/// Answers that list the events waiting at that moment: the agent's long-poll and the
/// customer's message fetch (which lines and state changes it holds depends on timing).
fn lists_events(step: &Step) -> bool {
    is_long_poll(step) || step.op.name == "customer.message.get"
}

/// The statuses are the same for comparison (200 and 204 are for a long-poll).
fn same_status(step: &Step, got: u16) -> bool {
    got == step.status
        || (is_long_poll(step) && [200, 204].contains(&step.status) && [200, 204].contains(&got))
}

/// How `obs` differs from what `step` recorded.
pub fn compare(step: &Step, obs: &Observed) -> Vec<Difference> {
    let Some(got) = obs.status.filter(|_| obs.transport.is_none()) else {
        let why = match (obs.transport, &obs.decode_error) {
            (Some(t), Some(e)) => format!("{}: {e}", t.as_str()),
            (Some(t), None) => t.as_str().to_string(),
            (None, _) => "no status".into(),
        };
        return vec![Difference::NoAnswer {
            recorded: step.status,
            why,
        }];
    };
    if !same_status(step, got) {
        return vec![Difference::Status {
            recorded: step.status,
            got,
        }];
    }
    let mut out = Vec::new();
    let has_body = !obs.raw.iter().all(u8::is_ascii_whitespace);
    if let (Some(_), true, Some(recorded), Some(now)) = (
        &step.response,
        has_body,
        essence(&step.mime),
        obs.content_type.as_deref().and_then(essence),
    ) && recorded != now
    {
        out.push(Difference::ContentType { recorded, got: now });
    }
    if let (Some(recorded), Some(now)) = (&step.response, &obs.body) {
        out.extend(shape(recorded, now, lists_events(step)));
    }
    out
}

/// Shape differences between two bodies.
pub fn shape(recorded: &Value, now: &Value, long_poll: bool) -> Vec<Difference> {
    let rules = Rules {
        beneath_arrays: !long_poll,
    };
    drift::diff(&drift::schema_of(recorded), &drift::schema_of(now), rules)
        .into_iter()
        .map(Difference::Shape)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_compare_by_essence() {
        assert_eq!(
            essence("application/json; charset=utf-8").as_deref(),
            Some("application/json")
        );
        assert_eq!(essence(""), None);
        assert_eq!(essence("x-unknown"), None);
    }

    #[test]
    fn long_poll_events_beneath_arrays_compare_by_type_only() {
        let rec = json!({"engagements": [{"id": "1", "messages": [{"messageType": "newRequest", "a": 1}]}]});
        let now = json!({"engagements": [{"id": "2", "messages": [{"messageType": "chatLine", "messageText": "x"}]}]});
        assert!(shape(&rec, &now, true).is_empty());
        let names: Vec<String> = shape(&rec, &now, false)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            names,
            vec![
                "field missing at /engagements/*/messages/*/a",
                "field added at /engagements/*/messages/*/messageText"
            ]
        );
    }
}
