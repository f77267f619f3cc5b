//! `summary.json`: the machine-readable result of a run, and the `--baseline` input.
//!
//! `build` turns an `Outcome` into a `Summary` (plain numbers, ms), `write` masks and saves it,
//! `read` loads a baseline. The shape is pinned by `schemas/summary.schema.json`
//! (`schema_version` 1); change both together.

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::metrics::{Exchange, Stats, us_to_ms};

use super::{Outcome, ReportError, Secrets, write_file};
use crate::check::baseline::{self, Delta, Percentiles, Tolerance};
use crate::check::threshold::Verdict;

impl Summary {
    /// Each operation's count and raw latency percentiles, as a baseline comparison takes them.
    pub fn percentiles(&self) -> BTreeMap<String, Percentiles> {
        self.operations
            .iter()
            .map(|(op, s)| {
                let raw = &s.latency_ms.raw;
                let p = Percentiles {
                    count: s.count,
                    p50: raw.p50,
                    p95: raw.p95,
                    p99: raw.p99,
                };
                (op.clone(), p)
            })
            .collect()
    }

    /// Per-operation deltas of this run against `baseline` (see [`baseline::compare`]).
    pub fn compare(&self, baseline: &Summary, tol: Tolerance) -> Vec<Delta> {
        baseline::compare(&self.percentiles(), &baseline.percentiles(), tol)
    }
}

/// Version of the summary format.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub run: RunInfo,
    /// All operations together.
    pub totals: OpSummary,
    pub operations: BTreeMap<String, OpSummary>,
    pub personas: BTreeMap<String, OpSummary>,
    pub checks: Vec<CheckSummary>,
    /// persona → check → violations by that persona's agents.
    pub violations_by_persona: BTreeMap<String, BTreeMap<String, u64>>,
    /// Long-poll hold time per persona.
    pub poll_hold_ms: BTreeMap<String, Dist>,
    /// Message delivery latency by direction (`customer_to_agent`, `agent_to_customer`).
    pub delivery_ms: BTreeMap<String, Dist>,
    /// Engagements by how they ended.
    pub engagements: BTreeMap<String, u64>,
    pub thresholds: Vec<Verdict>,
    /// Deltas against `--baseline` (empty without one).
    pub baseline: Vec<Delta>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub suite: String,
    pub target: String,
    pub harness_version: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub ended: String,
    pub duration_s: f64,
    pub interrupted: bool,
    /// What cut the run short (SIGTERM, Ctrl-C, its time bound), when something did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// The process exit status (see `exit::Exit`).
    pub exit_status: u8,
    pub harness_error: Option<String>,
    /// The shards these figures cover (`["1/3", "2/3", "3/3"]` after a merge; empty for a
    /// whole run).
    #[serde(default)]
    pub shards: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpSummary {
    pub count: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Responses by HTTP status code.
    pub statuses: BTreeMap<String, u64>,
    /// Requests per second over the run.
    pub throughput_rps: f64,
    pub latency_ms: LatencySummary,
    /// Raw latency split by status class (`2xx`, `4xx`, `5xx`, `transport`, …): a fast 503 is
    /// not a fast answer.
    pub by_class_ms: BTreeMap<String, Dist>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub raw: Dist,
    /// Coordinated-omission corrected.
    pub corrected: Dist,
}

/// A latency distribution in ms (all 0 when empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dist {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub check: String,
    pub op: String,
    pub passed: u64,
    pub failed: u64,
    pub pass_rate: f64,
    pub examples: Vec<Exchange>,
}

