//! Fault injection: configuration and the decisions the gate middleware takes from it.
//!
//! ```yaml
//! faults:
//!   ops:
//!     - op: acceptEngagement        # a served operation name (aeapi::ops, served_name) or "*"
//!       latency: uniform 10ms..30ms # constant (`20ms`), uniform or exponential
//!     - op: messages.post
//!       error_rate: 0.01            # fraction of requests answered with error_status
//!       error_status: 503
//!       drop_rate: 0.001            # fraction of connections closed without a response
//!     - op: login
//!       drift:                      # schema drift of the top-level response fields
//!         - { field: registeredId, action: drop }
//!         - { field: loginAsAvailable, action: retype, to: string }
//!         - { field: userId, action: rename, name: agentUserId }
//!   stalls:                         # the whole server freezes
//!     - { at: 30s, duration: 2s }
//!   slowdown_above_agents: 10000    # once more sessions than this are logged in ...
//!   slowdown_latency: 50ms          # ... every request gets this extra latency
//!   token_lifetime: 3s              # tokens expire after 3 s whatever `expires_in` says
//! ```

use std::time::Duration;

use rand::Rng;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::values::{Distribution, HumanDuration};

/// All configured faults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    pub ops: Vec<OpFault>,
    pub stalls: Vec<Stall>,
    pub slowdown_above_agents: Option<u32>,
    pub slowdown_latency: Distribution,
    /// Tokens stop working after this long although `expires_in` still says `token_ttl`
    /// (a target that expires tokens early).
    pub token_lifetime: Option<HumanDuration>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            ops: Vec::new(),
            stalls: Vec::new(),
            slowdown_above_agents: None,
            slowdown_latency: Distribution::Constant(Duration::from_millis(50)),
            token_lifetime: None,
        }
    }
}

/// Faults of one operation (or of all, with `op: "*"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpFault {
    pub op: String,
    #[serde(default)]
    pub latency: Option<Distribution>,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default = "default_error_status")]
    pub error_status: u16,
    #[serde(default)]
    pub drop_rate: f64,
    #[serde(default)]
    pub drift: Vec<Drift>,
}

fn default_error_status() -> u16 {
    500
}

/// A change to one top-level field of an operation's response bodies.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    pub field: String,
    pub action: DriftAction,
    /// Target type of `retype`.
    #[serde(default)]
    pub to: Option<JsonType>,
    /// New name of `rename`.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DriftAction {
    Drop,
    Retype,
    Rename,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    String,
    Number,
    Boolean,
    Null,
    Array,
    Object,
}

/// The server freezes for `duration`, starting `at` after start.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    pub at: HumanDuration,
    pub duration: HumanDuration,
}

/// What the gate should do with one request.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Decision {
    pub delay: Duration,
    pub drop: bool,
    pub error: Option<u16>,
}

/// A fault the simulator cannot inject.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    #[error("faults: unknown operation `{0}`")]
    UnknownOperation(String),
    #[error("faults: {name} of `{op}` must be within 0..1, found {rate}")]
    Rate {
        name: &'static str,
        op: String,
        rate: f64,
    },
    #[error("faults: error_status of `{op}` must be 400..599, found {status}")]
    Status { op: String, status: u16 },
    #[error("faults: retype of `{field}` in `{op}` needs `to`")]
    RetypeWithoutTo { field: String, op: String },
    #[error("faults: rename of `{field}` in `{op}` needs `name`")]
    RenameWithoutName { field: String, op: String },
}

