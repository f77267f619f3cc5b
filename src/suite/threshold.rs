//! Threshold expressions: the gating rules of a suite, e.g. `p95(acceptEngagement) < 300ms`,
//! `error_rate < 0.1%`, `accepted_within_window > 99.9%`.
//!
//! Parsed at load time into a small AST that `report` evaluates against the run's HDR data.
//!
//! Grammar (whitespace is free between tokens):
//! ```text
//! rule   = metric [ "(" operation ")" ] cmp limit
//! metric = "p" NUMBER          latency percentile, 0 < NUMBER < 100   limit: duration
//!        | "mean" | "max"      latency                                 limit: duration
//!        | "error_rate"        share of failed requests                limit: percentage
//!        | "throughput"        requests per second                     limit: rate
//!        | "count"             number of requests                      limit: number
//!        | CHECK               share of passed checks (no operation)   limit: percentage
//! cmp    = "<" | "<=" | ">" | ">="
//! limit  = 300ms | 1.5s | 0.1% | 100/s | 6000/min | 10
//! ```
//! Without an operation a metric covers every operation.

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

impl Cmp {
    /// Whether `value cmp limit` holds (both in the limit's unit: seconds, fraction, number).
    pub fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Cmp::Lt => value < limit,
            Cmp::Le => value <= limit,
            Cmp::Gt => value > limit,
            Cmp::Ge => value >= limit,
        }
    }

    /// The operator as written: `<`, `<=`, `>` or `>=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// The right-hand side, with its unit. Throughput limits are normalised to requests per second
/// and held as `Number`, like counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Duration(Duration),
    /// A fraction in 0..=1 (written as a percentage).
    Fraction(f64),
    Number(f64),
}

/// Checks (pass/fail per event) a rule may name as `<check> > 99.9%`.
pub const CHECKS: &[&str] = &["accepted_within_window", "polled_within_window"];

/// Metric names for "did you mean" hints (percentiles are any `pNN` or `pNN.N`).
const METRICS: &[&str] = &[
    "p50",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "mean",
    "max",
    "error_rate",
    "throughput",
    "count",
    "accepted_within_window",
    "polled_within_window",
];

/// Why a rule does not parse, with the byte range of the offending part of the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct ThresholdError {
    /// Byte range within the rule's text.
    pub span: std::ops::Range<usize>,
    pub kind: ThresholdErrorKind,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdErrorKind {
    #[error("empty threshold: write e.g. `p95(acceptEngagement) < 300ms`")]
    Empty,
    #[error("unknown metric `{name}`{}", hint(.suggestion))]
    UnknownMetric {
        name: String,
        suggestion: Option<String>,
    },
    #[error("percentile `{0}` must be between p0 and p100, exclusive (e.g. `p99.9`)")]
    BadPercentile(String),
    #[error("unknown operation `{name}`{}", hint(.suggestion))]
    UnknownOperation {
        name: String,
        suggestion: Option<String>,
    },
    #[error("`{0}` does not take an operation")]
    NoOperation(String),
    #[error("missing `)` after the operation name")]
    UnclosedParen,
    #[error("expected a comparison (`<`, `<=`, `>` or `>=`){}", found(.0))]
    ExpectedComparison(String),
    #[error("expected a limit after the comparison, e.g. `300ms`, `1%` or `100/s`")]
    MissingLimit,
    #[error("bad limit: {0}")]
    BadLimit(LimitError),
    #[error("`{metric}` is {what}: its limit must be {want}, found `{found}`")]
    UnitMismatch {
        metric: String,
        what: &'static str,
        want: &'static str,
        found: String,
    },
}

fn hint(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

fn found(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(", found `{s}`")
    }
}

/// Parses a rule (the same as [`parse_spanned`]: its error displays as a one-line message and
/// carries its position).
pub fn parse(rule: &str) -> Result<Threshold, ThresholdError> {
    parse_spanned(rule)
}

