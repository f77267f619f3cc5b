//! SIGTERM or Ctrl-C (SIGINT) in the middle of a run: the run stops promptly (in-flight long-polls are abandoned,
//! not awaited), is marked interrupted, writes every report, and exits 3 (cut short, nothing
//! failed so far).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::bin_common::{read_json, run_command, send_signal, suite_in_tempdir};

#[test]
fn sigterm_stops_the_run_marks_it_interrupted_and_writes_the_reports() {
    interrupt_with("-TERM");
}

#[test]
fn ctrl_c_stops_the_run_marks_it_interrupted_and_writes_the_reports() {
    interrupt_with("-INT");
}

fn interrupt_with(signal: &str) {
    let (dir, suite) = suite_in_tempdir(
        "name: interrupted\nload: {agents: 4, ramp: 0s, duration: 60s, arrival_rate: 1/s}\n\
         simulator: {long_poll_hold: 20s}\npersonas: {p: {weight: 1}}\n",
    );
    let out = dir.path().join("out");
    let mut child = run_command(&suite, &out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("harness starts");
    // goose says so on stdout once every agent is up: the run is under way.
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let launched = lines.any(|l| l.is_ok_and(|l| l.contains("users launched")));
    assert!(launched, "goose never launched the agents");
    let signalled = Instant::now();
    send_signal(&child, signal);
    let status = child.wait().expect("harness ends");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    assert_eq!(status.code(), Some(3));
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["run"]["interrupted"], true);
    assert!(summary["totals"]["count"].as_u64().unwrap_or(0) > 0);
    for f in ["summary.txt", "junit.xml", "report.html", "histograms.hlog"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}
