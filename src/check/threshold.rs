//! Threshold evaluation: the pass/fail gate of a run.
//!
//! `evaluate` measures each rule's metric from the run's HDR data (raw latency histograms, never
//! the corrected ones, so a gate matches what the target served) and compares it with the limit.
//! A rule that cannot be measured (an operation with no samples, a check never evaluated, a limit
//! in the wrong unit) fails with a note instead of panicking; `measured` is then `None`.
//! The reports render the [`Verdict`]s; they judge nothing themselves.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metrics::{RunData, Stats, us_to_ms};
use crate::suite::threshold::{Cmp, Limit, Metric, Threshold};

/// The result of one threshold rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The rule as written in the suite.
    pub source: String,
    /// The measured value in the rule's unit (ms for latencies, a fraction for rates, req/s,
    /// count); `None` when it could not be measured.
    pub measured: Option<f64>,
    /// `measured` for people, e.g. `312.45 ms`, `0.12%`, `no samples`.
    pub measured_display: String,
    /// The limit for people, e.g. `< 300ms`.
    pub limit_display: String,
    pub passed: bool,
    /// Why the rule failed without a measurement, or other context.
    pub note: Option<String>,
}

/// What a metric measured.
enum Measure {
    Ms(f64),
    Fraction(f64),
    Number(f64),
    /// Could not be measured, with the reason.
    Missing(String),
}

/// Evaluates every rule against the run. `duration` is the measured run time (for throughput).
pub fn evaluate(thresholds: &[Threshold], data: &RunData, duration: Duration) -> Vec<Verdict> {
    thresholds
        .iter()
        .map(|t| evaluate_one(t, data, duration))
        .collect()
}

fn evaluate_one(t: &Threshold, data: &RunData, duration: Duration) -> Verdict {
    let limit_display = format!("{} {}", cmp_str(t.cmp), limit_str(&t.limit));
    let fail = |display: &str, note: String| Verdict {
        source: t.source.clone(),
        measured: None,
        measured_display: display.to_owned(),
        limit_display: limit_display.clone(),
        passed: false,
        note: Some(note),
    };
    let (measured, note) = match measure(&t.metric, data, duration) {
        Measure::Missing(why) => return fail("no samples", why),
        m => (m, None::<String>),
    };
    let (value, limit, display) = match (&measured, t.limit) {
        (Measure::Ms(ms), Limit::Duration(d)) => (*ms, d.as_secs_f64() * 1000.0, fmt_ms(*ms)),
        (Measure::Fraction(f), Limit::Fraction(l)) => (*f, l, fmt_pct(*f)),
        (Measure::Number(n), Limit::Number(l)) => (*n, l, fmt_number(*n)),
        (m, _) => {
            let want = match m {
                Measure::Ms(_) => "a duration (e.g. 300ms)",
                Measure::Fraction(_) => "a percentage (e.g. 0.1%)",
                _ => "a plain number",
            };
            return fail("n/a", format!("the limit must be {want}"));
        }
    };
    let count_note = match (&t.metric, &measured) {
        (Metric::Count { op: Some(op) }, Measure::Number(n)) if *n == 0.0 => {
            Some(format!("no samples of `{op}`"))
        }
        _ => note,
    };
    Verdict {
        source: t.source.clone(),
        measured: Some(value),
        measured_display: display,
        limit_display,
        passed: holds(value, t.cmp, limit),
        note: count_note,
    }
}

fn holds(value: f64, cmp: Cmp, limit: f64) -> bool {
    match cmp {
        Cmp::Lt => value < limit,
        Cmp::Le => value <= limit,
        Cmp::Gt => value > limit,
        Cmp::Ge => value >= limit,
    }
}

/// Why a threshold has nothing to measure.
#[derive(Debug, thiserror::Error)]
enum NoSamples {
    #[error("no samples of `{0}`")]
    Op(String),
    #[error("no requests were made")]
    Run,
}

/// The stats of one operation, or of all operations; `Err` names what is missing.
fn stats_of(data: &RunData, op: &Option<String>) -> Result<Stats, NoSamples> {
    let stats = match op {
        Some(op) => data.ops.get(op).cloned().unwrap_or_default(),
        None => data.total(),
    };
    if stats.count == 0 {
        return Err(op.clone().map_or(NoSamples::Run, NoSamples::Op));
    }
    Ok(stats)
}