impl Dist {
    /// Percentiles of a µs histogram, in ms.
    pub fn of(h: &Histogram<u64>) -> Dist {
        if h.is_empty() {
            return Dist {
                count: 0,
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p95: 0.0,
                p99: 0.0,
                p99_9: 0.0,
                max: 0.0,
            };
        }
        let q = |q| us_to_ms(h.value_at_quantile(q));
        Dist {
            count: h.len(),
            min: us_to_ms(h.min()),
            mean: round3(h.mean() / 1000.0),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            p99_9: q(0.999),
            max: us_to_ms(h.max()),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn op_summary(s: &Stats, duration_s: f64) -> OpSummary {
    OpSummary {
        count: s.count,
        errors: s.error_count(),
        error_rate: if s.count == 0 {
            0.0
        } else {
            s.error_count() as f64 / s.count as f64
        },
        errors_by_kind: s
            .errors
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), *n))
            .collect(),
        statuses: s
            .statuses
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect(),
        throughput_rps: if duration_s > 0.0 {
            round3(s.count as f64 / duration_s)
        } else {
            0.0
        },
        latency_ms: LatencySummary {
            raw: Dist::of(&s.latency.raw),
            corrected: Dist::of(&s.latency.corrected),
        },
        by_class_ms: s
            .by_class
            .iter()
            .map(|(c, l)| (c.as_str().to_owned(), Dist::of(&l.raw)))
            .collect(),
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// The summary of an outcome (unmasked; `write` masks).
pub fn build(outcome: &Outcome) -> Summary {
    let meta = &outcome.meta;
    let data = &outcome.data;
    let secs = meta.duration.as_secs_f64();
    let mut checks = Vec::new();
    for (check, by_op) in &data.checks {
        for (op, cs) in by_op {
            checks.push(CheckSummary {
                check: check.clone(),
                op: op.clone(),
                passed: cs.passed,
                failed: cs.failed,
                pass_rate: if cs.total() == 0 {
                    0.0
                } else {
                    cs.passed as f64 / cs.total() as f64
                },
                examples: cs.examples.clone(),
            });
        }
    }
    Summary {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            suite: meta.suite.clone(),
            target: meta.target.clone(),
            harness_version: meta.harness_version.clone(),
            started: rfc3339(meta.started),
            ended: rfc3339(meta.ended),
            duration_s: round3(secs),
            interrupted: meta.interrupted,
            interrupted_by: meta.interrupted_by.clone(),
            exit_status: outcome.exit().code(),
            harness_error: meta.harness_error.clone(),
            shards: meta.shards.iter().map(ToString::to_string).collect(),
        },
        totals: op_summary(&data.total(), secs),
        operations: data
            .ops
            .iter()
            .map(|(k, s)| (k.clone(), op_summary(s, secs)))
            .collect(),
        personas: data
            .personas
            .iter()
            .map(|(k, s)| (k.clone(), op_summary(s, secs)))
            .collect(),
        checks,
        violations_by_persona: data.violations_by_persona.clone(),
        poll_hold_ms: data
            .poll_hold
            .iter()
            .map(|(k, h)| (k.clone(), Dist::of(h)))
            .collect(),
        delivery_ms: data
            .delivery
            .iter()
            .map(|(k, h)| (k.as_str().to_owned(), Dist::of(h)))
            .collect(),
        engagements: data
            .engagements
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), *n))
            .collect(),
        thresholds: outcome.verdicts.clone(),
        baseline: outcome.deltas.clone(),
    }
}

/// Pretty JSON of the summary of `outcome` with secrets masked.
pub fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    let masked = secrets.mask_outcome(outcome);
    to_json(&build(&masked), secrets)
}

fn to_json(summary: &Summary, secrets: &Secrets) -> String {
    // A struct of strings, numbers and maps with string keys always serialises.
    let json =
        serde_json::to_string_pretty(summary).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    secrets.mask_document(&json).into_owned() + "\n"
}

/// Writes `summary` as pretty JSON to `path`, secrets masked.
pub fn write(path: &Path, summary: &Summary, secrets: &Secrets) -> Result<(), ReportError> {
    let mut s = summary.clone();
    mask_summary(&mut s, secrets);
    write_file(path, to_json(&s, secrets).as_bytes())
}

fn mask_summary(s: &mut Summary, secrets: &Secrets) {
    let m = |x: &mut String| *x = secrets.mask(x).into_owned();
    m(&mut s.run.suite);
    m(&mut s.run.target);
    if let Some(e) = &mut s.run.harness_error {
        m(e);
    }
    for c in &mut s.checks {
        for ex in &mut c.examples {
            m(&mut ex.request_line);
            m(&mut ex.detail);
            m(&mut ex.response_excerpt);
        }
    }
    for v in &mut s.thresholds {
        m(&mut v.source);
        if let Some(n) = &mut v.note {
            m(n);
        }
    }
}

