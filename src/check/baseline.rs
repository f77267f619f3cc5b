//! Baseline comparison: per-operation p50/p95/p99 of this run against an earlier one (a
//! `--baseline` `summary.json`, read by `report::summary`), with a tolerance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One operation's request count and raw latency percentiles (ms), as compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// A change of one percentile of one operation against a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub op: String,
    /// `p50`, `p95` or `p99`.
    pub percentile: String,
    pub baseline_ms: f64,
    pub current_ms: f64,
    /// Relative change (`0.25` = 25% slower); `None` when the baseline is 0.
    pub change: Option<f64>,
    /// Slower than the baseline by more than the tolerance.
    pub regressed: bool,
}

/// How much slower than a baseline an operation may get: `fraction` (0.10 = 10%) and, so that
/// noise on sub-millisecond calls is not a regression, by more than `floor_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub fraction: f64,
    pub floor_ms: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            fraction: 0.10,
            floor_ms: 1.0,
        }
    }
}

/// Per-operation p50/p95/p99 deltas of `current` against `baseline` (raw latency). An operation
/// is flagged when slower than `baseline × (1 + fraction)` and by more than `floor_ms`;
/// long-poll holds and operations missing on either side are skipped.
pub fn compare(
    current: &BTreeMap<String, Percentiles>,
    baseline: &BTreeMap<String, Percentiles>,
    tol: Tolerance,
) -> Vec<Delta> {
    let Tolerance {
        fraction: tolerance,
        floor_ms,
    } = tol;
    let mut out = Vec::new();
    for (op, cur) in current {
        // A long-poll's time is a hold, not latency: longer holds are not a regression.
        if crate::metrics::HOLD_OPS.contains(&op.as_str()) {
            continue;
        }
        let Some(base) = baseline.get(op) else {
            continue;
        };
        if cur.count == 0 || base.count == 0 {
            continue;
        }
        for (name, cv, bv) in [
            ("p50", cur.p50, base.p50),
            ("p95", cur.p95, base.p95),
            ("p99", cur.p99, base.p99),
        ] {
            out.push(Delta {
                op: op.clone(),
                percentile: name.to_owned(),
                baseline_ms: bv,
                current_ms: cv,
                change: (bv > 0.0).then(|| (cv - bv) / bv),
                regressed: cv > bv * (1.0 + tolerance) && cv - bv > floor_ms,
            });
        }
    }
    out
}
