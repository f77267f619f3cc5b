//! `junit.xml`: the run as JUnit test results, for CI servers.
//!
//! Three test suites (plus `harness` when the harness itself failed):
//! - `contracts`: one testcase per (check, operation) for response checks (`status`, `schema`,
//!   `within`, …), failing with the counts and the kept example exchanges;
//! - `api-windows`: the same for the API's time windows (`accepted_within_window`,
//!   `polled_within_window`, `token_fresh`);
//! - `thresholds`: one testcase per rule, named by the rule, with measured value and limit.
//!
//! `<failure>` means the target broke a rule; `<error>` means the harness could not check it.
//! The rule for `<error>`: the run was cut short (interrupted, or a harness error) **and** the
//! evidence is missing or is not the target's doing, i.e.
//! - a check whose operation's errors were all `connect` errors (we never reached the target), or
//! - a threshold that could not be measured (`no samples`, never evaluated).
//!
//! A threshold with a limit in the wrong unit is always an `<error>` (the suite is wrong, not the
//! target). In a run that completed, missing samples are a `<failure>`: the target did not serve
//! the operation the suite demanded.

use std::path::Path;

use junit_report::{Report, TestCase, TestSuite};
use time::Duration;

use super::{Outcome, RenderError, ReportError, Secrets, write_rendered};
use crate::metrics::{CheckStats, ErrorKind};

/// Checks reported under `api-windows` rather than `contracts`.
pub const WINDOW_CHECKS: [&str; 3] = [
    "accepted_within_window",
    "polled_within_window",
    "token_fresh",
];

/// The JUnit report of an outcome (unmasked; `write` masks).
pub fn build(outcome: &Outcome) -> Report {
    let cut_short = outcome.meta.interrupted || outcome.meta.harness_error.is_some();
    let mut contracts = suite("contracts", outcome);
    let mut windows = suite("api-windows", outcome);
    for (check, by_op) in &outcome.data.checks {
        let target = if WINDOW_CHECKS.contains(&check.as_str()) {
            &mut windows
        } else {
            &mut contracts
        };
        for (op, cs) in by_op {
            target.add_testcase(check_case(outcome, check, op, cs, cut_short));
        }
    }
    let mut thresholds = suite("thresholds", outcome);
    for v in &outcome.verdicts {
        let name = xml_safe(&v.source);
        let detail = format!("measured {}, limit {}", v.measured_display, v.limit_display);
        let mut case = if v.passed {
            let mut c = TestCase::success(&name, Duration::ZERO);
            c.set_system_out(&xml_safe(&detail));
            c
        } else {
            let message = match &v.note {
                Some(note) => format!("{detail} ({note})"),
                None => detail,
            };
            let wrong_unit = v
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("the limit must"));
            if wrong_unit || (v.measured.is_none() && cut_short) {
                TestCase::error(&name, Duration::ZERO, "not-measured", &xml_safe(&message))
            } else {
                TestCase::failure(&name, Duration::ZERO, "threshold", &xml_safe(&message))
            }
        };
        case.set_classname("thresholds");
        thresholds.add_testcase(case);
    }
    let mut report = Report::new();
    report.add_testsuites([contracts, windows, thresholds]);
    if !outcome.deltas.is_empty() {
        report.add_testsuite(baseline_suite(outcome));
    }
    if outcome.meta.interrupted {
        let why = outcome
            .meta
            .interrupted_by
            .as_deref()
            .unwrap_or("stopped early");
        let mut interrupted = suite("interrupted", outcome);
        let message = format!("the run was cut short: {why}; its figures are incomplete");
        let mut case = TestCase::error("run", Duration::ZERO, "interrupted", &xml_safe(&message));
        case.set_classname("interrupted");
        interrupted.add_testcase(case);
        report.add_testsuite(interrupted);
    }
    if let Some(why) = &outcome.meta.harness_error {
        let mut harness = suite("harness", outcome);
        let mut case = TestCase::error("run", Duration::ZERO, "harness", &xml_safe(why));
        case.set_classname("harness");
        harness.add_testcase(case);
        report.add_testsuite(harness);
    }
    report
}

