//! Delivery time in every embedded run: the simulator's built-in customers tag their lines and
//! read the agents', so `run suites/smoke.yaml` (no harness-driven customers) prints delivery
//! time both ways and summary.json's `delivery_ms` has both directions, p50 above 0 and below
//! the long-poll hold.

use std::process::Command;

use crate::bin_common::{assert_completed, read_json};

#[test]
fn smoke_reports_delivery_time_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
        .arg("run")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/suites/smoke.yaml"))
        .args(["--duration", "12s", "--out"])
        .arg(&out)
        .output()
        .expect("harness runs");
    assert_completed(&run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    for label in ["customer → agent  p50 ", "agent → customer  p50 "] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("  delivery") && l.contains(label)),
            "no `{label}` line:\n{stdout}"
        );
    }
    let summary = read_json(&out.join("summary.json"));
    // The simulator's default long-poll hold (smoke sets none): 20 s.
    let hold_ms = 20_000.0;
    for dir in ["customer_to_agent", "agent_to_customer"] {
        let d = &summary["delivery_ms"][dir];
        let (count, p50) = (
            d["count"].as_u64().unwrap_or(0),
            d["p50"].as_f64().unwrap_or(0.0),
        );
        assert!(count > 0, "{dir}: no delivery measured: {d}");
        assert!(p50 > 0.0 && p50 < hold_ms, "{dir}: p50 {p50} ms");
        eprintln!("{dir}: {count} lines, p50 {p50} ms");
    }
}
