//! Capacity over shards, end to end: two `capacity --shard I/2 --rendezvous DIR` processes
//! against one simulator (127.0.0.1, port 0) that slows every request by 1 s once more than
//! 6 agents are logged in step 2, 4, 6, 8 agents of the whole fleet in lockstep (every step's
//! load starts within 0.5 s on both), stop together after 8 broke, and `merge` of their
//! directories finds capacity 6 and knee 6 on the merged data: the answer a single process
//! gives for the same totals against a simulator of the same settings. A shard that stops
//! coming makes the other exit 3 naming it, its reports written.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use aeapi_harness::sim::{self, SimConfig, SimHandle};
use serde_json::Value;

use crate::bin_common::{harness, merge_into, quick_suite, quick_suite_at, read_json};

/// Logged-in agents the simulator serves at full speed.
const LIMIT: u32 = 6;
const STEPS: [&str; 8] = [
    "--from",
    "2",
    "--to",
    "12",
    "--step",
    "2",
    "--step-duration",
    "3s",
];

fn suite(target: &SimHandle) -> String {
    quick_suite(
        "limited",
        target,
        12,
        "ramp: 0s, duration: 3s, seed: 3",
        // Far from both what a held step measures on a busy debug build (tens of ms, a few
        // hundred at worst) and what the slowed step cannot help measuring (1 s and more).
        "thresholds:\n  - p95 < 800ms\n  - error_rate < 5%\n",
    )
}

/// A simulator that delays every request by 1 s past [`LIMIT`] logged-in agents.
fn limited_simulator(rt: &tokio::runtime::Runtime) -> SimHandle {
    let mut config = SimConfig {
        arrival_rate: 2.0,
        seed: 3,
        ..SimConfig::default()
    };
    config.faults.slowdown_above_agents = Some(LIMIT);
    config.faults.slowdown_latency =
        aeapi_harness::values::Distribution::Constant(Duration::from_millis(1000));
    rt.block_on(sim::start(config, "127.0.0.1:0".parse().expect("addr")))
        .expect("simulator starts")
}

fn suite_file(dir: &Path, target: &SimHandle) -> PathBuf {
    let path = dir.join(format!("suite-{}.yaml", target.addr.port()));
    std::fs::write(&path, suite(target)).expect("suite");
    path
}

/// `capacity SUITE STEPS --out OUT [ARGS]`, spawned.
fn capacity(suite: &Path, out: &Path, steps: &[&str], args: &[&str]) -> Child {
    harness(&["capacity", suite.to_str().expect("utf-8 path")])
        .args(steps)
        .args(args)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("capacity starts")
}