fn measure(metric: &Metric, data: &RunData, duration: Duration) -> Measure {
    let latency = |op: &Option<String>, f: &dyn Fn(&Stats) -> f64| match stats_of(data, op) {
        Ok(s) => Measure::Ms(f(&s)),
        Err(why) => Measure::Missing(why.to_string()),
    };
    match metric {
        Metric::Percentile { p, .. } if !p.is_finite() => {
            Measure::Missing(format!("percentile {p} is not a number"))
        }
        Metric::Percentile { p, op } => {
            let q = (p / 100.0).clamp(0.0, 1.0);
            latency(op, &|s| us_to_ms(s.latency.raw.value_at_quantile(q)))
        }
        Metric::Mean { op } => latency(op, &|s| s.latency.raw.mean() / 1000.0),
        Metric::Max { op } => latency(op, &|s| us_to_ms(s.latency.raw.max())),
        Metric::ErrorRate { op } => match stats_of(data, op) {
            Ok(s) => Measure::Fraction(s.error_count() as f64 / s.count as f64),
            Err(why) => Measure::Missing(why.to_string()),
        },
        Metric::CheckRate { check } => {
            let c = data.check_total(check);
            if c.total() == 0 {
                Measure::Missing(format!("check `{check}` was never evaluated"))
            } else {
                Measure::Fraction(c.passed as f64 / c.total() as f64)
            }
        }
        Metric::Throughput { op } => match stats_of(data, op) {
            Err(why) => Measure::Missing(why.to_string()),
            Ok(_) if duration.is_zero() => Measure::Missing("the run lasted 0 s".to_owned()),
            Ok(s) => Measure::Number(s.count as f64 / duration.as_secs_f64()),
        },
        Metric::Count { op } => Measure::Number(match op {
            Some(op) => data.ops.get(op).map_or(0, |s| s.count),
            None => data.ops.values().map(|s| s.count).sum(),
        } as f64),
    }
}

fn cmp_str(c: Cmp) -> &'static str {
    match c {
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
    }
}

/// A limit as a person writes it: `300ms`, `2s`, `0.1%`, `150`.
pub fn limit_str(l: &Limit) -> String {
    match *l {
        Limit::Duration(d) => fmt_duration(d),
        Limit::Fraction(f) => format!("{}%", trim_float(f * 100.0)),
        Limit::Number(n) => trim_float(n),
    }
}

/// `2s`, `300ms`, `1.5ms`, `250us`: the shortest exact unit.
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us == 0 {
        "0ms".to_owned()
    } else if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else if us.is_multiple_of(1_000) {
        format!("{}ms", us / 1_000)
    } else if us >= 1_000 {
        format!("{}ms", trim_float(us as f64 / 1000.0))
    } else {
        format!("{us}us")
    }
}

/// Milliseconds with two decimals: `312.45 ms`.
pub fn fmt_ms(ms: f64) -> String {
    format!("{ms:.2} ms")
}

/// A fraction as a percentage with up to 3 decimals: `99.95%`.
pub fn fmt_pct(f: f64) -> String {
    format!("{}%", trim_float((f * 100_000.0).round() / 1000.0))
}

fn fmt_number(n: f64) -> String {
    trim_float((n * 100.0).round() / 100.0)
}

