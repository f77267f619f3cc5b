//! End to end: the runner drives agents on goose against the embedded simulator (port 0,
//! in-process), with and without the simulator's faults, and the recorded data says what
//! happened. goose keeps a process-wide killswitch, so these runs are serialised.

use std::path::Path;
use std::time::Duration;

use aeapi_harness::metrics::{Direction, EngagementEnd, RunData};
use aeapi_harness::runner::{self, RunResult, plan::RunPlan};
use aeapi_harness::suite::{self, plan};

static GOOSE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const FAST_PERSONA: &str = r#"
personas:
  quick:
    weight: 1
    max_chats: 2
    think: constant 100ms
    typing: constant 100ms
    reply: uniform 200ms..400ms
    messages: 1..2
"#;

fn plan_for(yaml: &str, dir: &Path) -> RunPlan {
    let path = dir.join("suite.yaml");
    std::fs::write(&path, yaml).expect("write suite");
    let loaded = match suite::load(&path) {
        Ok(l) => l,
        Err(e) => panic!("suite does not load:\n{}", e.render(false)),
    };
    let p = plan::plan(loaded, &plan::Overrides::default(), dir.join("out")).expect("plan");
    let mut rp = RunPlan::build(&p).expect("run plan");
    rp.show_progress = false;
    rp.grace = Duration::from_secs(15);
    rp
}

