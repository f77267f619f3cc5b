//! `report.html`: one self-contained page that opens offline.
//!
//! No JavaScript, no external CSS, fonts or CDNs: the charts are inline SVG drawn here.
//! Latency-by-percentile plots use HdrHistogram's log percentile axis (0%, 90%, 99%, 99.9%, …);
//! time series show req/s, errors and active agents per bucket. Every string from the suite or
//! the target is HTML-escaped, and secrets are masked before rendering.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

use super::chart::{Chart, Series};
use super::markup::{STYLE, escape};
use super::summary::{self, Summary};
use super::{Outcome, ReportError, Secrets, write_file};
use crate::metrics::RunData;

/// The page for `outcome`, secrets masked.
pub fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    let masked = secrets.mask_outcome(outcome);
    let page = render_page(&summary::build(&masked), &masked.data);
    secrets.mask_document(&page).into_owned()
}

fn render_page(s: &Summary, data: &RunData) -> String {
    let mut h = String::new();
    let title = format!("{} — aeapi-harness report", s.run.suite);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(&title)
    );
    let (class, status) = if s.run.exit_status == 0 {
        ("pass", "PASSED")
    } else if s.run.exit_status == 1 {
        ("fail", "FAILED")
    } else {
        ("fail", "HARNESS ERROR")
    };
    let _ = write!(
        h,
        "<h1>{}</h1>\n<p>Target <code>{}</code> · <span class=\"{class}\">{status}</span> · {} → {} ({:.1} s){} · aeapi-harness {}</p>\n",
        escape(&s.run.suite),
        escape(&s.run.target),
        escape(&s.run.started),
        escape(&s.run.ended),
        s.run.duration_s,
        if s.run.interrupted {
            " · interrupted"
        } else {
            ""
        },
        escape(&s.run.harness_version)
    );
    if !s.run.shards.is_empty() {
        let _ = writeln!(h, "<p>Shards: {}</p>", escape(&s.run.shards.join(", ")));
    }
    if let Some(e) = &s.run.harness_error {
        let _ = writeln!(h, "<p class=\"fail\">Harness error: {}</p>", escape(e));
    }

    thresholds(&mut h, s);
    operations(&mut h, s);
    contract_failures(&mut h, s);
    polls_and_deliveries(&mut h, s);
    time_series(&mut h, data);
    super::over_time::render(&mut h, data, &s.baseline);
    percentile_plots(&mut h, data);
    h.push_str("</body></html>\n");
    h
}