/// Up to 4 decimals, trailing zeros dropped: `0.1`, `150`, `99.95`.
pub fn trim_float(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CheckOutcome, ErrorKind, Recorder, Sample};
    use std::time::Instant;

    fn rule(source: &str, metric: Metric, cmp: Cmp, limit: Limit) -> Threshold {
        Threshold {
            source: source.into(),
            metric,
            cmp,
            limit,
        }
    }

    fn op(name: &str) -> Option<String> {
        Some(name.to_owned())
    }

    fn data() -> RunData {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        for ms in 1..=100u64 {
            r.record(&Sample {
                op: "acceptEngagement",
                persona: "agent",
                status: Some(if ms % 50 == 0 { 500 } else { 200 }),
                latency: Duration::from_millis(ms),
                error: (ms % 50 == 0).then_some(ErrorKind::Status),
                expected_interval: None,
                at: t0,
            });
        }
        for i in 0..1000 {
            r.record_check(&CheckOutcome {
                check: "accepted_within_window",
                op: "acceptEngagement",
                persona: "agent",
                passed: i != 0,
                example: None,
            });
        }
        r.snapshot()
    }

    #[test]
    fn evaluates_each_metric_kind() {
        let ms = |n| Limit::Duration(Duration::from_millis(n));
        let rules = [
            rule(
                "p95(acceptEngagement) < 300ms",
                Metric::Percentile {
                    p: 95.0,
                    op: op("acceptEngagement"),
                },
                Cmp::Lt,
                ms(300),
            ),
            rule(
                "p50 < 40ms",
                Metric::Percentile { p: 50.0, op: None },
                Cmp::Lt,
                ms(40),
            ),
            rule(
                "error_rate < 1%",
                Metric::ErrorRate { op: None },
                Cmp::Lt,
                Limit::Fraction(0.01),
            ),
            rule(
                "accepted_within_window > 99.9%",
                Metric::CheckRate {
                    check: "accepted_within_window".into(),
                },
                Cmp::Gt,
                Limit::Fraction(0.999),
            ),
            rule(
                "throughput >= 10",
                Metric::Throughput { op: None },
                Cmp::Ge,
                Limit::Number(10.0),
            ),
            rule(
                "max(acceptEngagement) <= 2s",
                Metric::Max {
                    op: op("acceptEngagement"),
                },
                Cmp::Le,
                Limit::Duration(Duration::from_secs(2)),
            ),
        ];
        let v = evaluate(&rules, &data(), Duration::from_secs(5));
        let got: Vec<_> = v
            .iter()
            .map(|v| {
                (
                    v.measured_display.as_str(),
                    v.limit_display.as_str(),
                    v.passed,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("95.04 ms", "< 300ms", true),
                ("50.02 ms", "< 40ms", false),
                ("2%", "< 1%", false),
                ("99.9%", "> 99.9%", false),
                ("20", ">= 10", true),
                ("100.03 ms", "<= 2s", true),
            ]
        );
        assert_eq!(v[2].measured, Some(0.02));
    }

    #[test]
    fn an_operation_without_samples_fails_with_a_note() {
        let rules = [
            rule(
                "p99(transfer) < 1s",
                Metric::Percentile {
                    p: 99.0,
                    op: op("transfer"),
                },
                Cmp::Lt,
                Limit::Duration(Duration::from_secs(1)),
            ),
            rule(
                "polled_within_window > 99%",
                Metric::CheckRate {
                    check: "polled_within_window".into(),
                },
                Cmp::Gt,
                Limit::Fraction(0.99),
            ),
            rule(
                "p99 < 1s",
                Metric::Percentile { p: 99.0, op: None },
                Cmp::Lt,
                Limit::Duration(Duration::from_secs(1)),
            ),
        ];
        let v = evaluate(&rules, &RunData::default(), Duration::from_secs(1));
        assert!(v.iter().all(|v| !v.passed && v.measured.is_none()));
        assert_eq!(v[0].note.as_deref(), Some("no samples of `transfer`"));
        assert_eq!(
            v[1].note.as_deref(),
            Some("check `polled_within_window` was never evaluated")
        );
        assert_eq!(v[2].note.as_deref(), Some("no requests were made"));
    }

    #[test]
    fn a_limit_in_the_wrong_unit_fails_instead_of_panicking() {
        let rules = [rule(
            "p95 < 5%",
            Metric::Percentile { p: 95.0, op: None },
            Cmp::Lt,
            Limit::Fraction(0.05),
        )];
        let v = evaluate(&rules, &data(), Duration::from_secs(1));
        assert!(!v[0].passed);
        assert_eq!(
            v[0].note.as_deref(),
            Some("the limit must be a duration (e.g. 300ms)")
        );
    }

    #[test]
    fn a_nan_percentile_fails_instead_of_panicking() {
        let rules = [rule(
            "pNaN < 1s",
            Metric::Percentile {
                p: f64::NAN,
                op: None,
            },
            Cmp::Lt,
            Limit::Duration(Duration::from_secs(1)),
        )];
        let v = evaluate(&rules, &data(), Duration::from_secs(1));
        assert!(!v[0].passed);
        assert_eq!(v[0].note.as_deref(), Some("percentile NaN is not a number"));
    }

    #[test]
    fn count_of_a_missing_operation_is_zero() {
        let rules = [rule(
            "count(transfer) < 1",
            Metric::Count { op: op("transfer") },
            Cmp::Lt,
            Limit::Number(1.0),
        )];
        let v = evaluate(&rules, &data(), Duration::from_secs(1));
        assert!(v[0].passed);
        assert_eq!(v[0].measured, Some(0.0));
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(fmt_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(fmt_duration(Duration::from_secs(2)), "2s");
        assert_eq!(fmt_duration(Duration::from_micros(250)), "250us");
        assert_eq!(limit_str(&Limit::Fraction(0.001)), "0.1%");
        assert_eq!(fmt_pct(0.99951), "99.951%");
    }
}
