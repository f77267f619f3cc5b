//! Shards that start together, end to end: three `run --shard I/3 --rendezvous DIR` processes
//! launched 0 s, 3 s and 6 s apart against one simulator (127.0.0.1, port 0) start their load
//! within 0.5 s of each other, and `merge` shows one ramp; a shard that never arrives makes the
//! others exit 3 after the (short) timeout, with reports naming it.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use crate::bin_common::{harness, merge_into, quick_suite, read_json, simulator, suite_in_tempdir};
use aeapi_harness::sim::{SimConfig, SimHandle};
use serde_json::Value;

const AGENTS: u32 = 6;

/// A temporary directory holding the suite every shard runs against `target`.
fn suite_dir(target: &SimHandle) -> (tempfile::TempDir, PathBuf) {
    let load = "ramp: 0s, duration: 3s, seed: 5";
    suite_in_tempdir(&quick_suite("together", target, AGENTS, load, ""))
}

fn started(rundata: &Value) -> time::OffsetDateTime {
    let s = rundata["meta"]["started"].as_str().expect("meta.started");
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

/// Requests per bucket of a report's time series.
fn requests(rundata: &Value) -> Vec<u64> {
    rundata["data"]["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|b| b["requests"].as_u64().unwrap_or(0))
        .collect()
}

/// Spawns shard `i` of `n` with the rendezvous in `meet`, its reports in `out`.
fn shard(suite: &Path, i: u32, n: u32, meet: &Path, out: &Path, timeout: &str) -> Child {
    harness(&["run", suite.to_str().expect("utf-8 path")])
        .args([
            "--shard",
            &format!("{i}/{n}"),
            "--rendezvous-timeout",
            timeout,
        ])
        .arg("--rendezvous")
        .arg(meet)
        .arg("--out")
        .arg(out)
        .spawn()
        .expect("shard starts")
}

#[test]
fn staggered_shards_start_their_load_together() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let target = simulator(
        &rt,
        SimConfig {
            arrival_rate: 2.0,
            seed: 3,
            ..SimConfig::default()
        },
    );
    let (dir, suite_path) = suite_dir(&target);
    let meet = dir.path().join("meet");
    let outs: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("s{i}"))).collect();

    let mut children = Vec::new();
    for (i, out) in outs.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_secs(3));
        }
        children.push(shard(&suite_path, i as u32 + 1, 3, &meet, out, "30s"));
    }
    for (i, mut c) in children.into_iter().enumerate() {
        let status = c.wait().expect("shard ends");
        assert_eq!(status.code(), Some(0), "shard {}", i + 1);
    }
    rt.block_on(target.shutdown());

    let data: Vec<Value> = outs
        .iter()
        .map(|o| read_json(&o.join("rundata.json")))
        .collect();
    let starts: Vec<time::OffsetDateTime> = data.iter().map(started).collect();
    let first = *starts.iter().min().expect("three");
    let last = *starts.iter().max().expect("three");
    eprintln!("load starts {:?} apart: {starts:?}", last - first);
    assert!(
        last - first < time::Duration::milliseconds(500),
        "load started {:?} apart: {starts:?}",
        last - first
    );
    // The first requests of every shard fall in its first bucket (1 s), so within 0.5 s + 1 s
    // of each other at worst; each shard's series starts at its start.
    for (i, d) in data.iter().enumerate() {
        let r = requests(d);
        assert!(
            r.first().copied().unwrap_or(0) > 0,
            "shard {}: {r:?}",
            i + 1
        );
    }
    // Announcements name all three.
    for i in 1..=3 {
        assert!(meet.join(format!("run-shard-{i}-of-3.json")).exists());
    }

    // One ramp: the merged series rises once, from its first bucket, without the staggered
    // steps three unsynchronised shards make.
    let merged = dir.path().join("merged");
    let o = merge_into(&outs, &merged);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("started"), "no stagger warning: {err}");
    let m = requests(&read_json(&merged.join("rundata.json")));
    let per_shard: Vec<Vec<u64>> = data.iter().map(requests).collect();
    let len = per_shard.iter().map(Vec::len).max().unwrap_or(0);
    assert!(m.len() <= len + 1, "merged {m:?} vs shards {per_shard:?}");
    let first_bucket: u64 = per_shard.iter().map(|r| r[0]).sum();
    assert!(
        m[0] + m.get(1).copied().unwrap_or(0) >= first_bucket,
        "every shard's first requests in the merged first seconds: {m:?} vs {per_shard:?}"
    );
}

#[test]
fn a_shard_that_never_arrives_stops_the_others_with_exit_3() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let target = simulator(&rt, SimConfig::default());
    let (dir, suite_path) = suite_dir(&target);
    let meet = dir.path().join("meet");
    let outs: Vec<PathBuf> = (1..=2).map(|i| dir.path().join(format!("s{i}"))).collect();
    let children: Vec<Child> = outs
        .iter()
        .enumerate()
        .map(|(i, out)| shard(&suite_path, i as u32 + 1, 3, &meet, out, "2s"))
        .collect();
    for (i, mut c) in children.into_iter().enumerate() {
        let status = c.wait().expect("shard ends");
        assert_eq!(status.code(), Some(3), "shard {}", i + 1);
        let summary = read_json(&outs[i].join("summary.json"));
        let error = summary["run"]["harness_error"].as_str().unwrap_or_default();
        assert!(
            error.contains("shard 3/3 did not arrive within 2 s (arrived: 1/3, 2/3)"),
            "shard {}: {error}",
            i + 1
        );
        let junit = std::fs::read_to_string(outs[i].join("junit.xml")).expect("junit.xml");
        assert!(junit.contains("shard 3/3 did not arrive"), "{junit}");
    }
    rt.block_on(target.shutdown());
}