impl FaultConfig {
    /// Checks rates, statuses and operation names.
    pub fn validate(&self) -> Result<(), FaultError> {
        for f in &self.ops {
            if f.op != "*" && crate::aeapi::ops::find_served(&f.op).is_none() {
                return Err(FaultError::UnknownOperation(f.op.clone()));
            }
            for (name, rate) in [("error_rate", f.error_rate), ("drop_rate", f.drop_rate)] {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(FaultError::Rate {
                        name,
                        op: f.op.clone(),
                        rate,
                    });
                }
            }
            if !(400..=599).contains(&f.error_status) {
                return Err(FaultError::Status {
                    op: f.op.clone(),
                    status: f.error_status,
                });
            }
            for d in &f.drift {
                if d.action == DriftAction::Retype && d.to.is_none() {
                    return Err(FaultError::RetypeWithoutTo {
                        field: d.field.clone(),
                        op: f.op.clone(),
                    });
                }
                if d.action == DriftAction::Rename && d.name.is_none() {
                    return Err(FaultError::RenameWithoutName {
                        field: d.field.clone(),
                        op: f.op.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether any per-request fault is configured (skips the work when none is).
    pub fn any(&self) -> bool {
        !self.ops.is_empty() || !self.stalls.is_empty() || self.slowdown_above_agents.is_some()
    }

    /// If a stall covers `elapsed` since start, how long until it ends.
    pub fn stall_remaining(&self, elapsed: Duration) -> Option<Duration> {
        self.stalls
            .iter()
            .filter(|s| elapsed >= s.at.0 && elapsed < s.at.0 + s.duration.0)
            .map(|s| s.at.0 + s.duration.0 - elapsed)
            .max()
    }

    /// Latency, drop and error decisions for one request of `op` with `sessions` logged in.
    pub fn decide<R: Rng + ?Sized>(&self, op: &str, sessions: usize, rng: &mut R) -> Decision {
        let mut d = Decision::default();
        if let Some(n) = self.slowdown_above_agents
            && sessions > n as usize
        {
            d.delay += self.slowdown_latency.sample(rng);
        }
        for f in self.ops.iter().filter(|f| f.op == op || f.op == "*") {
            if let Some(l) = &f.latency {
                d.delay += l.sample(rng);
            }
            if f.drop_rate > 0.0 && rng.random_bool(f.drop_rate) {
                d.drop = true;
            }
            if d.error.is_none() && f.error_rate > 0.0 && rng.random_bool(f.error_rate) {
                d.error = Some(f.error_status);
            }
        }
        d
    }

    /// The drift rules of an operation.
    pub fn drift_for(&self, op: &str) -> Vec<Drift> {
        self.ops
            .iter()
            .filter(|f| f.op == op || f.op == "*")
            .flat_map(|f| f.drift.iter().cloned())
            .collect()
    }
}

/// Applies drift rules to a response body's top-level fields.
pub fn apply_drift(body: &mut Value, rules: &[Drift]) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    for r in rules {
        match r.action {
            DriftAction::Drop => {
                obj.remove(&r.field);
            }
            DriftAction::Retype => {
                if let (Some(v), Some(to)) = (obj.get_mut(&r.field), r.to) {
                    *v = retype(v.take(), to);
                }
            }
            DriftAction::Rename => {
                if let Some(name) = &r.name
                    && let Some(v) = obj.remove(&r.field)
                {
                    obj.insert(name.clone(), v);
                }
            }
        }
    }
}

fn retype(v: Value, to: JsonType) -> Value {
    match to {
        JsonType::String => match v {
            Value::String(s) => Value::String(s),
            other => Value::String(other.to_string()),
        },
        JsonType::Number => match &v {
            Value::Number(_) => v,
            Value::String(s) => s
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::from(0)),
            Value::Bool(b) => Value::from(u8::from(*b)),
            _ => Value::from(0),
        },
        JsonType::Boolean => Value::Bool(match &v {
            Value::Bool(b) => *b,
            Value::Null => false,
            Value::String(s) => !s.is_empty() && s != "false",
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        }),
        JsonType::Null => Value::Null,
        JsonType::Array => match v {
            Value::Array(a) => Value::Array(a),
            other => Value::Array(vec![other]),
        },
        JsonType::Object => match v {
            Value::Object(o) => Value::Object(o),
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                Value::Object(m)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn drift_drops_and_retypes_top_level_fields() {
        let mut v = json!({"registeredId": "1-2", "loginAsAvailable": true, "userId": "7"});
        apply_drift(
            &mut v,
            &[
                Drift {
                    field: "registeredId".into(),
                    action: DriftAction::Drop,
                    to: None,
                    name: None,
                },
                Drift {
                    field: "loginAsAvailable".into(),
                    action: DriftAction::Retype,
                    to: Some(JsonType::String),
                    name: None,
                },
                Drift {
                    field: "userId".into(),
                    action: DriftAction::Retype,
                    to: Some(JsonType::Number),
                    name: None,
                },
                Drift {
                    field: "userId".into(),
                    action: DriftAction::Rename,
                    to: None,
                    name: Some("agentUserId".into()),
                },
            ],
        );
        assert_eq!(v, json!({"loginAsAvailable": "true", "agentUserId": 7.0}));
    }

    #[test]
    fn yaml_faults_parse_and_validate() {
        let f: FaultConfig = serde_yaml::from_str(
            "ops:\n  - op: acceptEngagement\n    latency: 20ms\n    error_rate: 1\n    error_status: 503\nstalls:\n  - { at: 1s, duration: 500ms }\nslowdown_above_agents: 2\n",
        )
        .expect("valid");
        assert_eq!(f.validate(), Ok(()));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let d = f.decide("acceptEngagement", 3, &mut rng);
        assert_eq!(d.delay, Duration::from_millis(70));
        assert_eq!(d.error, Some(503));
        assert_eq!(
            f.stall_remaining(Duration::from_millis(1200)),
            Some(Duration::from_millis(300))
        );
        assert_eq!(f.stall_remaining(Duration::from_millis(1500)), None);
        let bad: FaultConfig =
            serde_yaml::from_str("ops:\n  - op: acceptEngagment\n").expect("parses");
        assert!(bad.validate().is_err());
    }
}