/// Parses a rule such as `p95(acceptEngagement) < 300ms`. Operation names are checked against
/// `aeapi::ops`. Errors carry the byte range of the offending part within `rule`.
pub fn parse_spanned(rule: &str) -> Result<Threshold, ThresholdError> {
    let mut p = Cursor { s: rule, pos: 0 };
    p.skip_ws();
    if p.pos == rule.len() {
        return Err(err(0..rule.len(), ThresholdErrorKind::Empty));
    }
    let name_span = metric_name(&mut p)?;
    let name = &rule[name_span.clone()];
    p.skip_ws();
    let op = operation(&mut p)?;
    let metric = metric(name, name_span.clone(), op.as_ref())?;
    p.skip_ws();
    let cmp = comparison(&mut p)?;
    p.skip_ws();
    let limit_span = p.pos..rule.trim_end().len().max(p.pos);
    let text = &rule[limit_span.clone()];
    if text.is_empty() {
        return Err(err(p.pos..rule.len(), ThresholdErrorKind::MissingLimit));
    }
    let (limit, kind) =
        limit_of(text).map_err(|m| err(limit_span.clone(), ThresholdErrorKind::BadLimit(m)))?;
    check_unit(name, &metric, kind, text).map_err(|k| err(limit_span, k))?;
    Ok(Threshold {
        source: rule.trim().to_string(),
        metric,
        cmp,
        limit,
    })
}

/// The metric's name (`p95`, `error_rate`, a check's name), as a span of the rule.
fn metric_name(p: &mut Cursor) -> Result<std::ops::Range<usize>, ThresholdError> {
    let rule = p.s;
    let name_span = p.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if name_span.is_empty() {
        let end = p.pos + p.rest().chars().next().map_or(0, char::len_utf8);
        return Err(err(
            p.pos..end,
            ThresholdErrorKind::UnknownMetric {
                name: rule[p.pos..end].to_string(),
                suggestion: None,
            },
        ));
    }
    Ok(name_span)
}

/// The operation in parentheses after the metric, if any: its name and span, checked against
/// `aeapi::ops`.
fn operation(p: &mut Cursor) -> Result<Option<(String, std::ops::Range<usize>)>, ThresholdError> {
    let rule = p.s;
    if !p.rest().starts_with('(') {
        return Ok(None);
    }
    p.pos += 1;
    p.skip_ws();
    let op_span = p.take_while(|c| c != ')' && !c.is_whitespace());
    p.skip_ws();
    if !p.rest().starts_with(')') {
        return Err(err(p.pos..rule.len(), ThresholdErrorKind::UnclosedParen));
    }
    p.pos += 1;
    let op = &rule[op_span.clone()];
    if crate::aeapi::ops::find(op).is_none() {
        return Err(err(
            op_span,
            ThresholdErrorKind::UnknownOperation {
                name: op.to_string(),
                suggestion: super::did_you_mean(op, crate::aeapi::ops::names()),
            },
        ));
    }
    Ok(Some((op.to_string(), op_span)))
}

/// The comparison (`<`, `<=`, `>`, `>=`); anything else is named by its span.
fn comparison(p: &mut Cursor) -> Result<Cmp, ThresholdError> {
    let rule = p.s;
    let cmp_span = p.take_while(|c| matches!(c, '<' | '>' | '=' | '!'));
    match &rule[cmp_span.clone()] {
        "<" => Ok(Cmp::Lt),
        "<=" => Ok(Cmp::Le),
        ">" => Ok(Cmp::Gt),
        ">=" => Ok(Cmp::Ge),
        other => {
            let span = if other.is_empty() {
                let word = p.take_while(|c| !c.is_whitespace());
                if word.is_empty() {
                    p.pos..rule.len()
                } else {
                    word
                }
            } else {
                cmp_span
            };
            Err(err(
                span.clone(),
                ThresholdErrorKind::ExpectedComparison(rule[span].to_string()),
            ))
        }
    }
}

fn err(span: std::ops::Range<usize>, kind: ThresholdErrorKind) -> ThresholdError {
    ThresholdError { span, kind }
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> std::ops::Range<usize> {
        let start = self.pos;
        let len = self
            .rest()
            .char_indices()
            .find(|&(_, c)| !f(c))
            .map_or(self.rest().len(), |(i, _)| i);
        self.pos += len;
        start..self.pos
    }
}

fn metric(
    name: &str,
    span: std::ops::Range<usize>,
    op: Option<&(String, std::ops::Range<usize>)>,
) -> Result<Metric, ThresholdError> {
    let op_name = op.map(|(o, _)| o.clone());
    if let Some(num) = name
        .strip_prefix('p')
        .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
    {
        let p: f64 = num.parse().map_err(|_| {
            err(
                span.clone(),
                ThresholdErrorKind::BadPercentile(name.to_string()),
            )
        })?;
        if !(p > 0.0 && p < 100.0) {
            return Err(err(
                span,
                ThresholdErrorKind::BadPercentile(name.to_string()),
            ));
        }
        return Ok(Metric::Percentile { p, op: op_name });
    }
    let m = match name {
        "mean" => Metric::Mean { op: op_name },
        "max" => Metric::Max { op: op_name },
        "error_rate" => Metric::ErrorRate { op: op_name },
        "throughput" => Metric::Throughput { op: op_name },
        "count" => Metric::Count { op: op_name },
        c if CHECKS.contains(&c) => {
            if let Some((_, op_span)) = op {
                return Err(err(
                    op_span.clone(),
                    ThresholdErrorKind::NoOperation(c.to_string()),
                ));
            }
            Metric::CheckRate {
                check: c.to_string(),
            }
        }
        _ => {
            return Err(err(
                span,
                ThresholdErrorKind::UnknownMetric {
                    name: name.to_string(),
                    suggestion: super::did_you_mean(name, METRICS.iter().copied()),
                },
            ));
        }
    };
    Ok(m)
}

