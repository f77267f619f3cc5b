//! The Prometheus side of the monitor: metric families with Prometheus names
//! (`aeapi_harness_*`, counters `_total`, durations `_seconds`), the run's constant labels
//! (`suite`, `shard`) on every series, buckets suited to each duration, and the text encoding.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `aeapi_harness_requests_total` | persona, op, status_class | responses and transport failures |
//! | `aeapi_harness_errors_total` | persona, op, kind | requests that counted as errors, by kind |
//! | `aeapi_harness_checks_total` | persona, check, op, result | check evaluations, `pass`/`fail` |
//! | `aeapi_harness_request_duration_seconds` | persona, op | latency (long-polls: their hold) |
//! | `aeapi_harness_poll_hold_seconds` | persona | how long a long-poll was held |
//! | `aeapi_harness_delivery_seconds` | direction | a chat line from send to first sight |
//! | `aeapi_harness_active_agents` | | agents logged in |
//! | `aeapi_harness_engagements_total` | event | offered, accepted, denied, missed, closed, … |
//! | `aeapi_harness_threshold_passing` | threshold | 1 while the rule holds, else 0 |
//! | `aeapi_harness_threshold_value` | threshold | the measured value in the rule's unit |
//! | `aeapi_harness_run_finished`, `aeapi_harness_run_passed` | | 0/1 |

use std::borrow::Cow;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry, Unit};
use std::sync::atomic::AtomicU64;

use super::{EngagementEvent, RunInfo, ThresholdState};
use crate::metrics::{Direction, ErrorKind, StatusClass};

/// The prefix of every metric name.
pub const PREFIX: &str = "aeapi_harness";

