//! The capacity search's reports: the terminal table, `capacity.json`, `capacity.txt`,
//! `report.html` (charts of latency, error rate and throughput against load) and `junit.xml`.

use std::fmt::Write as _;
use std::path::Path;
use time::Duration;

use junit_report::{Report, TestCase, TestSuite};

use super::{By, Capacity, StepResult, label};
use crate::report::chart::{Chart, Series};
use crate::report::junit::xml_safe;
use crate::report::markup::{STYLE, escape};
use crate::report::{RenderError, ReportError, Secrets, write_file};

/// The table's header line.
pub fn table_head(by: By) -> String {
    format!(
        "{:>12}  {:>8}  {:>10}  {:>9}  {:>9}  {:>9}  {:>7}  result",
        by.unit(),
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors"
    )
}

/// A step's figures as text: load, requests, req/s, p50, p95, p99 (ms), errors (%).
fn cells(s: &StepResult) -> [String; 7] {
    [
        label(s.load),
        s.requests.to_string(),
        format!("{:.1}", s.throughput_rps),
        format!("{:.2}", s.p50_ms),
        format!("{:.2}", s.p95_ms),
        format!("{:.2}", s.p99_ms),
        format!("{:.2}%", s.error_rate * 100.0),
    ]
}

/// One step as a table line.
pub fn table_row(s: &StepResult) -> String {
    let (_, result) = result(s);
    let [load, requests, rps, p50, p95, p99, errors] = cells(s);
    format!(
        "{load:>12}  {requests:>8}  {rps:>10}  {p50:>9}  {p95:>9}  {p99:>9}  {errors:>7}  {result}"
    )
}

/// Whether a step held, and what happened to it for people (`held`, `BROKE: …`, `NOT RUN: …`).
fn result(s: &StepResult) -> (bool, String) {
    match (&s.harness_error, s.held) {
        (Some(e), _) => (false, format!("NOT RUN: {e}")),
        (None, true) => (true, "held".into()),
        (None, false) => (false, format!("BROKE: {}", s.broke.join("; "))),
    }
}

/// The search's conclusion in a few lines.
pub fn verdict(c: &Capacity) -> String {
    let mut out = String::new();
    let unit = &c.unit;
    match c.capacity {
        Some(cap) => {
            let _ = writeln!(
                out,
                "capacity: {} {unit} held every threshold and check",
                label(cap)
            );
        }
        None => {
            let _ = writeln!(out, "capacity: none: the lightest step already broke");
        }
    }
    if let (Some(cap), Some(last)) = (c.capacity, c.steps.last())
        && last.held
        && last.load == cap
    {
        let _ = writeln!(
            out,
            "          every step held up to --to; the limit is beyond {} {unit}",
            label(cap)
        );
    }
    match (c.knee, &c.knee_reason) {
        (Some(k), Some(why)) => {
            let _ = writeln!(out, "knee:     {} {unit} ({why})", label(k));
        }
        _ => {
            let _ = writeln!(out, "knee:     none within the steps run");
        }
    }
    if let Some(req) = c.require {
        let met = c.capacity.is_some_and(|cap| cap >= req);
        let _ = writeln!(
            out,
            "require:  {} {unit}: {}",
            label(req),
            if met { "met" } else { "NOT MET" }
        );
    }
    out
}

/// `capacity.txt`: the table and the verdict.
pub fn text(c: &Capacity) -> String {
    let mut out = format!(
        "capacity search of {} against {} by {}, {} s per step\n\n{}\n",
        c.suite,
        c.target,
        c.unit,
        c.step_duration_s,
        table_head(c.by)
    );
    for s in &c.steps {
        let _ = writeln!(out, "{}", table_row(s));
    }
    out.push('\n');
    out.push_str(&verdict(c));
    out
}

