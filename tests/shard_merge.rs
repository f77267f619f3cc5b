//! Scale-out end to end: three `run --shard I/3` processes drive one fleet against one simulator
//! (127.0.0.1, port 0), `merge` combines their reports, and the merged figures are those of one
//! run: counts add up, and merged percentiles equal those of one histogram holding every shard's
//! samples, rebuilt here from the shards' own interval logs with hdrhistogram directly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use aeapi_harness::report::summary::Dist;
use aeapi_harness::sim::SimConfig;
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::Value;

use crate::bin_common::{
    field_of, harness, output_into, quick_suite, read_json, simulator, suite_in_tempdir,
};

const SHARDS: u32 = 3;
const AGENTS: u32 = 7;

/// Every sample of every interval of `hlog`, per tag, recorded one value at a time into a fresh
/// histogram (read with hdrhistogram's own log reader, not the harness's).
fn hlog_per_tag(path: &Path) -> BTreeMap<String, Histogram<u64>> {
    let bytes = std::fs::read(path).expect("histograms.hlog written");
    let mut per_tag: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let LogEntry::Interval(i) = entry.expect("a valid interval log") else {
            continue;
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(i.encoded_histogram())
            .expect("base64");
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut raw.as_slice())
            .expect("a V2 histogram");
        let tag = i.tag().map(|t| t.as_str().to_owned()).unwrap_or_default();
        record_all(&mut per_tag, tag, &h);
    }
    per_tag
}

/// Records every sample of `h` into `into[tag]` (an auto-resizing 3-digit histogram).
fn record_all(into: &mut BTreeMap<String, Histogram<u64>>, tag: String, h: &Histogram<u64>) {
    let one = into
        .entry(tag)
        .or_insert_with(|| Histogram::new(3).expect("3 significant digits"));
    for v in h.iter_recorded() {
        one.record_n(v.value_iterated_to(), v.count_at_value())
            .expect("auto-resizing");
    }
}