async fn run(yaml: &str) -> RunResult {
    let _one_at_a_time = GOOSE.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    runner::run(&plan_for(yaml, dir.path()))
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Every failed check as `check:op (n)`, for assertion messages.
fn failures(d: &RunData) -> Vec<String> {
    d.checks
        .iter()
        .flat_map(|(check, by_op)| {
            by_op
                .iter()
                .filter(|(_, c)| c.failed > 0)
                .map(move |(op, c)| {
                    let ex = c
                        .examples
                        .first()
                        .map(|e| e.detail.clone())
                        .unwrap_or_default();
                    format!("{check}:{op} ({}) e.g. {ex}", c.failed)
                })
        })
        .collect()
}

fn failed(d: &RunData, check: &str, op: &str) -> u64 {
    d.checks
        .get(check)
        .and_then(|m| m.get(op))
        .map_or(0, |c| c.failed)
}

fn count(d: &RunData, end: EngagementEnd) -> u64 {
    d.engagements.get(&end).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_handle_engagements_start_to_finish_with_zero_violations() {
    let yaml = format!(
        "name: e2e\nload: {{agents: 4, ramp: 1s, duration: 8s, arrival_rate: 2/s, seed: 7}}\n\
         simulator: {{long_poll_hold: 2s, customers: {{lines: 1..2, think_time: constant 300ms}}}}\n{FAST_PERSONA}"
    );
    let r = run(&yaml).await;
    let d = &r.data;
    assert!(r.interrupted.is_none(), "{:?}", r.interrupted);
    assert!(failures(d).is_empty(), "violations: {:#?}", failures(d));
    assert!(
        count(d, EngagementEnd::Accepted) >= 5,
        "{:?}",
        d.engagements
    );
    assert!(count(d, EngagementEnd::Closed) >= 3, "{:?}", d.engagements);
    for op in [
        "token",
        "login",
        "agentStatus",
        "messages.get",
        "acceptEngagement",
        "messages.post",
        "closeEngagement",
    ] {
        assert!(
            d.ops.get(op).is_some_and(|s| s.count > 0),
            "no {op} in {:?}",
            d.ops.keys()
        );
    }
    let errors: u64 = d.ops.values().map(|s| s.error_count()).sum();
    assert_eq!(errors, 0);
    let passed = d
        .checks
        .get("accepted_within_window")
        .map_or(0, |m| m.values().map(|c| c.passed).sum());
    assert!(passed >= 5, "accept window checks passed: {passed}");
    assert!(
        d.poll_hold.values().any(|h| !h.is_empty()),
        "poll holds recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_driven_customers_measure_delivery_both_ways_with_per_agent_clients() {
    let yaml = format!(
        "name: e2e-customers\nload: {{agents: 3, ramp: 1s, duration: 8s, seed: 3, \
         clients: per_agent, customers: {{rate: 1/s, lines: 2..3, think: constant 300ms, patience: 5s}}}}\n\
         simulator: {{arrival_rate: 0, long_poll_hold: 2s}}\n{FAST_PERSONA}"
    );
    let r = run(&yaml).await;
    let d = &r.data;
    assert!(failures(d).is_empty(), "violations: {:#?}", failures(d));
    for dir in [Direction::CustomerToAgent, Direction::AgentToCustomer] {
        let h = d
            .delivery
            .get(&dir)
            .unwrap_or_else(|| panic!("no {dir:?} deliveries"));
        assert!(h.len() >= 2, "{dir:?}: {} deliveries", h.len());
        assert!(h.max() < 5_000_000, "{dir:?} delivery took {} µs", h.max());
    }
    assert!(
        d.ops
            .get("customer.engagement")
            .is_some_and(|s| s.count >= 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stepped_arrival_rate_brings_customers_only_from_its_step_on() {
    // No customers for the first 3 s, then 5/s from the embedded simulator.
    let yaml = format!(
        "name: e2e-stepped\nload: {{ramp: 0s, seed: 5, arrival_rate: 0/s, steps: [\
         {{agents: 2, duration: 3s}}, {{agents: 2, duration: 4s, arrival_rate: 5/s}}]}}\n\
         simulator: {{long_poll_hold: 1s}}\n{FAST_PERSONA}"
    );
    let r = run(&yaml).await;
    // Two steps at one agent count end on time (no empty goose step in between).
    assert_eq!(r.interrupted, None);
    let d = &r.data;
    assert!(failures(d).is_empty(), "violations: {:#?}", failures(d));
    let accepted_in: Vec<usize> = d
        .series
        .iter()
        .enumerate()
        .filter(|(_, b)| b.latency.contains_key("acceptEngagement"))
        .map(|(i, _)| i)
        .collect();
    assert!(!accepted_in.is_empty(), "no engagement accepted");
    // Bucket i is second [i, i+1) of the run: nothing before the second step.
    assert!(accepted_in[0] >= 3, "accepted in seconds {accepted_in:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_are_counted_as_the_matching_violations() {
    let yaml = format!(
        "name: e2e-faults\nload: {{agents: 4, ramp: 1s, duration: 8s, arrival_rate: 2/s, seed: 11}}\n\
         simulator:\n  long_poll_hold: 2s\n  customers: {{lines: 2..3, think_time: constant 300ms}}\n\
         \x20 faults:\n    token_lifetime: 3s\n    ops:\n      - {{op: messages.post, error_rate: 0.3, error_status: 503}}\n\
         \x20     - {{op: acceptEngagement, latency: 60ms}}\n\
         contracts:\n  acceptEngagement: {{within: 30ms}}\n  messages.post: {{within: 2s}}\n{FAST_PERSONA}"
    );
    let r = run(&yaml).await;
    let d = &r.data;
    assert!(
        failed(d, "status", "messages.post") > 0,
        "{:#?}",
        failures(d)
    );
    assert!(
        failed(d, "within", "acceptEngagement") > 0,
        "{:#?}",
        failures(d)
    );
    let expired = d.check_total("token_fresh").failed;
    assert!(expired > 0, "{:#?}", failures(d));
    // Nothing the faults did not cause.
    assert_eq!(failed(d, "schema", "messages.post"), 0);
    assert_eq!(
        failed(d, "within", "messages.post"),
        0,
        "{:#?}",
        failures(d)
    );
    assert_eq!(
        failed(d, "status", "acceptEngagement"),
        0,
        "{:#?}",
        failures(d)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_delay_is_reported_exactly_and_a_stall_shows_only_when_corrected() {
    // 20 ms injected on verifySession, none on preLoginStatus, both called at the same pace in
    // the same run: the reported p50s differ by 20 ms, to within 1 ms. (Comparing with an
    // unfaulted call in the same run takes out this machine's own request cost, which a debug
    // build on two busy cores can push past a millisecond.)
    let yaml = "name: e2e-latency\nload: {agents: 2, ramp: 0s, duration: 4s}\n\
        simulator: {arrival_rate: 0, long_poll_hold: 2s, faults: {ops: [{op: verifySession, latency: 20ms}]}}\n\
        personas: {p: {weight: 1, periodic: {verifySession: 50ms, preLoginStatus: 50ms}}}\n";
    let r = run(yaml).await;
    assert!(failures(&r.data).is_empty(), "{:#?}", failures(&r.data));
    let p50 = |op: &str| {
        let h = &r.data.ops[op].latency.raw;
        assert!(h.len() >= 50, "{op}: {} samples", h.len());
        h.value_at_quantile(0.5) as f64 / 1000.0
    };
    let (faulted, plain) = (p50("verifySession"), p50("preLoginStatus"));
    assert!(
        (faulted - plain - 20.0).abs() <= 1.0,
        "p50 {faulted} ms with 20 ms injected, {plain} ms without"
    );

    // A 1 s stall: the raw p99 misses it, the corrected p99 shows it.
    let yaml = "name: e2e-stall\nload: {agents: 4, ramp: 0s, duration: 6s}\n\
        simulator: {arrival_rate: 0, long_poll_hold: 2s, faults: {stalls: [{at: 3s, duration: 1s}]}}\n\
        personas: {p: {weight: 1, periodic: {preLoginStatus: 10ms}}}\n";
    let r = run(yaml).await;
    let s = &r.data.ops["preLoginStatus"];
    let raw = s.latency.raw.value_at_quantile(0.99) as f64 / 1000.0;
    let corrected = s.latency.corrected.value_at_quantile(0.99) as f64 / 1000.0;
    assert!(
        s.latency.raw.max() >= 900_000,
        "the stall was not seen at all"
    );
    assert!(raw < 400.0, "raw p99 {raw} ms");
    assert!(corrected > 800.0, "corrected p99 {corrected} ms");
}