/// Reads a `summary.json` (e.g. a `--baseline`).
pub fn read(path: &Path) -> Result<Summary, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ReportError::Invalid {
        path: path.to_path_buf(),
        what: "summary.json",
        detail: e.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::{
        CheckOutcome, Direction, EngagementEnd, ErrorKind, Recorder, RunData, Sample,
    };
    use crate::report::RunMeta;
    use std::time::{Duration, Instant};
    use time::macros::datetime;

    /// A small, fully deterministic outcome shared by the writers' tests.
    pub(crate) fn outcome() -> Outcome {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        for i in 0..40u64 {
            let (op, ms) = if i % 2 == 0 {
                ("acceptEngagement", 10 + i)
            } else {
                ("sendMessage", 5 + i / 2)
            };
            let fail = i == 39;
            r.record(&Sample {
                op,
                persona: "agent",
                status: Some(if fail { 503 } else { 200 }),
                latency: Duration::from_millis(ms),
                error: fail.then_some(ErrorKind::Status),
                expected_interval: None,
                at: t0 + Duration::from_millis(i * 50),
            });
            r.record_check(&CheckOutcome {
                check: "status",
                op,
                persona: "agent",
                passed: !fail,
                example: fail.then(|| Exchange {
                    request_line: "POST /engagementAPI/v2/agent/sendMessage".into(),
                    status: Some(503),
                    detail: "expected 200, got 503".into(),
                    response_excerpt: "<error>busy</error>".into(),
                }),
            });
        }
        r.record_poll_hold("agent", Duration::from_secs(25));
        r.record_delivery(Direction::CustomerToAgent, Duration::from_millis(80));
        r.count_engagement(EngagementEnd::Accepted);
        let data = r.snapshot();
        // Judged on the fixture's own data, so every writer shows one p95.
        let rule = crate::suite::threshold::parse("p95(acceptEngagement) < 300ms")
            .unwrap_or_else(|e| panic!("{e}"));
        let verdicts = crate::check::threshold::evaluate(&[rule], &data, Duration::from_secs(2));
        Outcome {
            meta: RunMeta {
                suite: "smoke".into(),
                target: "http://127.0.0.1:8080".into(),
                harness_version: "0.1.0".into(),
                started: datetime!(2026-11-24 20:00:00 UTC),
                ended: datetime!(2026-11-24 20:00:02 UTC),
                duration: Duration::from_secs(2),
                interrupted: false,
                interrupted_by: None,
                harness_error: None,
                shards: vec![],
                tolerance: crate::report::Tolerance::default(),
            },
            data,
            verdicts,
            deltas: vec![],
        }
    }

    #[test]
    fn builds_exact_figures() {
        let s = build(&outcome());
        assert_eq!(s.run.started, "2026-11-24T20:00:00Z");
        assert_eq!(s.run.exit_status, 1, "a check failed");
        assert_eq!(s.totals.count, 40);
        assert_eq!(s.totals.errors, 1);
        assert_eq!(s.totals.throughput_rps, 20.0);
        let accept = &s.operations["acceptEngagement"];
        assert_eq!(accept.count, 20);
        assert_eq!(accept.latency_ms.raw.min, 10.0);
        assert_eq!(accept.latency_ms.raw.max, 48.031);
        assert_eq!(accept.latency_ms.raw.p50, 28.015);
        assert_eq!(s.operations["sendMessage"].errors_by_kind["status"], 1);
        assert_eq!(s.operations["sendMessage"].by_class_ms["5xx"].count, 1);
        assert_eq!(s.operations["sendMessage"].by_class_ms["2xx"].count, 19);
        assert_eq!(s.checks.len(), 2);
        assert_eq!(s.checks[1].failed, 1);
        assert_eq!(s.engagements["accepted"], 1);
        assert_eq!(s.delivery_ms["customer_to_agent"].count, 1);
        assert_eq!(s.poll_hold_ms["agent"].max, 25_001.983);
    }

    #[test]
    fn summary_round_trips() {
        let s = build(&outcome());
        let json = to_json(&s, &Secrets::default());
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn empty_run_has_zero_figures() {
        let mut o = outcome();
        o.data = RunData::default();
        let s = build(&o);
        assert_eq!(s.totals.count, 0);
        assert_eq!(s.totals.latency_ms.raw.p99, 0.0);
    }
}