/// Reads a limit by its unit: `%` a fraction, `/unit` a rate (kept as per-second
/// [`Limit::Number`]), a trailing letter a duration, otherwise a plain number.
fn limit_of(text: &str) -> Result<(Limit, LimitKind), LimitError> {
    if text.ends_with('%') {
        let p: super::values::Percent = text.parse()?;
        Ok((Limit::Fraction(p.fraction()), LimitKind::Percent))
    } else if text.contains('/') {
        let r: super::values::Rate = text.parse()?;
        Ok((Limit::Number(r.per_second), LimitKind::Rate))
    } else if text.ends_with(|c: char| c.is_alphabetic()) {
        let d = super::values::parse_duration(text)?;
        Ok((Limit::Duration(d), LimitKind::Duration))
    } else {
        let n: f64 = text
            .parse()
            .map_err(|_| LimitError::NotNumber(text.into()))?;
        if !n.is_finite() || n < 0.0 {
            return Err(LimitError::Negative(text.into()));
        }
        Ok((Limit::Number(n), LimitKind::Number))
    }
}

/// Why a threshold's limit does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(transparent)]
    Value(#[from] super::values::ValueError),
    #[error("`{0}` is not a number, duration, percentage or rate")]
    NotNumber(String),
    #[error("`{0}` is not a non-negative number")]
    Negative(String),
}

/// The unit a limit was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LimitKind {
    Duration,
    Percent,
    Rate,
    Number,
}