/// Request latency buckets (s): 100 µs to 30 s, about three per decade.
pub const LATENCY_BUCKETS: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];
/// Long-poll hold buckets (s): an answer at once to the server's hold (20-25 s) and beyond.
pub const HOLD_BUCKETS: [f64; 13] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 22.5, 25.0, 30.0,
];
/// Delivery-time buckets (s): 1 ms (one process) to 30 s (a stuck queue).
pub const DELIVERY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    persona: String,
    op: String,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    persona: String,
    op: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    persona: String,
    check: String,
    op: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    persona: String,
    op: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PersonaLabels {
    persona: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThresholdLabels {
    threshold: String,
}

type Buckets = fn() -> Histogram;

/// Every family of one run, registered once; handles are resolved by the monitor's cells.
pub struct Families {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    checks: Family<CheckLabels, Counter>,
    latency: Family<OpLabels, Histogram, Buckets>,
    poll_hold: Family<PersonaLabels, Histogram, Buckets>,
    delivery: Family<DirectionLabels, Histogram, Buckets>,
    engagements: Family<EventLabels, Counter>,
    threshold_passing: Family<ThresholdLabels, Gauge>,
    threshold_value: Family<ThresholdLabels, Gauge<f64, AtomicU64>>,
    pub active_agents: Gauge,
    pub finished: Gauge,
    pub passed: Gauge,
}

/// Registers each `name, unit, metric, help;` row (a clone of the metric) in order.
macro_rules! register_each {
    ($r:ident; $($name:literal, $unit:expr, $metric:expr, $help:literal;)*) => {
        $( register($r, $name, $unit, $help, $metric.clone()); )*
    };
}

fn register(r: &mut Registry, name: &str, unit: Option<Unit>, help: &str, metric: impl Metric) {
    match unit {
        Some(unit) => r.register_with_unit(name, help, unit, metric),
        None => r.register(name, help, metric),
    }
}

impl Families {
    pub fn new(info: &RunInfo) -> Families {
        let labels = [
            (Cow::Borrowed("suite"), Cow::Owned(info.suite.clone())),
            (Cow::Borrowed("shard"), Cow::Owned(info.shard.clone())),
        ];
        let mut registry = Registry::with_prefix_and_labels(PREFIX, labels.into_iter());
        let f = Families {
            registry: Registry::default(),
            requests: Family::default(),
            errors: Family::default(),
            checks: Family::default(),
            latency: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS)),
            poll_hold: Family::new_with_constructor(|| Histogram::new(HOLD_BUCKETS)),
            delivery: Family::new_with_constructor(|| Histogram::new(DELIVERY_BUCKETS)),
            engagements: Family::default(),
            threshold_passing: Family::default(),
            threshold_value: Family::default(),
            active_agents: Gauge::default(),
            finished: Gauge::default(),
            passed: Gauge::default(),
        };
        let r = &mut registry;
        // Registration order is exposition order.
        register_each! { r;
            "requests", None, f.requests,
                "Requests made, by persona, operation and status class (transport: no response)";
            "errors", None, f.errors,
                "Requests that counted as errors, by persona, operation and error kind";
            "checks", None, f.checks,
                "Check evaluations by persona, check, operation and result (pass or fail)";
            "request_duration", Some(Unit::Seconds), f.latency,
                "Time from sending a request to its response (long-polls: the hold)";
            "poll_hold", Some(Unit::Seconds), f.poll_hold,
                "How long the target held a long-poll open";
            "delivery", Some(Unit::Seconds), f.delivery,
                "A chat line's time from being sent to the other side's first sight of it";
            "active_agents", None, f.active_agents, "Agents logged in";
            "engagements", None, f.engagements,
                "Engagement events: offered, then accepted, denied, missed, closed, transferred or abandoned";
            "threshold_passing", None, f.threshold_passing,
                "1 while the threshold holds on the data so far, else 0";
            "threshold_value", None, f.threshold_value,
                "The threshold's measured value in its own unit (ms, fraction, req/s or count)";
            "run_finished", None, f.finished, "1 once the run has ended";
            "run_passed", None, f.passed,
                "1 when the finished run passed every check and threshold";
        }
        Families { registry, ..f }
    }

    pub fn request(&self, persona: &str, op: &str, class: StatusClass) -> Counter {
        self.requests.get_or_create_owned(&RequestLabels {
            persona: persona.to_owned(),
            op: op.to_owned(),
            status_class: class.as_str(),
        })
    }

    pub fn error(&self, persona: &str, op: &str, kind: ErrorKind) -> Counter {
        self.errors.get_or_create_owned(&ErrorLabels {
            persona: persona.to_owned(),
            op: op.to_owned(),
            kind: kind.as_str(),
        })
    }

    /// The (pass, fail) counters of one check on one operation.
    pub fn check(&self, persona: &str, check: &str, op: &str) -> (Counter, Counter) {
        let labels = |result| CheckLabels {
            persona: persona.to_owned(),
            check: check.to_owned(),
            op: op.to_owned(),
            result,
        };
        (
            self.checks.get_or_create_owned(&labels("pass")),
            self.checks.get_or_create_owned(&labels("fail")),
        )
    }

    pub fn latency(&self, persona: &str, op: &str) -> Histogram {
        self.latency.get_or_create_owned(&OpLabels {
            persona: persona.to_owned(),
            op: op.to_owned(),
        })
    }

    pub fn poll_hold(&self, persona: &str) -> Histogram {
        self.poll_hold.get_or_create_owned(&PersonaLabels {
            persona: persona.to_owned(),
        })
    }

    pub fn delivery(&self, dir: Direction) -> Histogram {
        self.delivery.get_or_create_owned(&DirectionLabels {
            direction: dir.as_str(),
        })
    }

    pub fn engagement(&self, e: EngagementEvent) -> Counter {
        self.engagements
            .get_or_create_owned(&EventLabels { event: e.as_str() })
    }

    /// Sets the gauges of one threshold.
    pub fn threshold(&self, t: &ThresholdState) {
        let labels = ThresholdLabels {
            threshold: t.source.clone(),
        };
        self.threshold_passing
            .get_or_create(&labels)
            .set(i64::from(t.passed));
        self.threshold_value
            .get_or_create(&labels)
            .set(t.value.unwrap_or(f64::NAN));
    }

    /// The OpenMetrics text of every family (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The content type of [`Families::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
