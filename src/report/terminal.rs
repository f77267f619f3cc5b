//! The summary printed on the terminal at the end of a run, as k6 prints its own: one line per
//! check (every operation together), `✓ status 779/779` or `✗ schema 3 failed on
//! messages.get`, each failure expanded with its examples; one line per threshold; then the
//! figures people look for first (requests, errors, latency, poll hold, delivery time both ways,
//! engagements). The full per-operation table is `summary.txt` (and `-v`). Built from the same
//! `Summary` as `summary.json` (already masked), so they never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::summary::{CheckSummary, Dist, Summary};

/// Examples shown per failing (check, operation); the rest are in the reports.
pub const EXAMPLES_SHOWN: usize = 2;
/// Longest response excerpt shown, in characters.
const EXCERPT: usize = 160;

/// `1234567` → `1,234,567` (the terminal summary's and the command layer's numbers).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in ms for people: `850 µs`, `12.3 ms`, `1.25 s`.
pub fn human_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        let s = format!("{ms:.2}");
        format!("{} ms", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat.to_owned()
    }
}

/// The check lines: one per check name (every operation together), failures expanded.
fn checks(out: &mut String, checks: &[CheckSummary]) {
    let mut by_name: BTreeMap<&str, Vec<&CheckSummary>> = BTreeMap::new();
    for c in checks {
        by_name.entry(c.check.as_str()).or_default().push(c);
    }
    let width = by_name.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (name, per_op) in by_name {
        let passed: u64 = per_op.iter().map(|c| c.passed).sum();
        let failed: u64 = per_op.iter().map(|c| c.failed).sum();
        if failed == 0 {
            let _ = writeln!(
                out,
                "  ✓ {name:<width$} {}/{}",
                thousands(passed),
                thousands(passed)
            );
            continue;
        }
        let mut failing: Vec<&&CheckSummary> = per_op.iter().filter(|c| c.failed > 0).collect();
        failing.sort_by(|a, b| b.failed.cmp(&a.failed).then(a.op.cmp(&b.op)));
        let ops = if failing.len() == 1 {
            failing[0].op.clone()
        } else {
            failing
                .iter()
                .map(|c| format!("{} ({})", c.op, thousands(c.failed)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  ✗ {name:<width$} {} failed on {ops}  ({}/{} passed)",
            thousands(failed),
            thousands(passed),
            thousands(passed + failed)
        );
        for c in failing {
            for ex in c.examples.iter().take(EXAMPLES_SHOWN) {
                let status = ex
                    .status
                    .map_or("no response".to_owned(), |s| s.to_string());
                let _ = writeln!(
                    out,
                    "      {} → {status}: {}",
                    ex.request_line,
                    one_line(&ex.detail, 200)
                );
                if !ex.response_excerpt.trim().is_empty() {
                    let _ = writeln!(out, "        {}", one_line(&ex.response_excerpt, EXCERPT));
                }
            }
            let more = c
                .failed
                .saturating_sub(c.examples.len().min(EXAMPLES_SHOWN) as u64);
            if more > 0 {
                let _ = writeln!(
                    out,
                    "      … {} more on {} (examples in report.html and junit.xml)",
                    thousands(more),
                    c.op
                );
            }
        }
    }
}

fn dist_line(d: &Dist) -> String {
    format!(
        "p50 {}  p95 {}  p99 {}",
        human_ms(d.p50),
        human_ms(d.p95),
        human_ms(d.p99)
    )
}

/// The terminal summary of an outcome, secrets masked (as `summary.txt` is).
pub fn render_outcome(outcome: &super::Outcome, secrets: &super::Secrets) -> String {
    let masked = secrets.mask_outcome(outcome);
    let text = render(&super::summary::build(&masked));
    secrets.mask_document(&text).into_owned()
}

/// The terminal summary of `s`.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    super::text::run_line(&mut out, s);
    checks(&mut out, &s.checks);
    if !s.thresholds.is_empty() {
        if !s.checks.is_empty() {
            out.push('\n');
        }
        thresholds(&mut out, &s.thresholds);
    }
    if !s.checks.is_empty() || !s.thresholds.is_empty() {
        out.push('\n');
    }
    let t = &s.totals;
    let _ = writeln!(
        out,
        "  requests     {}  {:.1}/s  errors {} ({:.2}%)",
        thousands(t.count),
        t.throughput_rps,
        thousands(t.errors),
        t.error_rate * 100.0
    );
    if t.latency_ms.raw.count > 0 {
        let _ = writeln!(out, "  latency      {}", dist_line(&t.latency_ms.raw));
    }
    holds_and_deliveries(&mut out, s);
    if !s.engagements.is_empty() {
        let list: Vec<String> = s
            .engagements
            .iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n)))
            .collect();
        let _ = writeln!(out, "  engagements  {}", list.join(", "));
    }
    let regressed = s.baseline.iter().filter(|d| d.regressed).count();
    if !s.baseline.is_empty() {
        let _ = writeln!(
            out,
            "  baseline     {regressed} of {} percentiles regressed",
            s.baseline.len()
        );
    }
    out
}