fn check_unit(
    name: &str,
    metric: &Metric,
    kind: LimitKind,
    text: &str,
) -> Result<(), ThresholdErrorKind> {
    let (what, want, ok) = match metric {
        Metric::Percentile { .. } | Metric::Mean { .. } | Metric::Max { .. } => {
            ("a latency", "a duration like `300ms`", LimitKind::Duration)
        }
        Metric::ErrorRate { .. } | Metric::CheckRate { .. } => (
            "a share of requests",
            "a percentage like `0.1%`",
            LimitKind::Percent,
        ),
        Metric::Throughput { .. } => ("a rate", "a rate like `100/s`", LimitKind::Rate),
        Metric::Count { .. } => ("a count", "a plain number like `10`", LimitKind::Number),
    };
    if kind == ok {
        Ok(())
    } else {
        Err(ThresholdErrorKind::UnitMismatch {
            metric: name.to_string(),
            what,
            want,
            found: text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ok(rule: &str) -> (Metric, Cmp, Limit) {
        let t = parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
        (t.metric, t.cmp, t.limit)
    }

    fn op(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn percentiles_of_one_operation_or_all() {
        assert_eq!(
            ok("p95(acceptEngagement) < 300ms"),
            (
                Metric::Percentile {
                    p: 95.0,
                    op: op("acceptEngagement")
                },
                Cmp::Lt,
                Limit::Duration(Duration::from_millis(300))
            )
        );
        assert_eq!(
            ok("p99.9( messages.post )<=1.5s"),
            (
                Metric::Percentile {
                    p: 99.9,
                    op: op("messages.post")
                },
                Cmp::Le,
                Limit::Duration(Duration::from_millis(1500))
            )
        );
        assert_eq!(
            ok("p50 < 20ms"),
            (
                Metric::Percentile { p: 50.0, op: None },
                Cmp::Lt,
                Limit::Duration(Duration::from_millis(20))
            )
        );
    }

    #[test]
    fn mean_max_rates_counts_and_checks() {
        assert_eq!(
            ok("mean(login) < 200ms"),
            (
                Metric::Mean { op: op("login") },
                Cmp::Lt,
                Limit::Duration(Duration::from_millis(200))
            )
        );
        assert_eq!(
            ok("max(token) <= 2s"),
            (
                Metric::Max { op: op("token") },
                Cmp::Le,
                Limit::Duration(Duration::from_secs(2))
            )
        );
        assert_eq!(
            ok("error_rate < 0.1%"),
            (
                Metric::ErrorRate { op: None },
                Cmp::Lt,
                Limit::Fraction(0.001)
            )
        );
        assert_eq!(
            ok("error_rate(messages.get) < 1%"),
            (
                Metric::ErrorRate {
                    op: op("messages.get")
                },
                Cmp::Lt,
                Limit::Fraction(0.01)
            )
        );
        assert_eq!(
            ok("accepted_within_window > 99.5%"),
            (
                Metric::CheckRate {
                    check: "accepted_within_window".into()
                },
                Cmp::Gt,
                Limit::Fraction(0.995)
            )
        );
        assert_eq!(
            ok("polled_within_window >= 99%"),
            (
                Metric::CheckRate {
                    check: "polled_within_window".into()
                },
                Cmp::Ge,
                Limit::Fraction(0.99)
            )
        );
        assert_eq!(
            ok("throughput > 120/min"),
            (Metric::Throughput { op: None }, Cmp::Gt, Limit::Number(2.0))
        );
        assert_eq!(
            ok("count(closeEngagement) > 10"),
            (
                Metric::Count {
                    op: op("closeEngagement")
                },
                Cmp::Gt,
                Limit::Number(10.0)
            )
        );
    }

    #[test]
    fn comparisons_hold_or_not() {
        assert!(Cmp::Lt.holds(0.2, 0.3));
        assert!(!Cmp::Lt.holds(0.3, 0.3));
        assert!(Cmp::Le.holds(0.3, 0.3));
        assert!(Cmp::Gt.holds(100.0, 99.9));
        assert!(!Cmp::Ge.holds(98.0, 99.0));
        assert_eq!(Cmp::Ge.as_str(), ">=");
    }

    #[test]
    fn source_is_kept_trimmed() {
        let t = parse("  p95 < 1s ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.source, "p95 < 1s");
    }

    fn bad(rule: &str) -> (std::ops::Range<usize>, String) {
        match parse_spanned(rule) {
            Ok(t) => panic!("{rule} parsed as {t:?}"),
            Err(e) => (e.span.clone(), e.to_string()),
        }
    }

    #[test]
    fn errors_name_the_problem_and_point_at_it() {
        assert_eq!(
            bad("p95(acceptEngagment) < 300ms"),
            (
                4..19,
                "unknown operation `acceptEngagment` (did you mean `acceptEngagement`?)".into()
            )
        );
        assert_eq!(
            bad("p95(login) < 5%"),
            (
                13..15,
                "`p95` is a latency: its limit must be a duration like `300ms`, found `5%`".into()
            )
        );
        assert_eq!(
            bad("error_rate < 0.001"),
            (
                13..18,
                "`error_rate` is a share of requests: its limit must be a percentage like `0.1%`, found `0.001`"
                    .into()
            )
        );
        assert_eq!(
            bad("eror_rate < 1%"),
            (
                0..9,
                "unknown metric `eror_rate` (did you mean `error_rate`?)".into()
            )
        );
        assert_eq!(
            bad("p100 < 1s"),
            (
                0..4,
                "percentile `p100` must be between p0 and p100, exclusive (e.g. `p99.9`)".into()
            )
        );
        assert_eq!(
            bad("p95(login < 1s"),
            (10..14, "missing `)` after the operation name".into())
        );
        assert_eq!(
            bad("p95 = 1s"),
            (
                4..5,
                "expected a comparison (`<`, `<=`, `>` or `>=`), found `=`".into()
            )
        );
        assert_eq!(
            bad("p95 fast"),
            (
                4..8,
                "expected a comparison (`<`, `<=`, `>` or `>=`), found `fast`".into()
            )
        );
        assert_eq!(
            bad("p95 <"),
            (
                5..5,
                "expected a limit after the comparison, e.g. `300ms`, `1%` or `100/s`".into()
            )
        );
        assert_eq!(
            bad("p95 < 3 parsecs"),
            (
                6..15,
                "bad limit: unknown duration unit `parsecs` in `3 parsecs` (use us, ms, s, m or h)"
                    .into()
            )
        );
        assert_eq!(
            bad("accepted_within_window(login) > 99%"),
            (
                23..28,
                "`accepted_within_window` does not take an operation".into()
            )
        );
        assert_eq!(
            bad("   "),
            (
                0..3,
                "empty threshold: write e.g. `p95(acceptEngagement) < 300ms`".into()
            )
        );
        assert_eq!(
            bad("throughput > 100"),
            (
                13..16,
                "`throughput` is a rate: its limit must be a rate like `100/s`, found `100`".into()
            )
        );
    }
}
