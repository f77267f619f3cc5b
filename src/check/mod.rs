//! Judging, in one place. Here: checks on observed responses (status, schema, latency budget),
//! each a pure function from what was expected and what was observed to `Ok(())` or a
//! `Failure`; `Contracts` bundles an operation's compiled contract so `run` (under load) and
//! `conform` judge responses alike. Beside them: the behaviour checks ([`behaviour`], the API's
//! [`window`]s), the thresholds ([`threshold`]) and the baseline comparison ([`baseline`]).
//! The runner and the conformance engine measure; the reports render what is judged here.
//!
//! A *failure* means the target broke a contract; the harness's own trouble is not judged here.

pub mod baseline;
pub mod behaviour;
pub mod threshold;
pub mod window;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::aeapi::client::{Observed, TransportError};
use crate::suite::model::StatusSet;

/// How a response broke its contract.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The status was not one of the expected codes.
    Status { expected: Vec<u16>, actual: u16 },
    /// No status at all: the exchange failed at the transport level.
    Transport(TransportError),
    /// The body is not JSON/XML at all.
    Undecodable(String),
    /// The body broke the schema: (JSON pointer, message with instance values masked).
    Schema(Vec<(String, String)>),
    /// Slower than the per-request budget.
    Budget { budget: Duration, actual: Duration },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status { expected, actual } => {
                let exp: Vec<String> = expected.iter().map(u16::to_string).collect();
                write!(f, "expected status {}, got {actual}", exp.join(" or "))
            }
            Failure::Transport(kind) => write!(f, "transport error: {}", kind.as_str()),
            Failure::Undecodable(e) => write!(f, "response body is not decodable: {e}"),
            Failure::Schema(v) => {
                let parts: Vec<String> = v
                    .iter()
                    .map(|(ptr, msg)| {
                        let at = if ptr.is_empty() { "/" } else { ptr.as_str() };
                        format!("{at}: {msg}")
                    })
                    .collect();
                write!(f, "schema violation: {}", parts.join("; "))
            }
            Failure::Budget { budget, actual } => write!(
                f,
                "took {:.1} ms, budget {:.1} ms",
                actual.as_secs_f64() * 1e3,
                budget.as_secs_f64() * 1e3
            ),
        }
    }
}

/// The statuses an operation accepts when its contract names none.
pub fn default_statuses(op: &str) -> &'static [u16] {
    match op {
        "messages.get" => &[200, 204],
        _ => &[200],
    }
}

/// Status check: the observed status must be one of `expected` (or the operation's default).
pub fn check_status(expected: Option<&StatusSet>, op: &str, obs: &Observed) -> Result<(), Failure> {
    let Some(actual) = obs.status else {
        return Err(Failure::Transport(
            obs.transport.unwrap_or(TransportError::Other),
        ));
    };
    let ok = match expected {
        Some(set) => set.contains(actual),
        None => default_statuses(op).contains(&actual),
    };
    if ok {
        return Ok(());
    }
    let expected = match expected {
        Some(StatusSet::One(s)) => vec![*s],
        Some(StatusSet::Many(v)) => v.clone(),
        None => default_statuses(op).to_vec(),
    };
    Err(Failure::Status { expected, actual })
}

/// Schema check of a decoded body. Messages never include instance values (they may be secret).
pub fn check_schema(validator: &jsonschema::Validator, body: &Value) -> Result<(), Failure> {
    // Most bodies conform: the boolean check is the cheap path, errors are gathered only after.
    if validator.is_valid(body) {
        return Ok(());
    }
    let errors: Vec<(String, String)> = validator
        .iter_errors(body)
        .take(10)
        .map(|e| (e.instance_path().to_string(), e.masked().to_string()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Schema(errors))
    }
}

/// Latency budget check.
pub fn check_within(budget: Duration, actual: Duration) -> Result<(), Failure> {
    if actual <= budget {
        Ok(())
    } else {
        Err(Failure::Budget { budget, actual })
    }
}

/// One operation's contract, compiled.
#[derive(Clone, Default)]
pub struct Contract {
    pub status: Option<StatusSet>,
    pub schema: Option<Arc<jsonschema::Validator>>,
    /// The schema document, used to align XML-mapped bodies (see `aeapi::xml::coerce`).
    pub schema_doc: Option<Arc<Value>>,
    pub within: Option<Duration>,
}