fn thresholds(h: &mut String, s: &Summary) {
    h.push_str("<h2>Thresholds</h2>\n");
    if s.thresholds.is_empty() {
        h.push_str("<p>No thresholds in this suite.</p>\n");
        return;
    }
    h.push_str("<table><tr><th>Rule</th><th>Measured</th><th>Limit</th><th>Verdict</th><th>Note</th></tr>\n");
    for v in &s.thresholds {
        let (class, word) = if v.passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td></tr>",
            escape(&v.source),
            escape(&v.measured_display),
            escape(&v.limit_display),
            escape(v.note.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>\n");
    if !s.baseline.is_empty() {
        h.push_str("<h3>Against the baseline</h3>\n<table><tr><th>Operation</th><th>Percentile</th><th>Baseline ms</th><th>Now ms</th><th>Change</th><th></th></tr>\n");
        for d in &s.baseline {
            let change = d
                .change
                .map_or("n/a".to_owned(), |c| format!("{:+.1}%", c * 100.0));
            let flag = if d.regressed {
                "<span class=\"fail\">REGRESSED</span>"
            } else {
                ""
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{change}</td><td>{flag}</td></tr>",
                escape(&d.op),
                escape(&d.percentile),
                d.baseline_ms,
                d.current_ms
            );
        }
        h.push_str("</table>\n");
    }
}

fn operations(h: &mut String, s: &Summary) {
    h.push_str("<h2>Operations</h2>\n<table><tr><th>Operation</th><th>Count</th><th>Errors</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>Max ms</th><th>p99 corrected ms</th><th>req/s</th></tr>\n");
    let rows = s
        .operations
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .chain([("total", &s.totals)]);
    for (name, o) in rows {
        let l = &o.latency_ms.raw;
        let errors = if o.errors_by_kind.is_empty() {
            "0".to_owned()
        } else {
            let kinds: Vec<String> = o
                .errors_by_kind
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            format!("{} ({})", o.errors, kinds.join(", "))
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.1}</td></tr>",
            escape(name),
            o.count,
            escape(&errors),
            l.p50,
            l.p95,
            l.p99,
            l.p99_9,
            l.max,
            o.latency_ms.corrected.p99,
            o.throughput_rps
        );
    }
    h.push_str("</table>\n");
}

fn contract_failures(h: &mut String, s: &Summary) {
    h.push_str("<h2>Checks</h2>\n<table><tr><th>Check</th><th>Operation</th><th>Passed</th><th>Failed</th><th>Pass %</th></tr>\n");
    for c in &s.checks {
        let class = if c.failed == 0 { "pass" } else { "fail" };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{:.2}</td></tr>",
            escape(&c.check),
            escape(&c.op),
            c.passed,
            c.failed,
            c.pass_rate * 100.0
        );
    }
    h.push_str("</table>\n");
    for c in s.checks.iter().filter(|c| !c.examples.is_empty()) {
        let _ = writeln!(
            h,
            "<h3>{} on {}: {} failed</h3>",
            escape(&c.check),
            escape(&c.op),
            c.failed
        );
        for ex in &c.examples {
            let status = ex
                .status
                .map_or("no response".to_owned(), |s| s.to_string());
            let _ = writeln!(
                h,
                "<pre>{} → {}\n{}\n{}</pre>",
                escape(&ex.request_line),
                status,
                escape(&ex.detail),
                escape(&ex.response_excerpt)
            );
        }
    }
}

fn polls_and_deliveries(h: &mut String, s: &Summary) {
    if s.poll_hold_ms.is_empty() && s.delivery_ms.is_empty() && s.engagements.is_empty() {
        return;
    }
    h.push_str("<h2>Long polls, deliveries, engagements</h2>\n");
    let rows: Vec<(String, &summary::Dist)> = s
        .poll_hold_ms
        .iter()
        .map(|(p, d)| (format!("poll hold ({p})"), d))
        .chain(
            s.delivery_ms
                .iter()
                .map(|(dir, d)| (format!("delivery {}", dir.replace('_', " ")), d)),
        )
        .collect();
    if !rows.is_empty() {
        h.push_str("<table><tr><th>Figure</th><th>Count</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>Max ms</th></tr>\n");
        for (name, d) in rows {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
                escape(&name),
                d.count,
                d.p50,
                d.p95,
                d.p99,
                d.max
            );
        }
        h.push_str("</table>\n");
    }
    if !s.engagements.is_empty() {
        h.push_str("<table><tr><th>Engagements</th><th>Count</th></tr>\n");
        for (end, n) in &s.engagements {
            let _ = writeln!(h, "<tr><td>{}</td><td>{n}</td></tr>", escape(end));
        }
        h.push_str("</table>\n");
    }
}

fn time_series(h: &mut String, data: &RunData) {
    if data.series.is_empty() {
        return;
    }
    let secs = data.interval().as_secs_f64().max(1e-6);
    let t = |i: usize| i as f64 * secs;
    let per_s = |f: &dyn Fn(&crate::metrics::Bucket) -> u64| -> Vec<(f64, f64)> {
        data.series
            .iter()
            .enumerate()
            .map(|(i, b)| (t(i), f(b) as f64 / secs))
            .collect()
    };
    h.push_str("<h2>Over time</h2>\n");
    let x_max = t(data.series.len());
    for (title, unit, points, color) in [
        (
            "Requests per second",
            "req/s",
            per_s(&|b| b.requests),
            "#0969da",
        ),
        (
            "Errors per second",
            "errors/s",
            per_s(&|b| b.errors),
            "#cf222e",
        ),
        (
            "Active agents",
            "agents",
            data.series
                .iter()
                .enumerate()
                .map(|(i, b)| (t(i), b.active_agents as f64))
                .collect(),
            "#8250df",
        ),
        (
            "Engagements ended per second",
            "per s",
            per_s(&|b| b.engagements),
            "#1a7f37",
        ),
    ] {
        let chart = Chart::linear_x(title, "time (s)", unit, 0.0, x_max);
        h.push_str(&chart.render(&[Series {
            name: unit.to_owned(),
            color,
            points,
        }]));
    }
}

