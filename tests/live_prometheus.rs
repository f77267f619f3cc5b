//! A real Prometheus (Debian's `prometheus`, on loopback, 1 s scrapes, temp storage) scrapes
//! `run --metrics-listen` during a short run; afterwards its totals per operation equal
//! summary.json's counts, and `histogram_quantile` of messages.post lands in the bucket of the
//! HDR p95. Skipped with a note where Prometheus is missing (a failure under CI).

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bin_common::{assert_completed, read_json};
use crate::live_common::{Prometheus, free_port, tool};
use aeapi_harness::live::prom::LATENCY_BUCKETS;

/// The bucket `[lo, hi]` (s) of `LATENCY_BUCKETS` holding `v` seconds.
fn bucket_of(v: f64) -> (f64, f64) {
    let mut lo = 0.0;
    for hi in LATENCY_BUCKETS {
        if v <= hi {
            return (lo, hi);
        }
        lo = hi;
    }
    (lo, f64::INFINITY)
}

#[test]
fn prometheus_scrapes_a_run_and_agrees_with_summary_json() {
    let Some(bin) = tool(&["prometheus"], "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // Prometheus needs its target up front: a port free now, for the harness.
    let target: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let prom = Prometheus::start(&bin, &dir.path().join("prom"), target);
    // Its discovery hands over the target within ~5 s: start the run once it has.
    let until = Instant::now() + Duration::from_secs(20);
    while prom.query("up{job=\"harness\"}").is_empty() {
        assert!(Instant::now() < until, "no target: {}", prom.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        "name: prom\nload: {agents: 4, ramp: 0s, duration: 5s, arrival_rate: 3/s}\n\
         simulator: {long_poll_hold: 1s, customers: {think_time: 300ms, lines: 3}}\n\
         personas: {p: {weight: 1, think: 50ms, reply: 100ms, typing: 50ms, messages: 3}}\n",
    )
    .expect("write suite");
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
        .args(["run"])
        .arg(&suite)
        .arg("--out")
        .arg(&out)
        .arg("--metrics-listen")
        .arg(target.to_string())
        .stdout(Stdio::null())
        .output()
        .expect("harness runs");
    assert_completed(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("metrics: http://{target}/metrics")),
        "{stderr}"
    );
    let summary = read_json(&out.join("summary.json"));

    // Totals per operation: the last scraped value of each counter (the series go stale once
    // the harness is gone, so take the maximum over the run).
    let totals = prom.by_label(
        "sum by (op) (max_over_time(aeapi_harness_requests_total[5m]))",
        "op",
    );
    let ops = summary["operations"].as_object().expect("operations");
    assert!(ops.len() >= 5, "{ops:?}");
    let duration = summary["run"]["duration_s"]
        .as_f64()
        .unwrap_or(1.0)
        .max(1.0);
    for (op, s) in ops {
        let count = s["count"].as_f64().unwrap_or(0.0);
        let scraped = totals.get(op).copied().unwrap_or(0.0);
        // The harness lingers 3 s after the run, so the last scrape normally has everything;
        // allow one scrape interval's worth of requests in case it did not.
        let slack = (count / duration * 1.0).ceil();
        assert!(
            scraped <= count && count - scraped <= slack,
            "{op}: Prometheus {scraped}, summary.json {count} (slack {slack})"
        );
    }
    assert_eq!(
        totals.keys().collect::<Vec<_>>(),
        ops.keys().collect::<Vec<_>>(),
        "the same operations"
    );

    // messages.post's p95 from the Prometheus buckets lies in the bucket of the HDR p95.
    let hdr_p95 = summary["operations"]["messages.post"]["latency_ms"]["raw"]["p95"]
        .as_f64()
        .expect("messages.post p95")
        / 1000.0;
    let q = prom.query(
        "histogram_quantile(0.95, sum by (le) (max_over_time(\
         aeapi_harness_request_duration_seconds_bucket{op=\"messages.post\"}[5m])))",
    );
    let prom_p95: f64 = q
        .first()
        .and_then(|r| r["value"][1].as_str())
        .and_then(|v| v.parse().ok())
        .expect("a quantile");
    eprintln!(
        "messages.post p95: Prometheus {prom_p95:.6} s, HDR {hdr_p95:.6} s; totals {totals:?}"
    );
    // HDR values carry 3 significant figures: a p95 on a bucket's edge may read either side.
    let (lo, hi) = bucket_of(hdr_p95 * 0.999);
    let (_, hi2) = bucket_of(hdr_p95 * 1.001);
    assert!(
        prom_p95 >= lo && prom_p95 <= hi.max(hi2),
        "Prometheus p95 {prom_p95} s, HDR p95 {hdr_p95} s in bucket ({lo}, {hi}]"
    );
    // Delivery time reached Prometheus too, both ways.
    let deliveries = prom.by_label(
        "sum by (direction) (max_over_time(aeapi_harness_delivery_seconds_count[5m]))",
        "direction",
    );
    for dir in ["customer_to_agent", "agent_to_customer"] {
        let want = summary["delivery_ms"][dir]["count"].as_f64().unwrap_or(0.0);
        assert!(want > 0.0, "{dir}: no delivery in summary.json");
        assert_eq!(deliveries.get(dir).copied(), Some(want), "{dir}");
    }
}
