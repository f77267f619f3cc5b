//! `run --baseline`: a run compared with an earlier one fails (exit 1, a JUnit `baseline`
//! failure, the deltas in summary.json) when it is slower beyond the suite's tolerance; a baseline
//! that cannot be read is a usage error before anything is sent.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::bin_common::{assert_completed, read_json, run_command, suite_in_tempdir};

const SUITE: &str = "name: baseline\nload: {agents: 2, ramp: 0s, duration: 3s}\n\
    simulator: {arrival_rate: 0, long_poll_hold: 2s}\n\
    personas: {p: {weight: 1, periodic: {preLoginStatus: 20ms}}}\n\
    baseline: {tolerance: 10%, floor: 0ms}\n";

fn run(suite: &Path, out: &Path, baseline: Option<&Path>) -> Output {
    let mut cmd = run_command(suite, out);
    if let Some(b) = baseline {
        cmd.arg("--baseline").arg(b);
    }
    cmd.stdout(Stdio::null()).output().expect("harness runs")
}

#[test]
fn a_run_slower_than_its_baseline_fails_with_the_regressions_named() {
    let (dir, suite) = suite_in_tempdir(SUITE);
    let first = dir.path().join("first");
    assert_eq!(run(&suite, &first, None).status.code(), Some(0));

    // The baseline: the first run's summary, every operation 100 times faster.
    let mut base = read_json(&first.join("summary.json"));
    if let Some(ops) = base["operations"].as_object_mut() {
        for op in ops.values_mut() {
            for p in ["p50", "p95", "p99"] {
                let v = op["latency_ms"]["raw"][p].as_f64().unwrap_or(1.0);
                op["latency_ms"]["raw"][p] = serde_json::json!(v / 100.0);
            }
        }
    }
    let fast = dir.path().join("fast.json");
    std::fs::write(&fast, base.to_string()).expect("write baseline");

    let second = dir.path().join("second");
    let out = run(&suite, &second, Some(&fast));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let junit = std::fs::read_to_string(second.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains(r#"name="baseline""#), "{junit}");
    assert!(junit.contains("REGRESSED"), "{junit}");
    let summary = read_json(&second.join("summary.json"));
    let regressed = summary["baseline"]
        .as_array()
        .map_or(0, |d| d.iter().filter(|d| d["regressed"] == true).count());
    assert!(regressed > 0, "{}", summary["baseline"]);

    // A report directory works as well as its summary.json. (Whether this run is within 10% of
    // the first depends on the machine's load, so only that it ran and compared is asserted.)
    let third = dir.path().join("third");
    let out = run(&suite, &third, Some(&first));
    assert_completed(&out);
    let junit = std::fs::read_to_string(third.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains(r#"name="baseline""#), "{junit}");
}

#[test]
fn an_unreadable_baseline_is_a_usage_error_and_nothing_runs() {
    let (dir, suite) = suite_in_tempdir(SUITE);
    let out_dir = dir.path().join("out");
    let out = run(&suite, &out_dir, Some(&dir.path().join("missing.json")));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: --baseline: "), "{err}");
    assert!(err.contains("missing.json"), "{err}");
    assert!(!out_dir.exists(), "nothing should have run");
}
