//! The live page (`run --dashboard`) in headless Chromium, driven over the DevTools protocol:
//! opened during a run it shows increasing request counts and the suite's operations, after the
//! run the verdict and the reports; nothing is logged as an error and no request leaves
//! loopback. Then report.html's percentiles-over-time charts, one per operation, show a 1 s
//! stall injected mid-run in their p99 at that time. Skipped with a note where Chromium is
//! missing (a failure under CI).

use std::process::Command;
use std::time::Duration;

use crate::bin_common::read_json;
use crate::live_common::{Browser, spawn_saying, tool};

const STALL_AT: f64 = 5.0;

#[test]
fn the_live_page_follows_a_run_and_report_html_shows_percentiles_over_time() {
    let Some(bin) = tool(&["chromium", "chromium-browser"], "chromium") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        "name: live\nload: {agents: 4, ramp: 0s, duration: 9s, arrival_rate: 3/s}\n\
         simulator: {long_poll_hold: 1s, customers: {think_time: 300ms, lines: 4}, \
         faults: {stalls: [{at: 5s, duration: 1s}]}}\n\
         personas: {p: {weight: 1, think: 50ms, reply: 100ms, typing: 50ms, messages: 4}}\n\
         thresholds: ['p95(acceptEngagement) < 5s']\n",
    )
    .expect("write suite");
    let out = dir.path().join("out");
    let (mut run, dashboard) = spawn_saying(
        Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
            .args(["run"])
            .arg(&suite)
            .arg("--out")
            .arg(&out)
            .args(["--dashboard", "127.0.0.1:0"]),
        "dashboard: ",
    );
    let base = dashboard
        .expect("the harness says where the dashboard is")
        .trim_end_matches('/')
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let mut b = Browser::start(&bin, dir.path());
    b.navigate(&format!("{base}/"));
    let count = |b: &mut Browser| -> u64 {
        b.eval("document.getElementById('requests').textContent")
            .as_str()
            .unwrap_or("")
            .replace(',', "")
            .parse()
            .unwrap_or(0)
    };
    b.wait_for(
        "Number(document.getElementById('requests').textContent.replace(/,/g, '')) > 0",
        Duration::from_secs(15),
    )
    .expect("the page shows requests");
    let first = count(&mut b);
    std::thread::sleep(Duration::from_millis(2500));
    let second = count(&mut b);
    assert!(second > first, "requests {first} then {second}");
    let ops = b.eval("[...document.querySelectorAll('#op-table tbody tr')].map(r => r.dataset.op)");
    for op in ["login", "acceptEngagement", "messages.get", "messages.post"] {
        assert!(
            ops.as_array().is_some_and(|a| a.iter().any(|o| o == op)),
            "{op} not on the page: {ops}"
        );
    }
    let charts = b.eval("document.querySelectorAll('#ops .chart polyline').length");
    assert!(
        charts.as_u64().unwrap_or(0) >= 4,
        "{charts} lines per operation"
    );
    let verdict = b
        .wait_for(
            "document.getElementById('verdict-text').textContent",
            Duration::from_secs(40),
        )
        .expect("the page shows the verdict after the run");
    let verdict = verdict.as_str().unwrap_or("").to_owned();
    assert!(
        verdict.starts_with("passed: ") || verdict.starts_with("failed: "),
        "{verdict}"
    );
    let links = b.eval("[...document.querySelectorAll('#report-links a')].map(a => a.textContent)");
    assert!(
        links
            .as_array()
            .is_some_and(|a| a.iter().any(|l| l == "report.html")),
        "{links}"
    );
    let status = run.wait().expect("the harness exits");
    assert!(matches!(status.code(), Some(0) | Some(1)), "{status}");
    assert_eq!(b.errors, Vec::<String>::new(), "the page logged errors");
    assert!(
        b.requests.len() > 3
            && b.requests
                .iter()
                .all(|u| u.starts_with(&format!("{base}/"))),
        "a request left the harness's loopback address: {:?}",
        b.requests
    );

    // report.html: a percentiles-over-time chart per operation, the stall in its p99.
    let summary = read_json(&out.join("summary.json"));
    let ops: Vec<String> = summary["operations"]
        .as_object()
        .expect("operations")
        .keys()
        .filter(|op| *op != "messages.get")
        .cloned()
        .collect();
    b.navigate(&format!("file://{}", out.join("report.html").display()));
    let figures = b
        .wait_for(
            "(() => { const f = [...document.querySelectorAll('figure.pot')]; \
             return f.length ? f.map(f => [f.dataset.op, JSON.parse(f.dataset.p99), \
             f.querySelectorAll('polyline').length]) : null; })()",
            Duration::from_secs(10),
        )
        .expect("report.html has percentiles-over-time charts");
    let figures = figures.as_array().expect("array");
    let mut charted: Vec<String> = figures
        .iter()
        .filter_map(|f| f[0].as_str().map(str::to_owned))
        .collect();
    charted.sort();
    assert_eq!(charted, ops, "one chart per operation (long-polls aside)");
    // The stall (5 s to 6 s after the start) in some operation's p99 right then, and in none
    // before it.
    let mut peak: (f64, f64) = (0.0, 0.0);
    for f in figures {
        assert!(f[2].as_u64().unwrap_or(0) >= 1, "{f}: a drawn line");
        for p in f[1].as_array().into_iter().flatten() {
            let (t, ms) = (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0));
            if t <= STALL_AT - 1.0 {
                assert!(ms < 500.0, "{f}: p99 {ms} ms at {t} s, before the stall");
            }
            if ms > peak.1 {
                peak = (t, ms);
            }
        }
    }
    eprintln!("live page: {first} then {second} requests; verdict `{verdict}`; p99 peak {peak:?}");
    assert!(
        peak.1 >= 500.0 && peak.0 > STALL_AT && peak.0 <= STALL_AT + 3.0,
        "p99 peak {} ms at {} s; the stall was at {STALL_AT} s for 1 s",
        peak.1,
        peak.0
    );
    assert_eq!(b.errors, Vec::<String>::new(), "report.html logged errors");
}