/// One line a threshold: ✓ or ✗, the rule (aligned), what was measured and any note.
fn thresholds(out: &mut String, thresholds: &[crate::check::threshold::Verdict]) {
    let width = thresholds
        .iter()
        .map(|t| t.source.chars().count())
        .max()
        .unwrap_or(0);
    for t in thresholds {
        let mark = if t.passed { '✓' } else { '✗' };
        let measured = if t.measured.is_some() {
            t.measured_display.clone()
        } else {
            "not measured".to_owned()
        };
        let note = t.note.as_ref().map_or(String::new(), |n| format!(" ({n})"));
        let _ = writeln!(out, "  {mark} {:<width$}  {measured}{note}", t.source);
    }
}

/// Long-poll holds (per persona when several held) and delivery times in both directions.
fn holds_and_deliveries(out: &mut String, s: &Summary) {
    let holds: Vec<(&String, &Dist)> = s.poll_hold_ms.iter().filter(|(_, d)| d.count > 0).collect();
    match holds.as_slice() {
        [] => {}
        [(_, d)] => {
            let _ = writeln!(out, "  poll hold    {}", dist_line(d));
        }
        many => {
            for (persona, d) in many {
                let _ = writeln!(out, "  poll hold    {persona}  {}", dist_line(d));
            }
        }
    }
    for (key, label) in [
        ("customer_to_agent", "customer → agent"),
        ("agent_to_customer", "agent → customer"),
    ] {
        match s.delivery_ms.get(key) {
            Some(d) if d.count > 0 => {
                let _ = writeln!(
                    out,
                    "  delivery     {label}  {}  ({} line{})",
                    dist_line(d),
                    thousands(d.count),
                    if d.count == 1 { "" } else { "s" }
                );
            }
            _ => {
                let _ = writeln!(out, "  delivery     {label}  no tagged line seen");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Exchange;
    use crate::report::summary::{build, tests::outcome};

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(
            [0, 999, 1_000, 1_234_567].map(thousands),
            ["0", "999", "1,000", "1,234,567"]
        );
    }

    #[test]
    fn numbers_and_durations_for_people() {
        assert_eq!(human_ms(0.85), "850 µs");
        assert_eq!(human_ms(12.30), "12.3 ms");
        assert_eq!(human_ms(80.0), "80 ms");
        assert_eq!(human_ms(1250.0), "1.25 s");
    }

    #[test]
    fn golden_terminal_summary() {
        let s = build(&outcome());
        let expected = concat!(
            "smoke against http://127.0.0.1:8080: FAILED in 2.0 s\n",
            "\n",
            "  ✗ status 1 failed on sendMessage  (39/40 passed)\n",
            "      POST /engagementAPI/v2/agent/sendMessage → 503: expected 200, got 503\n",
            "        <error>busy</error>\n",
            "\n",
            "  ✓ p95(acceptEngagement) < 300ms  46.02 ms\n",
            "\n",
            "  requests     40  20.0/s  errors 1 (2.50%)\n",
            "  latency      p50 19.01 ms  p95 44.03 ms  p99 48.03 ms\n",
            "  poll hold    p50 25.00 s  p95 25.00 s  p99 25.00 s\n",
            "  delivery     customer → agent  p50 80.06 ms  p95 80.06 ms  p99 80.06 ms  (1 line)\n",
            "  delivery     agent → customer  no tagged line seen\n",
            "  engagements  accepted 1\n",
        );
        assert_eq!(render(&s), expected);
    }

    #[test]
    fn checks_are_grouped_by_kind_with_failures_per_operation() {
        let mut s = build(&outcome());
        let ex = |i: u32| Exchange {
            request_line: format!("GET /agent/messages #{i}"),
            status: Some(200),
            detail: "body.engagements: expected array,\ngot object".into(),
            response_excerpt: "x".repeat(400),
        };
        s.checks = vec![
            CheckSummary {
                check: "schema".into(),
                op: "login".into(),
                passed: 10,
                failed: 1,
                pass_rate: 10.0 / 11.0,
                examples: vec![ex(0)],
            },
            CheckSummary {
                check: "schema".into(),
                op: "messages.get".into(),
                passed: 766,
                failed: 3,
                pass_rate: 766.0 / 769.0,
                examples: vec![ex(1), ex(2), ex(3)],
            },
            CheckSummary {
                check: "status".into(),
                op: "login".into(),
                passed: 779,
                failed: 0,
                pass_rate: 1.0,
                examples: vec![],
            },
        ];
        let text = render(&s);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            "  ✗ schema 4 failed on messages.get (3), login (1)  (776/780 passed)"
        );
        assert_eq!(
            lines[3],
            "      GET /agent/messages #1 → 200: body.engagements: expected array, got object"
        );
        assert_eq!(lines[4], format!("        {}…", "x".repeat(EXCERPT)));
        assert_eq!(
            lines[5],
            "      GET /agent/messages #2 → 200: body.engagements: expected array, got object"
        );
        assert_eq!(
            lines[7],
            "      … 1 more on messages.get (examples in report.html and junit.xml)"
        );
        assert_eq!(
            lines[8],
            "      GET /agent/messages #0 → 200: body.engagements: expected array, got object"
        );
        assert_eq!(lines[10], "  ✓ status 779/779");
    }
}