#[test]
fn three_shards_merge_into_the_figures_of_one_run() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config = SimConfig {
        arrival_rate: 3.0,
        seed: 11,
        ..SimConfig::default()
    };
    let target = simulator(&rt, config);
    let load = "ramp: 1s, duration: 6s, seed: 5";
    let thresholds = "thresholds:\n  - error_rate < 5%\n  - p95(messages.post) < 2s\n";
    let (dir, suite_path) =
        suite_in_tempdir(&quick_suite("sharded", &target, AGENTS, load, thresholds));

    let outs: Vec<PathBuf> = (1..=SHARDS)
        .map(|i| dir.path().join(format!("shard-{i}")))
        .collect();
    let children: Vec<Child> = outs
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let shard = format!("{}/{SHARDS}", i + 1);
            harness(&["run", suite_path.to_str().unwrap(), "--shard", &shard])
                .arg("--out")
                .arg(out)
                .spawn()
                .expect("shard starts")
        })
        .collect();
    for (i, mut c) in children.into_iter().enumerate() {
        let status = c.wait().expect("shard ends");
        let summary = read_json(&outs[i].join("summary.json"));
        assert_eq!(
            status.code(),
            Some(0),
            "shard {}: {}",
            i + 1,
            summary["run"]
        );
        assert_eq!(summary["run"]["shards"][0], format!("{}/{SHARDS}", i + 1));
    }
    rt.block_on(target.shutdown());

    let merged = dir.path().join("merged");
    let status = harness(&["merge"])
        .args(&outs)
        .arg("--out")
        .arg(&merged)
        .status()
        .expect("merge runs");
    assert_eq!(status.code(), Some(0));
    let m = read_json(&merged.join("summary.json"));
    assert_eq!(m["run"]["shards"], serde_json::json!(["1/3", "2/3", "3/3"]));
    assert_eq!(m["run"]["suite"], "sharded");

    let shards: Vec<Value> = outs
        .iter()
        .map(|o| read_json(&o.join("summary.json")))
        .collect();
    // Agents: 7 over 3 shards is 3 + 2 + 2, each logged in once.
    let logins: Vec<u64> = shards
        .iter()
        .map(|s| s["operations"]["login"]["count"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(logins, [3, 2, 2], "logins per shard");
    // Counts add up, per operation and in total.
    let sum = |f: &dyn Fn(&Value) -> &Value| -> u64 {
        shards.iter().map(|s| f(s).as_u64().unwrap_or(0)).sum()
    };
    assert_eq!(
        m["totals"]["count"].as_u64(),
        Some(sum(&|s| &s["totals"]["count"]))
    );
    assert_eq!(
        m["totals"]["errors"].as_u64(),
        Some(sum(&|s| &s["totals"]["errors"]))
    );
    let ops = m["operations"].as_object().expect("operations");
    assert!(
        ops.contains_key("acceptEngagement"),
        "no engagement was accepted: {ops:?}"
    );
    for (op, v) in ops {
        let total = sum(&|s| &s["operations"][op.as_str()]["count"]);
        assert_eq!(v["count"].as_u64(), Some(total), "{op} count");
    }

    // One histogram holding every shard's samples, per operation, from the shards' hlogs.
    let mut all: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for out in &outs {
        for (tag, h) in hlog_per_tag(&out.join("histograms.hlog")) {
            record_all(&mut all, tag, &h);
        }
    }
    let mut compared = 0;
    for (op, h) in &all {
        let got: Dist =
            serde_json::from_value(m["operations"][op.as_str()]["latency_ms"]["raw"].clone())
                .unwrap_or_else(|e| panic!("{op}: {e}"));
        // The figures summary.json documents (µs samples, reported in ms), read off the one
        // histogram with hdrhistogram itself rather than with the harness's own Dist::of.
        let ms = |us: u64| us as f64 / 1000.0;
        let mean = h.mean() / 1000.0;
        assert!(
            (got.mean - mean).abs() <= 0.001,
            "{op}: merged mean {} ms, one histogram's {mean} ms",
            got.mean
        );
        let want = Dist {
            count: h.len(),
            min: ms(h.min()),
            mean: got.mean,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p99_9: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        };
        assert_eq!(
            got, want,
            "{op}: merged percentiles differ from one histogram's"
        );
        compared += 1;
    }
    assert!(
        compared >= 5,
        "only {compared} operations compared: {:?}",
        all.keys()
    );
    // The merged interval log holds the same samples again.
    let merged_log = hlog_per_tag(&merged.join("histograms.hlog"));
    for (op, h) in &all {
        assert_eq!(merged_log[op].len(), h.len(), "{op} in the merged log");
    }
    // Thresholds were judged on the merged data, and the merged report is complete.
    let rules = field_of(&m["thresholds"], "source");
    assert_eq!(rules, ["error_rate < 5%", "p95(messages.post) < 2s"]);
    let text = std::fs::read_to_string(merged.join("summary.txt")).expect("summary.txt");
    assert!(text.contains("\nshards: 1/3, 2/3, 3/3\n"), "{text}");
    for f in ["junit.xml", "report.html", "rundata.json"] {
        assert!(merged.join(f).is_file(), "{f} missing");
    }

    // Inputs that are not one whole run: a missing shard still gets its report (exit 3), a
    // shard given twice or an unreadable input is refused (exit 2), each said in one line.
    let partial = dir.path().join("partial");
    let o = output_into(harness(&["merge"]).args([&outs[0], &outs[2]]), &partial);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("error: shard 2/3 missing: the merged figures cover 2 of 3 shards"),
        "{err}"
    );
    let p = read_json(&partial.join("summary.json"));
    assert_eq!(p["run"]["shards"], serde_json::json!(["1/3", "3/3"]));
    assert_eq!(p["run"]["exit_status"], 3);
    for (inputs, says) in [
        (
            vec![outs[0].clone(), outs[0].clone()],
            "shard 1/3 is given twice",
        ),
        (
            vec![dir.path().join("nowhere")],
            "nowhere: no such report directory",
        ),
    ] {
        let o = harness(&["merge"])
            .args(&inputs)
            .arg("--out")
            .arg(dir.path().join("refused"))
            .stderr(Stdio::piped())
            .output()
            .expect("merge runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!dir.path().join("refused").exists());
    }
}
