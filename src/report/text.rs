//! The terminal summary printed at the end of every run (also saved as `summary.txt`).
//!
//! Plain ASCII columns, no colour (the caller may colour PASS/FAIL): a latency table per
//! operation, then checks, threshold verdicts and baseline regressions. Built from the same
//! `Summary` as `summary.json`, so the two never disagree.

use std::fmt::Write as _;
use std::path::Path;

use super::summary::{self, OpSummary, Summary};
use super::{Outcome, ReportError, Secrets, write_file};

/// The summary text of an outcome, secrets masked: what `summary.txt` holds, in memory, so the
/// command layer prints it without reading the file back.
pub fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    let masked = secrets.mask_outcome(outcome);
    let text = render_summary(&summary::build(&masked));
    secrets.mask_document(&text).into_owned()
}

/// The summary text of a `Summary`: the run line, the latency table, then checks, threshold
/// verdicts and baseline regressions (each only when there are any).
pub fn render_summary(s: &Summary) -> String {
    let mut out = String::new();
    run_line(&mut out, s);
    latency_table(&mut out, s);
    checks(&mut out, s);
    thresholds(&mut out, s);
    baseline(&mut out, s);
    out
}

/// The run's first line (suite, target, verdict, time), its shards and harness error, then a
/// blank line; the terminal summary opens with it too.
pub(super) fn run_line(out: &mut String, s: &Summary) {
    let status = match s.run.exit_status {
        0 => "passed",
        1 => "FAILED",
        2 => "usage error",
        _ => "HARNESS ERROR",
    };
    let _ = writeln!(
        out,
        "{} against {}: {} in {:.1} s{}",
        s.run.suite,
        s.run.target,
        status,
        s.run.duration_s,
        if s.run.interrupted {
            " (interrupted)"
        } else {
            ""
        }
    );
    if !s.run.shards.is_empty() {
        let _ = writeln!(out, "shards: {}", s.run.shards.join(", "));
    }
    if let Some(e) = &s.run.harness_error {
        let _ = writeln!(out, "harness error: {e}");
    }
    out.push('\n');
}

/// The width of a table's first column: its widest entry, or its header if wider.
fn column_width(entries: impl Iterator<Item = usize>, header: &str) -> usize {
    entries.max().unwrap_or(0).max(header.len())
}

fn latency_table(out: &mut String, s: &Summary) {
    let width = column_width(s.operations.keys().map(|k| k.chars().count()), "operation");
    let _ = writeln!(
        out,
        "{:<width$} {:>8} {:>7} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "operation", "count", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s"
    );
    let row = |out: &mut String, name: &str, o: &OpSummary| {
        let l = &o.latency_ms.raw;
        let _ = writeln!(
            out,
            "{name:<width$} {:>8} {:>7} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>9.1}",
            o.count, o.errors, l.p50, l.p95, l.p99, l.max, o.throughput_rps
        );
    };
    let mut holds = Vec::new();
    for (name, o) in &s.operations {
        row(out, name, o);
        if crate::metrics::HOLD_OPS.contains(&name.as_str()) {
            holds.push(name.as_str());
        }
    }
    row(out, "total", &s.totals);
    if !holds.is_empty() {
        let _ = writeln!(
            out,
            "({}: long-poll hold times, not in the total's latency)",
            holds.join(", ")
        );
    }
}

fn checks(out: &mut String, s: &Summary) {
    if s.checks.is_empty() {
        return;
    }
    let width = column_width(
        s.checks
            .iter()
            .map(|c| c.check.chars().count() + 1 + c.op.chars().count()),
        "check",
    );
    let _ = writeln!(
        out,
        "\n{:<width$} {:>9} {:>9} {:>9}",
        "check", "passed", "failed", "pass %"
    );
    for c in &s.checks {
        let name = format!("{} {}", c.check, c.op);
        let _ = writeln!(
            out,
            "{name:<width$} {:>9} {:>9} {:>9.2}",
            c.passed,
            c.failed,
            c.pass_rate * 100.0
        );
    }
}

fn thresholds(out: &mut String, s: &Summary) {
    if s.thresholds.is_empty() {
        return;
    }
    out.push_str("\nthresholds\n");
    for v in &s.thresholds {
        let verdict = if v.passed { "PASS" } else { "FAIL" };
        if v.measured.is_some() {
            let _ = write!(
                out,
                "{verdict}  {}  measured {}, limit {}",
                v.source, v.measured_display, v.limit_display
            );
        } else {
            let _ = write!(out, "{verdict}  {}  not measured", v.source);
        }
        if let Some(note) = &v.note {
            let _ = write!(out, " ({note})");
        }
        out.push('\n');
    }
}

fn baseline(out: &mut String, s: &Summary) {
    if s.baseline.is_empty() {
        return;
    }
    let regressions: Vec<_> = s.baseline.iter().filter(|d| d.regressed).collect();
    let _ = writeln!(
        out,
        "\nbaseline: {} of {} percentiles regressed",
        regressions.len(),
        s.baseline.len()
    );
    for d in regressions {
        let change = d
            .change
            .map_or(String::new(), |c| format!(" ({:+.1}%)", c * 100.0));
        let _ = writeln!(
            out,
            "REGRESSED  {} {}  {:.2} ms -> {:.2} ms{change}",
            d.op, d.percentile, d.baseline_ms, d.current_ms
        );
    }
}

/// Writes `summary.txt`.
pub fn write(path: &Path, outcome: &Outcome, secrets: &Secrets) -> Result<(), ReportError> {
    write_file(path, render(outcome, secrets).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Delta;
    use crate::report::summary::tests::outcome;

    #[test]
    fn golden_summary_text() {
        let mut o = outcome();
        o.deltas = vec![Delta {
            op: "sendMessage".into(),
            percentile: "p99".into(),
            baseline_ms: 20.0,
            current_ms: 25.0,
            change: Some(0.25),
            regressed: true,
        }];
        let expected = concat!(
            "smoke against http://127.0.0.1:8080: FAILED in 2.0 s\n",
            "\n",
            "operation           count  errors     p50 ms     p95 ms     p99 ms     max ms     req/s\n",
            "acceptEngagement       20       0      28.02      46.02      48.03      48.03      10.0\n",
            "sendMessage            20       1      14.01      23.01      24.02      24.02      10.0\n",
            "total                  40       1      19.01      44.03      48.03      48.03      20.0\n",
            "\n",
            "check                      passed    failed    pass %\n",
            "status acceptEngagement        20         0    100.00\n",
            "status sendMessage             19         1     95.00\n",
            "\n",
            "thresholds\n",
            "PASS  p95(acceptEngagement) < 300ms  measured 46.02 ms, limit < 300ms\n",
            "\n",
            "baseline: 1 of 1 percentiles regressed\n",
            "REGRESSED  sendMessage p99  20.00 ms -> 25.00 ms (+25.0%)\n",
        );
        assert_eq!(render(&o, &Secrets::default()), expected);
    }

    #[test]
    fn secrets_are_masked() {
        let text = render(&outcome(), &Secrets::new(["127.0.0.1"]));
        assert!(text.starts_with("smoke against http://****:8080"));
    }
}
