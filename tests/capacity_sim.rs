//! `capacity` against the embedded simulator with a known limit: past 6 logged-in agents the
//! simulator delays every request by 600 ms, so stepping 2, 4, 6, 8 agents must find 6, stop at
//! 8, and place the knee at 6. Every step is a short real run on 127.0.0.1. The p95 limit sits
//! well above what the held steps measure on a loaded debug build (tens of ms) and below what
//! the slowed step cannot help measuring (every request 600 ms late).

use std::process::Command;

use crate::bin_common::{output_into, read_json, suite_in_tempdir};

const SUITE: &str = "name: limited\n\
load: {agents: 2, ramp: 0s, duration: 3s, seed: 3, arrival_rate: 2/s}\n\
simulator:\n  faults: {slowdown_above_agents: 6, slowdown_latency: 600ms}\n\
personas:\n  quick: {weight: 1, max_chats: 2, think: constant 100ms, typing: constant 100ms, \
reply: uniform 200ms..400ms, messages: 1..2}\n\
thresholds:\n  - p95 < 400ms\n  - error_rate < 5%\n";

#[test]
fn capacity_finds_the_simulators_slowdown_limit_within_one_step() {
    let (dir, suite) = suite_in_tempdir(SUITE);
    let out = dir.path().join("cap");
    let o = output_into(
        Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
            .arg("capacity")
            .arg(&suite)
            .args(["--from", "2", "--to", "12", "--step", "2", "--require", "6"]),
        &out,
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");

    let c = read_json(&out.join("capacity.json"));
    let loads: Vec<f64> = c["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["load"].as_f64())
        .collect();
    // The search stops at the first step that breaks: 10 and 12 are never run.
    assert_eq!(loads, [2.0, 4.0, 6.0, 8.0], "{stdout}");
    assert_eq!(c["capacity"], 6.0, "{stdout}");
    assert_eq!(c["knee"], 6.0, "{stdout}");
    let held: Vec<bool> = c["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["held"] == true)
        .collect();
    assert_eq!(held, [true, true, true, false]);
    let broke = c["steps"][3]["broke"][0].as_str().unwrap_or("");
    assert!(broke.starts_with("p95 < 400ms: "), "{broke}");
    assert!(c["steps"][3]["p95_ms"].as_f64().unwrap_or(0.0) >= 600.0);
    assert!(c["steps"][2]["p95_ms"].as_f64().unwrap_or(1e9) < 400.0);

    // The table on stdout, and the files.
    assert!(
        stdout.contains("capacity: 6 agents held every threshold and check"),
        "{stdout}"
    );
    assert!(stdout.contains("require:  6 agents: met"), "{stdout}");
    for f in ["capacity.txt", "report.html", "junit.xml"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert_eq!(html.matches("<svg").count(), 3, "three charts");
    assert!(html.contains("Latency against load"));
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<testcase").count(), 5, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    // Each step has its own full report.
    let step = read_json(&out.join("step-04-8").join("summary.json"));
    assert_eq!(step["run"]["exit_status"], 1);
    assert_eq!(step["operations"]["login"]["count"], 8);
}

#[test]
fn bad_bounds_are_usage_errors_before_anything_runs() {
    let (dir, suite) = suite_in_tempdir(SUITE);
    for (args, says) in [
        (vec!["--from", "4", "--to", "2"], "need 0 < --from <= --to"),
        (vec!["--from", "1.5", "--to", "3"], "whole agents"),
        (
            vec!["--from", "1", "--to", "500", "--step", "1"],
            "at most 100",
        ),
    ] {
        let o = output_into(
            Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
                .arg("capacity")
                .arg(&suite)
                .args(&args),
            &dir.path().join("never"),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!dir.path().join("never").exists());
    }
}