/// The verdicts of one response: each check that ran, by name.
pub type Verdicts = Vec<(&'static str, Result<(), Failure>)>;

/// Every operation's contract plus the schema sampling rate.
#[derive(Clone, Default)]
pub struct Contracts {
    pub by_op: HashMap<String, Contract>,
    /// Share of responses whose schema is checked (1.0 = all).
    pub schema_sample: f64,
}

impl Contracts {
    /// Judges one observed response. `sample` in 0..1 decides schema sampling; a body is only
    /// schema-checked when its status was acceptable and a schema exists. XML-mapped bodies are
    /// coerced to the schema's types first (`xml == true`).
    pub fn judge(&self, obs: &mut Observed, sample: f64, xml: bool) -> Verdicts {
        let mut out: Verdicts = Vec::with_capacity(3);
        let contract = self.by_op.get(obs.op);
        let status = check_status(contract.and_then(|c| c.status.as_ref()), obs.op, obs);
        let status_ok = status.is_ok();
        out.push(("status", status));
        // The AEAPI answers JSON or XML: a body that is neither breaks every contract.
        if let Some(e) = &obs.decode_error {
            out.push(("body", Err(Failure::Undecodable(e.clone()))));
        }
        let Some(c) = contract else {
            return out;
        };
        if status_ok
            && obs.status != Some(204)
            && obs.decode_error.is_none()
            && sample < self.schema_sample
            && let Some(validator) = &c.schema
        {
            let verdict = match &mut obs.body {
                None => Err(Failure::Undecodable("empty body".into())),
                Some(body) => {
                    if let (true, Some(doc)) = (xml, &c.schema_doc) {
                        crate::aeapi::xml::coerce(body, doc);
                    }
                    check_schema(validator, body)
                }
            };
            out.push(("schema", verdict));
        }
        if let (Some(budget), Some(_)) = (c.within, obs.status) {
            out.push(("within", check_within(budget, obs.latency)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aeapi::ops::Method;
    use serde_json::json;
    use std::time::Instant;

    fn observed(op: &'static str, status: Option<u16>, body: Option<Value>) -> Observed {
        Observed {
            op,
            method: Method::Post,
            path: "/op",
            query: Vec::new(),
            started: Instant::now(),
            latency: Duration::from_millis(12),
            status,
            transport: status.is_none().then_some(TransportError::Reset),
            body,
            decode_error: None,
            raw: bytes::Bytes::new(),
            www_authenticate: None,
            content_type: None,
        }
    }

    #[test]
    fn status_defaults_allow_204_for_messages_get_only() {
        assert_eq!(
            check_status(
                None,
                "messages.get",
                &observed("messages.get", Some(204), None)
            ),
            Ok(())
        );
        assert_eq!(
            check_status(None, "login", &observed("login", Some(204), None)),
            Err(Failure::Status {
                expected: vec![200],
                actual: 204
            })
        );
        let set = StatusSet::Many(vec![200, 201]);
        assert_eq!(
            check_status(Some(&set), "login", &observed("login", Some(201), None)),
            Ok(())
        );
        assert_eq!(
            check_status(None, "login", &observed("login", None, None)),
            Err(Failure::Transport(TransportError::Reset))
        );
    }

    #[test]
    fn schema_failures_name_pointers_and_mask_values() {
        let schema = json!({"type": "object", "required": ["registeredId"],
            "properties": {"userId": {"type": "string"}}});
        let v = jsonschema::validator_for(&schema).expect("schema compiles");
        assert_eq!(
            check_schema(&v, &json!({"registeredId": "r", "userId": "u"})),
            Ok(())
        );
        let Err(Failure::Schema(errs)) = check_schema(&v, &json!({"userId": 7})) else {
            panic!("expected a schema failure");
        };
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().any(|(p, _)| p == "/userId"), "{errs:?}");
        assert!(
            errs.iter()
                .any(|(p, m)| p.is_empty() && m.contains("registeredId")),
            "{errs:?}"
        );
        assert!(
            errs.iter().all(|(_, m)| !m.contains('7')),
            "values are masked: {errs:?}"
        );
    }

    #[test]
    fn within_budget_is_inclusive() {
        let b = Duration::from_millis(10);
        assert_eq!(check_within(b, b), Ok(()));
        assert_eq!(
            check_within(b, Duration::from_millis(11)).map_err(|f| f.to_string()),
            Err("took 11.0 ms, budget 10.0 ms".to_string())
        );
    }

    #[test]
    fn judge_runs_schema_only_on_accepted_statuses_and_coerces_xml() {
        let schema =
            json!({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}});
        let mut contracts = Contracts {
            schema_sample: 1.0,
            ..Default::default()
        };
        contracts.by_op.insert(
            "summaryData".into(),
            Contract {
                schema: Some(Arc::new(
                    jsonschema::validator_for(&schema).expect("compiles"),
                )),
                schema_doc: Some(Arc::new(schema)),
                within: Some(Duration::from_millis(5)),
                ..Default::default()
            },
        );
        let mut ok = observed("summaryData", Some(200), Some(json!({"n": "3"})));
        let v = contracts.judge(&mut ok, 0.5, true);
        let names: Vec<_> = v.iter().map(|(n, r)| (*n, r.is_ok())).collect();
        assert_eq!(
            names,
            vec![("status", true), ("schema", true), ("within", false)]
        );
        let mut bad = observed("summaryData", Some(500), Some(json!({})));
        let v = contracts.judge(&mut bad, 0.5, false);
        let names: Vec<_> = v.iter().map(|(n, r)| (*n, r.is_ok())).collect();
        assert_eq!(names, vec![("status", false), ("within", false)]);
        // Garbage is a `body` violation with or without a contract, and skips the schema.
        let mut garbage = observed("login", Some(200), None);
        garbage.decode_error = Some("expected value at line 1 column 1".into());
        let v = contracts.judge(&mut garbage, 0.5, false);
        let names: Vec<_> = v.iter().map(|(n, r)| (*n, r.is_ok())).collect();
        assert_eq!(names, vec![("status", true), ("body", false)]);
    }
}