/// `report.html`: the charts, the table, links to every step's own report.
pub fn html(c: &Capacity) -> String {
    let mut h = String::new();
    let title = format!("{} — capacity", c.suite);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p>Target <code>{}</code> · by {} · {} s per step</p>\n<pre>{}</pre>\n",
        escape(&title),
        escape(&title),
        escape(&c.target),
        escape(&c.unit),
        c.step_duration_s,
        escape(&verdict(c))
    );
    let ran: Vec<&StepResult> = c
        .steps
        .iter()
        .filter(|s| s.harness_error.is_none())
        .collect();
    if let (Some(first), Some(last)) = (ran.first(), ran.last()) {
        let (lo, hi) = if first.load < last.load {
            (first.load, last.load)
        } else {
            (first.load - 1.0, last.load + 1.0)
        };
        let line = |name: &str, color: &'static str, f: &dyn Fn(&StepResult) -> f64| Series {
            name: name.to_string(),
            color,
            points: ran.iter().map(|s| (s.load, f(s))).collect(),
        };
        let x = c.unit.as_str();
        let charts = [
            (
                Chart::linear_x("Latency against load", x, "ms", lo, hi),
                vec![
                    line("p95", "#1f77b4", &|s| s.p95_ms),
                    line("p99", "#d62728", &|s| s.p99_ms),
                ],
            ),
            (
                Chart::linear_x("Error rate against load", x, "%", lo, hi),
                vec![line("errors", "#d62728", &|s| s.error_rate * 100.0)],
            ),
            (
                Chart::linear_x("Throughput against load", x, "req/s", lo, hi),
                vec![line("throughput", "#2ca02c", &|s| s.throughput_rps)],
            ),
        ];
        for (chart, series) in charts {
            let _ = writeln!(h, "<figure>{}</figure>", chart.render(&series));
        }
    }
    let _ = writeln!(
        h,
        "<table><tr><th>{}</th><th>requests</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>errors</th><th>result</th><th>report</th></tr>",
        escape(&c.unit)
    );
    for s in &c.steps {
        let (held, result) = result(s);
        let class = if held { "pass" } else { "fail" };
        let link = s
            .report
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let figures: String = cells(s)
            .iter()
            .map(|c| format!("<td>{}</td>", escape(c)))
            .collect();
        let _ = writeln!(
            h,
            "<tr>{figures}<td class=\"{class}\">{}</td><td><a href=\"{}/report.html\">{}</a></td></tr>",
            escape(&result),
            escape(&link),
            escape(&link)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

/// `junit.xml`: a case per step run (a broken step is a failure, one not run an error), and one
/// for `--require`.
pub fn junit(c: &Capacity) -> Result<String, RenderError> {
    let mut suite = TestSuite::new(&format!("capacity {}", xml_safe(&c.suite)));
    for s in &c.steps {
        let name = format!("{} {}", label(s.load), c.unit);
        let mut case = match (&s.harness_error, s.held) {
            (Some(e), _) => TestCase::error(&name, Duration::ZERO, "not-run", &xml_safe(e)),
            (None, true) => TestCase::success(&name, Duration::ZERO),
            (None, false) => TestCase::failure(
                &name,
                Duration::ZERO,
                "broke",
                &xml_safe(&s.broke.join("; ")),
            ),
        };
        case.set_classname("capacity.steps");
        suite.add_testcase(case);
    }
    if let Some(req) = c.require {
        let name = format!("capacity >= {} {}", label(req), c.unit);
        let found = c.capacity.map_or("none".to_string(), label);
        let mut case = if c.capacity.is_some_and(|cap| cap >= req) {
            TestCase::success(&name, Duration::ZERO)
        } else {
            TestCase::failure(
                &name,
                Duration::ZERO,
                "capacity",
                &format!("capacity found: {found} {}", c.unit),
            )
        };
        case.set_classname("capacity.require");
        suite.add_testcase(case);
    }
    let mut report = Report::new();
    report.add_testsuite(suite);
    let mut buf = Vec::new();
    report
        .write_xml(&mut buf)
        .map_err(RenderError::from_display)?;
    Ok(String::from_utf8_lossy(&buf).into_owned() + "\n")
}

/// The search with every free-text field masked: what the builders render, so secrets are
/// masked before the text is escaped into XML, JSON or HTML.
pub fn mask(c: &Capacity, secrets: &Secrets) -> Capacity {
    let mut c = c.clone();
    secrets.mask_all([&mut c.suite, &mut c.target]);
    for s in &mut c.steps {
        secrets.mask_all(s.broke.iter_mut().chain(&mut s.harness_error));
    }
    if let Some(k) = &mut c.knee_reason {
        secrets.mask_in_place(k);
    }
    c
}

/// Writes the search's files into `out`, secrets masked.
pub fn write_all(out: &Path, c: &Capacity, secrets: &Secrets) -> Result<(), ReportError> {
    let c = &mask(c, secrets);
    std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let json = serde_json::to_string_pretty(c).unwrap_or_else(|_| "{}".into()) + "\n";
    let junit = junit(c).map_err(|detail| ReportError::Invalid {
        path: out.join("junit.xml"),
        what: "JUnit report",
        detail: detail.to_string(),
    })?;
    for (name, body) in [
        ("capacity.json", json),
        ("capacity.txt", text(c)),
        ("report.html", html(c)),
        ("junit.xml", junit),
    ] {
        write_file(&out.join(name), secrets.mask_document(&body).as_bytes())?;
    }
    Ok(())
}