/// One testcase per operation compared with `--baseline`: a failure names every percentile
/// that regressed, its baseline and current value.
fn baseline_suite(outcome: &Outcome) -> TestSuite {
    let mut s = suite("baseline", outcome);
    let mut ops: Vec<&str> = outcome.deltas.iter().map(|d| d.op.as_str()).collect();
    ops.dedup();
    for op in ops {
        let deltas: Vec<_> = outcome.deltas.iter().filter(|d| d.op == op).collect();
        let lines: Vec<String> = deltas
            .iter()
            .map(|d| {
                let change = d
                    .change
                    .map_or_else(|| "new".to_string(), |c| format!("{:+.1}%", c * 100.0));
                format!(
                    "{} {:.3} ms -> {:.3} ms ({change}){}",
                    d.percentile,
                    d.baseline_ms,
                    d.current_ms,
                    if d.regressed { " REGRESSED" } else { "" }
                )
            })
            .collect();
        let name = xml_safe(op);
        let mut case = if deltas.iter().any(|d| d.regressed) {
            TestCase::failure(
                &name,
                Duration::ZERO,
                "regression",
                &xml_safe(&lines.join("; ")),
            )
        } else {
            let mut c = TestCase::success(&name, Duration::ZERO);
            c.set_system_out(&xml_safe(&lines.join("\n")));
            c
        };
        case.set_classname("baseline");
        s.add_testcase(case);
    }
    s
}

fn suite(name: &str, outcome: &Outcome) -> TestSuite {
    let mut s = TestSuite::new(name);
    s.set_timestamp(outcome.meta.started);
    s.package = format!("{}/{name}", xml_safe(&outcome.meta.suite));
    s
}

fn check_case(
    outcome: &Outcome,
    check: &str,
    op: &str,
    cs: &CheckStats,
    cut_short: bool,
) -> TestCase {
    let name = xml_safe(&format!("{check} {op}"));
    let counts = format!(
        "{} of {} evaluations failed ({:.2}%)",
        cs.failed,
        cs.total(),
        if cs.total() == 0 {
            0.0
        } else {
            cs.failed as f64 * 100.0 / cs.total() as f64
        }
    );
    let mut case = if cs.failed == 0 {
        let mut c = TestCase::success(&name, Duration::ZERO);
        c.set_system_out(&format!("{} evaluations passed", cs.passed));
        c
    } else {
        let unreachable = outcome.data.ops.get(op).is_some_and(|s| {
            let errors = s.error_count();
            errors > 0 && s.errors_of(ErrorKind::Connect) == errors
        });
        let (kind, message) = if cut_short && unreachable {
            (
                "not-checked",
                format!("could not reach the target and the run was cut short; {counts}"),
            )
        } else {
            (check, counts)
        };
        let mut cause = String::new();
        for (i, ex) in cs.examples.iter().enumerate() {
            let status = ex
                .status
                .map_or("no response".to_owned(), |s| s.to_string());
            cause += &format!(
                "example {}: {} -> {}\n  {}\n",
                i + 1,
                ex.request_line,
                status,
                ex.detail
            );
            if !ex.response_excerpt.is_empty() {
                cause += &format!("  response: {}\n", ex.response_excerpt);
            }
        }
        let message = xml_safe(&message);
        let mut c = if kind == "not-checked" {
            TestCase::error(&name, Duration::ZERO, kind, &message)
        } else {
            TestCase::failure(&name, Duration::ZERO, &xml_safe(kind), &message)
        };
        if !cause.is_empty() {
            set_cause(&mut c, cdata_safe(&xml_safe(&cause)));
        }
        c
    };
    case.set_classname(&xml_safe(&format!("{check}.{op}")));
    case
}

/// A one-suite report of `suite`, with a `harness` error case when the run could not happen
/// (`why`), so CI shows an error rather than nothing.
pub fn one_suite(mut suite: junit_report::TestSuite, harness_error: Option<&str>) -> Report {
    if let Some(why) = harness_error {
        let mut case = TestCase::error("run", Duration::ZERO, "harness", &text_safe(why));
        case.set_classname("harness");
        suite.add_testcase(case);
    }
    let mut r = Report::new();
    r.add_testsuite(suite);
    r
}

