//! Threshold expressions: the gating rules of a suite, e.g. `p95(acceptEngagement) < 300ms`,
//! `error_rate < 0.1%`, `accepted_within_window > 99.9%`.
//!
//! Parsed at load time into a small AST that `report` evaluates against the run's HDR data.

use std::time::Duration;

/// A parsed threshold rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The rule as written, for reports.
    pub source: String,
    pub metric: Metric,
    pub cmp: Cmp,
    pub limit: Limit,
}

/// What a rule measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A latency percentile (e.g. 95.0, 99.9) of one operation, or all when `op` is `None`.
    Percentile {
        p: f64,
        op: Option<String>,
    },
    /// Mean / max latency of an operation (or all).
    Mean {
        op: Option<String>,
    },
    Max {
        op: Option<String>,
    },
    /// Share of requests that failed (status, schema or transport), per operation or overall.
    ErrorRate {
        op: Option<String>,
    },
    /// Share of checks of one kind that passed, e.g. `accepted_within_window`, `polled_within_window`.
    CheckRate {
        check: String,
    },
    /// Requests per second, per operation or overall.
    Throughput {
        op: Option<String>,
    },
    /// A plain count, e.g. `count(closeEngagement)`.
    Count {
        op: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// The right-hand side, with its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Duration(Duration),
    /// A fraction in 0..=1 (written as a percentage).
    Fraction(f64),
    Number(f64),
}