/// Points of a latency-by-percentile curve: (log10(1/(1-q)), ms).
fn percentile_points(hist: &Histogram<u64>) -> Vec<(f64, f64)> {
    if hist.is_empty() {
        return Vec::new();
    }
    let mut pts = Vec::new();
    for v in hist.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        pts.push((
            (1.0 / (1.0 - q)).log10(),
            v.value_iterated_to() as f64 / 1000.0,
        ));
    }
    if let Some(&(x, _)) = pts.last() {
        pts.push((x.max(1.0), hist.max() as f64 / 1000.0));
    }
    pts
}

fn percentile_plots(h: &mut String, data: &RunData) {
    h.push_str("<h2>Latency by percentile</h2>\n<p>Raw (as served) and coordinated-omission corrected (as an evenly paced client would have seen it).</p>\n");
    for (op, stats) in &data.ops {
        let raw = percentile_points(&stats.latency.raw);
        let corrected = percentile_points(&stats.latency.corrected);
        let x_max = raw
            .iter()
            .chain(&corrected)
            .map(|p| p.0)
            .fold(4.0_f64, f64::max)
            .ceil()
            .min(6.0);
        let chart = Chart::percentile_x(op, "latency (ms)", x_max);
        h.push_str(&chart.render(&[
            Series {
                name: "raw".into(),
                color: "#0969da",
                points: raw,
            },
            Series {
                name: "corrected".into(),
                color: "#bc4c00",
                points: corrected,
            },
        ]));
    }
}

/// Writes `report.html`.
pub fn write(path: &Path, outcome: &Outcome, secrets: &Secrets) -> Result<(), ReportError> {
    write_file(path, render(outcome, secrets).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CheckOutcome, Exchange, Recorder, Sample};
    use crate::report::summary::tests::outcome;
    use std::time::{Duration, Instant};

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn self_contained_page_with_charts() {
        let html = render(&outcome(), &Secrets::default());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"));
        // Nothing loaded from elsewhere (the target's URL may appear as text).
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
        assert!(!html.contains("<link"));
        assert_eq!(
            html.matches("<svg").count(),
            4 + 2 + 2,
            "4 time series + 2 operations over time + 2 operations by percentile"
        );
        assert_eq!(html.matches("<figure class=\"pot\"").count(), 2);
        for tick in [">0%<", ">90%<", ">99%<", ">99.9%<"] {
            assert!(html.contains(tick), "missing tick {tick}");
        }
        assert!(html.contains("<td class=\"pass\">PASS</td>"));
        assert!(html.contains("&lt;error&gt;busy&lt;/error&gt;"));
        assert!(html.contains("<tr><td>poll hold (agent)</td><td>1</td>"));
        assert!(html.contains("<tr><td>accepted</td><td>1</td></tr>"));
    }

    #[test]
    fn hostile_strings_from_the_target_are_escaped() {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        let op = "<img src=x onerror=alert(1)>";
        r.record(&Sample {
            op,
            persona: "agent",
            status: Some(500),
            latency: Duration::from_millis(3),
            error: None,
            expected_interval: None,
            at: t0,
        });
        r.record_check(&CheckOutcome {
            check: "schema",
            op,
            persona: "agent",
            passed: false,
            example: Some(Exchange {
                request_line: "GET /x".into(),
                status: Some(500),
                detail: "bad".into(),
                response_excerpt: "<script>alert('pwned')</script>".into(),
            }),
        });
        let mut o = outcome();
        o.data = r.snapshot();
        let html = render(&o, &Secrets::default());
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));
    }
}