/// Waits for `child`, returning its exit code and stderr.
fn finish(child: Child) -> (Option<i32>, String) {
    let o = child.wait_with_output().expect("capacity ends");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn loads(c: &Value) -> Vec<f64> {
    c["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["load"].as_f64())
        .collect()
}

fn held(c: &Value) -> Vec<bool> {
    c["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["held"] == true)
        .collect()
}

fn started(rundata: &Value) -> time::OffsetDateTime {
    let s = rundata["meta"]["started"].as_str().expect("meta.started");
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

#[test]
fn two_shards_in_lockstep_find_the_limit_a_single_process_finds() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");

    // One process, the whole fleet at each step.
    let alone = limited_simulator(&rt);
    let single = dir.path().join("single");
    let clock = Instant::now();
    let (code, err) = finish(capacity(
        &suite_file(dir.path(), &alone),
        &single,
        &STEPS,
        &[],
    ));
    let single_took = clock.elapsed();
    rt.block_on(alone.shutdown());
    assert_eq!(code, Some(0), "{err}");
    let one = read_json(&single.join("capacity.json"));

    // Two shards against one fresh simulator of the same settings.
    let shared = limited_simulator(&rt);
    let suite = suite_file(dir.path(), &shared);
    let meet = dir.path().join("meet");
    let meet_s = meet.to_str().expect("utf-8 path");
    let outs: Vec<PathBuf> = (1..=2).map(|i| dir.path().join(format!("s{i}"))).collect();
    let clock = Instant::now();
    let shards: Vec<Child> = outs
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let shard = format!("{}/2", i + 1);
            capacity(
                &suite,
                out,
                &STEPS,
                &[
                    "--shard",
                    &shard,
                    "--rendezvous",
                    meet_s,
                    "--rendezvous-timeout",
                    "30s",
                ],
            )
        })
        .collect();
    for (i, c) in shards.into_iter().enumerate() {
        let (code, err) = finish(c);
        assert_eq!(code, Some(0), "shard {}: {err}", i + 1);
    }
    let sharded_took = clock.elapsed();
    rt.block_on(shared.shutdown());
    eprintln!(
        "single process: {single_took:?}, capacity {}; two shards: {sharded_took:?}",
        one["capacity"]
    );

    // Both shards ran the same steps and stopped together after the first that broke.
    for out in &outs {
        let c = read_json(&out.join("capacity.json"));
        assert_eq!(loads(&c), [2.0, 4.0, 6.0, 8.0], "{}", out.display());
        assert_eq!(c["capacity"], 6.0);
        assert_eq!(c["shards"].as_array().map(Vec::len), Some(1));
    }
    // Every step's load started within 0.5 s on both shards.
    for step in ["step-01-2", "step-02-4", "step-03-6", "step-04-8"] {
        let starts: Vec<_> = outs
            .iter()
            .map(|o| started(&read_json(&o.join(step).join("rundata.json"))))
            .collect();
        let apart = (starts[0] - starts[1]).abs();
        eprintln!("{step}: shards started {apart:?} apart");
        assert!(
            apart < time::Duration::milliseconds(500),
            "{step}: {starts:?}"
        );
        for (i, o) in outs.iter().enumerate() {
            // Each shard ran half the step's agents.
            let s = read_json(&o.join(step).join("summary.json"));
            let total: u64 = step
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert_eq!(
                s["operations"]["login"]["count"],
                total / 2,
                "shard {} {step}",
                i + 1
            );
        }
    }

    // The merged search: every step judged on the merged data, the single process's answer.
    let merged = dir.path().join("merged");
    let o = merge_into(&outs, &merged);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let m = read_json(&merged.join("capacity.json"));
    eprintln!(
        "merged: capacity {} knee {} ({})",
        m["capacity"], m["knee"], m["knee_reason"]
    );
    assert_eq!(loads(&m), loads(&one));
    assert_eq!(held(&m), [true, true, true, false]);
    assert_eq!(held(&one), held(&m));
    assert_eq!(m["capacity"], 6.0);
    assert_eq!(m["capacity"], one["capacity"]);
    // The knee compares each step's p95 with the lightest step's, whose few samples make it
    // noisy: it lies at or before the capacity, where the latency bends at the latest.
    for c in [&m, &one] {
        let knee = c["knee"].as_f64().unwrap_or(f64::NAN);
        assert!((2.0..=6.0).contains(&knee), "{}", c["knee_reason"]);
    }
    assert_eq!(m["shards"].as_array().map(Vec::len), Some(2));
    let broke = m["steps"][3]["broke"][0].as_str().unwrap_or("");
    assert!(broke.starts_with("p95 < 800ms: "), "{broke}");
    assert!(m["steps"][3]["p95_ms"].as_f64().unwrap_or(0.0) >= 1000.0);
    assert!(m["steps"][2]["p95_ms"].as_f64().unwrap_or(1e9) < 800.0);
    for f in ["capacity.txt", "report.html", "junit.xml"] {
        assert!(merged.join(f).is_file(), "{f} missing");
    }
    let junit = std::fs::read_to_string(merged.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<testcase").count(), 4, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    // Each merged step is a whole report of the fleet at that load.
    let step = read_json(&merged.join("step-04-8").join("summary.json"));
    assert_eq!(step["operations"]["login"]["count"], 8);
    assert_eq!(step["run"]["exit_status"], 1);
}

#[test]
fn a_shard_that_stops_coming_makes_the_other_exit_3_naming_it() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let target = limited_simulator(&rt);
    let suite = suite_file(dir.path(), &target);
    let meet = dir.path().join("meet");
    let meet_s = meet.to_str().expect("utf-8 path");
    let (one, two) = (dir.path().join("s1"), dir.path().join("s2"));
    let lockstep = |shard| {
        [
            "--shard",
            shard,
            "--rendezvous",
            meet_s,
            "--rendezvous-timeout",
            "2s",
        ]
    };
    // Shard 2 plans one step only: after it, shard 1 waits at step 2 alone.
    let shards = [
        capacity(&suite, &one, &STEPS, &lockstep("1/2")),
        capacity(
            &suite,
            &two,
            &["--from", "2", "--to", "2", "--step-duration", "3s"],
            &lockstep("2/2"),
        ),
    ];
    let [first, second] = shards;
    let (code2, err2) = finish(second);
    let (code1, err1) = finish(first);
    rt.block_on(target.shutdown());
    assert_eq!(code2, Some(0), "{err2}");
    assert_eq!(code1, Some(3), "{err1}");
    let c = read_json(&one.join("capacity.json"));
    assert_eq!(loads(&c), [2.0, 4.0]);
    assert_eq!(c["capacity"], 2.0);
    assert_eq!(c["exit_status"], 3);
    let why = c["steps"][1]["harness_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("shard 2/2 did not arrive within 2 s (arrived: 1/2)"),
        "{why}"
    );
    let junit = std::fs::read_to_string(one.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("shard 2/2 did not arrive"), "{junit}");
    let step = read_json(&one.join("step-02-4").join("summary.json"));
    assert!(
        step["run"]["harness_error"]
            .as_str()
            .is_some_and(|e| e.contains("shard 2/2 did not arrive")),
        "{step}"
    );
}

#[test]
fn a_shard_without_a_rendezvous_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        quick_suite_at(
            "limited",
            ("http://127.0.0.1:9", "http://127.0.0.1:9"),
            4,
            "seed: 3",
            "",
        ),
    )
    .expect("suite");
    let (code, err) = finish(capacity(
        &suite,
        &dir.path().join("never"),
        &STEPS,
        &["--shard", "1/2"],
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--rendezvous"), "{err}");
    assert!(!dir.path().join("never").exists());
}

#[test]
fn merge_refuses_capacity_searches_mixed_with_runs_or_a_baseline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (search, run) = (dir.path().join("search"), dir.path().join("run"));
    for d in [&search, &run] {
        std::fs::create_dir_all(d).expect("dir");
    }
    std::fs::write(search.join("capacity.json"), "{}").expect("capacity.json");
    std::fs::write(run.join("rundata.json"), "{}").expect("rundata.json");
    let out = dir.path().join("merged");
    let o = merge_into(&[search.clone(), run], &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the inputs mix capacity searches and runs"),
        "{err}"
    );
    let o = merge_into(std::slice::from_ref(&search), &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: cannot read this capacity search",
            search.join("capacity.json").display()
        )),
        "{err}"
    );
    assert!(!out.exists());
}