/// Sets the text of a failure's or error's body (`cause`).
pub fn set_cause(case: &mut TestCase, text: String) {
    use junit_report::TestResult;
    match &mut case.result {
        TestResult::Failure { cause, .. } | TestResult::Error { cause, .. } => *cause = Some(text),
        _ => {}
    }
}

/// Drops characters XML 1.0 cannot carry (controls other than tab/newline/CR, U+FFFE/FFFF);
/// target responses can contain anything.
pub fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

/// `]]>` cannot appear inside CDATA.
fn cdata_safe(s: &str) -> String {
    s.replace("]]>", "]] >")
}

/// Text a JUnit message or body can carry: [`xml_safe`], and no `]]>`.
pub fn text_safe(s: &str) -> String {
    cdata_safe(&xml_safe(s))
}

/// The JUnit XML of `outcome`, secrets masked.
pub fn render(outcome: &Outcome, secrets: &Secrets) -> Result<String, RenderError> {
    let masked = secrets.mask_outcome(outcome);
    let mut buf = Vec::new();
    build(&masked)
        .write_xml(&mut buf)
        .map_err(RenderError::from_display)?;
    let xml = String::from_utf8_lossy(&buf);
    Ok(secrets.mask_document(&xml).into_owned() + "\n")
}

/// Writes `junit.xml`.
pub fn write(path: &Path, outcome: &Outcome, secrets: &Secrets) -> Result<(), ReportError> {
    write_rendered(path, "JUnit report", render(outcome, secrets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Verdict;
    use crate::report::summary::tests::outcome;

    fn names(r: &Report) -> Vec<(String, Vec<(String, &'static str)>)> {
        r.testsuites()
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.testcases
                        .iter()
                        .map(|c| {
                            let kind = if c.is_failure() {
                                "failure"
                            } else if c.is_error() {
                                "error"
                            } else {
                                "ok"
                            };
                            (c.name.clone(), kind)
                        })
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn suites_and_cases() {
        let mut o = outcome();
        o.verdicts.push(Verdict {
            source: "p99(transfer) < 1s".into(),
            measured: None,
            measured_display: "no samples".into(),
            limit_display: "< 1s".into(),
            passed: false,
            note: Some("no samples of `transfer`".into()),
        });
        let r = build(&o);
        let s = |x: &str| x.to_owned();
        assert_eq!(
            names(&r),
            [
                (
                    s("contracts"),
                    vec![
                        (s("status acceptEngagement"), "ok"),
                        (s("status sendMessage"), "failure")
                    ]
                ),
                (s("api-windows"), vec![]),
                (
                    s("thresholds"),
                    vec![
                        (s("p95(acceptEngagement) < 300ms"), "ok"),
                        (s("p99(transfer) < 1s"), "failure")
                    ]
                ),
            ]
        );
    }

    #[test]
    fn unmeasurable_rules_in_a_cut_short_run_are_errors() {
        let mut o = outcome();
        o.meta.interrupted = true;
        o.verdicts[0] = Verdict {
            measured: None,
            passed: false,
            ..o.verdicts[0].clone()
        };
        let r = build(&o);
        assert!(r.testsuites()[2].testcases[0].is_error());
    }

    #[test]
    fn failure_message_counts_and_examples() {
        let xml = render(&outcome(), &Secrets::default()).unwrap();
        assert!(xml.contains(
            r#"<failure type="status" message="1 of 20 evaluations failed (5.00%)"><![CDATA[example 1: POST /engagementAPI/v2/agent/sendMessage -> 503
  expected 200, got 503
  response: <error>busy</error>
]]></failure>"#
        ), "{xml}");
    }

    #[test]
    fn xml_unsafe_characters_are_dropped() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\td"), "abc\td");
        assert_eq!(cdata_safe("x]]>y"), "x]] >y");
    }
}
