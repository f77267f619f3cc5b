//! `aeapi-harness merge DIR... --out DIR`: one report from the `rundata.json` of several shards
//! (or runs).
//!
//! Histograms are added bucket by bucket (HDR histograms of the same layout add exactly, so a
//! merged percentile is the percentile of every sample together, never an average of
//! percentiles), counts and checks add up, and the thresholds are judged again on the merged
//! data. Shards run side by side, so the merged run spans the earliest start to the latest end
//! and its duration (for throughput) is the longest shard's; their time series are aligned on
//! the wall clock (each starts at its own start's distance from the earliest), so the merged
//! charts show one ramp.
//!
//! Pure merging only; the command (`app::merge`) reads the baseline, writes and prints. Exit
//! codes as `run`: 0 passed, 1 a check or threshold failed, 2 the inputs do not belong together
//! (different suites or rules, a shard given twice) or cannot be read, 3 a shard is missing or
//! failed, or the report cannot be written. Reports are written whenever the inputs could be
//! read, missing shards included (and said so).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::rundata::{self, RunFile};
use super::{Outcome, ReportError, RunMeta, Shard};

/// Why the inputs cannot be merged (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(
        "{}: no such report directory (merge reads each DIR/rundata.json that run wrote)",
        .0.display()
    )]
    NoSuchDir(PathBuf),
    #[error(transparent)]
    Read(#[from] ReportError),
    #[error("nothing to merge")]
    Nothing,
    #[error(
        "{}: {what} {theirs} differs from {ours} in {}: merge the shards of one run",
        path.display(),
        first.display()
    )]
    Differs {
        path: PathBuf,
        first: PathBuf,
        what: &'static str,
        theirs: String,
        ours: String,
    },
    #[error("{}: shard {shard} is given twice: merge each shard once", path.display())]
    ShardTwice { path: PathBuf, shard: Shard },
    #[error("the inputs are shards of differently split runs ({0}): merge the shards of one run")]
    SplitsDiffer(String),
    #[error("the inputs mix shards and whole runs: merge the shards of one run, or whole runs")]
    Mixed,
    #[error("{}: threshold `{rule}`: {detail}", path.display())]
    Threshold {
        path: PathBuf,
        rule: String,
        detail: String,
    },
}

/// What the inputs add up to.
#[derive(Debug, Clone)]
pub struct Merged {
    pub meta: RunMeta,
    pub thresholds: Vec<String>,
    pub data: crate::metrics::RunData,
}

/// Reads `DIR/rundata.json` (or the file itself when `path` is one).
pub fn read(path: &Path) -> Result<RunFile, MergeError> {
    if !path.exists() {
        return Err(MergeError::NoSuchDir(path.to_path_buf()));
    }
    let file = if path.is_dir() {
        path.join("rundata.json")
    } else {
        path.to_path_buf()
    };
    Ok(rundata::read(&file)?)
}

/// Adds up `files` (path, contents). `Err` when they do not belong together.
pub fn combine(files: &[(PathBuf, RunFile)]) -> Result<Merged, MergeError> {
    let Some(((first_path, first), rest)) = files.split_first() else {
        return Err(MergeError::Nothing);
    };
    let mut meta = first.meta.clone();
    meta.harness_version = RunMeta::HARNESS_VERSION.to_string();
    meta.harness_error = None;
    let offsets = offsets(files);
    let mut data = shifted(&first.data, offsets[0]);
    let mut targets = vec![first.meta.target.clone()];
    for ((path, f), &offset) in rest.iter().zip(&offsets[1..]) {
        let differs = |what: &'static str,
                       theirs: &dyn std::fmt::Debug,
                       ours: &dyn std::fmt::Debug| MergeError::Differs {
            path: path.clone(),
            first: first_path.clone(),
            what,
            theirs: format!("{theirs:?}"),
            ours: format!("{ours:?}"),
        };
        if f.meta.suite != first.meta.suite {
            return Err(differs("suite", &f.meta.suite, &first.meta.suite));
        }
        if f.thresholds != first.thresholds {
            return Err(differs("thresholds", &f.thresholds, &first.thresholds));
        }
        if f.data.interval_us != first.data.interval_us {
            return Err(differs(
                "time-series interval (µs)",
                &f.data.interval_us,
                &first.data.interval_us,
            ));
        }
        if !targets.contains(&f.meta.target) {
            targets.push(f.meta.target.clone());
        }
        meta.started = meta.started.min(f.meta.started);
        meta.ended = meta.ended.max(f.meta.ended);
        meta.duration = meta.duration.max(f.meta.duration);
        meta.interrupted |= f.meta.interrupted;
        data.merge(&shifted(&f.data, offset));
    }
    meta.target = targets.join(", ");

    let (shards, errors) = shards(files)?;
    meta.shards = shards;
    if !errors.is_empty() {
        meta.harness_error = Some(errors.join("; "));
    }
    Ok(Merged {
        meta,
        thresholds: first.thresholds.clone(),
        data,
    })
}

/// Inputs that started further apart than this are overlaid from their own starts, not
/// aligned (whole runs of different days, say).
pub const ALIGN_WITHIN: std::time::Duration = std::time::Duration::from_secs(3600);

/// How far apart the inputs started: the latest start minus the earliest.
pub fn start_spread(files: &[(PathBuf, RunFile)]) -> std::time::Duration {
    let starts = files.iter().map(|(_, f)| f.meta.started);
    match (starts.clone().min(), starts.max()) {
        (Some(first), Some(last)) => (last - first).try_into().unwrap_or_default(),
        _ => std::time::Duration::ZERO,
    }
}

/// Where each input's time series begins in the merged one, in buckets: its start's distance
/// from the earliest start, to the nearest bucket, so shards that ran side by side add up on
/// one wall clock (one ramp, not several staggered ones). All zero when the inputs started more
/// than [`ALIGN_WITHIN`] apart.
pub fn offsets(files: &[(PathBuf, RunFile)]) -> Vec<usize> {
    let Some(earliest) = files.iter().map(|(_, f)| f.meta.started).min() else {
        return Vec::new();
    };
    let aligned = start_spread(files) <= ALIGN_WITHIN;
    files
        .iter()
        .map(|(_, f)| {
            let since = (f.meta.started - earliest).as_seconds_f64();
            let width = f.data.interval().as_secs_f64();
            if !aligned || width <= 0.0 {
                return 0;
            }
            // Bounded by ALIGN_WITHIN / 1 µs; float to integer saturates.
            (since / width).round() as usize
        })
        .collect()
}

/// `data` with `by` empty buckets before its time series.
fn shifted(data: &crate::metrics::RunData, by: usize) -> crate::metrics::RunData {
    let mut out = data.clone();
    if by > 0 && !out.series.is_empty() {
        let mut series = vec![crate::metrics::Bucket::default(); by];
        series.append(&mut out.series);
        out.series = series;
    }
    out
}

/// The shards the inputs cover, and what went wrong in them: each shard at most once, all of
/// one N; a missing one is a harness error (the figures cover part of the fleet), reported, not
/// hidden.
fn shards(files: &[(PathBuf, RunFile)]) -> Result<(Vec<Shard>, Vec<String>), MergeError> {
    let mut shards: BTreeSet<(u32, u32)> = BTreeSet::new();
    let mut counts: BTreeSet<u32> = BTreeSet::new();
    let mut whole = 0usize;
    let mut errors = Vec::new();
    for (path, f) in files {
        if f.meta.shards.is_empty() {
            whole += 1;
        }
        for s in &f.meta.shards {
            counts.insert(s.count);
            if !shards.insert((s.index, s.count)) {
                return Err(MergeError::ShardTwice {
                    path: path.clone(),
                    shard: *s,
                });
            }
        }
        if let Some(e) = &f.meta.harness_error {
            let who = match f.meta.shards.as_slice() {
                [one] => format!("shard {one}"),
                _ => path.display().to_string(),
            };
            errors.push(format!("{who}: {e}"));
        }
    }
    if counts.len() > 1 {
        let list: Vec<String> = counts.iter().map(|n| format!("of {n}")).collect();
        return Err(MergeError::SplitsDiffer(list.join(", ")));
    }
    if whole > 0 && !shards.is_empty() {
        return Err(MergeError::Mixed);
    }
    if let Some(&n) = counts.first() {
        let missing: Vec<String> = (1..=n)
            .filter(|i| !shards.contains(&(*i, n)))
            .map(|i| format!("{i}/{n}"))
            .collect();
        if !missing.is_empty() {
            errors.push(format!(
                "shard{} {} missing: the merged figures cover {} of {n} shards",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                shards.len()
            ));
        }
    }
    let shards = shards
        .into_iter()
        .map(|(index, count)| Shard { index, count })
        .collect();
    Ok((shards, errors))
}

/// The merged outcome of `files` (path, contents): added up, the thresholds judged again on
/// the merged data (no baseline deltas yet).
pub fn outcome(files: &[(PathBuf, RunFile)]) -> Result<Outcome, MergeError> {
    let merged = combine(files)?;
    let mut thresholds = Vec::with_capacity(merged.thresholds.len());
    for rule in &merged.thresholds {
        let t = crate::suite::threshold::parse(rule).map_err(|e| MergeError::Threshold {
            path: files[0].0.clone(),
            rule: rule.clone(),
            detail: e.to_string(),
        })?;
        thresholds.push(t);
    }
    let verdicts =
        crate::check::threshold::evaluate(&thresholds, &merged.data, merged.meta.duration);
    Ok(Outcome {
        meta: merged.meta,
        data: merged.data,
        verdicts,
        deltas: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::outcome;

    fn file(shard: Option<&str>) -> (PathBuf, RunFile) {
        let o = outcome();
        let mut meta = o.meta.clone();
        meta.shards = shard.map(|s| s.parse().unwrap()).into_iter().collect();
        let path = PathBuf::from(format!("reports/{}", shard.unwrap_or("whole")));
        let thresholds = o.verdicts.iter().map(|v| v.source.clone()).collect();
        let data = o.data;
        (
            path,
            RunFile {
                format: rundata::FORMAT,
                meta,
                thresholds,
                data,
            },
        )
    }

    #[test]
    fn shards_add_up_and_span_the_earliest_start_to_the_latest_end() {
        let (a, mut b) = (file(Some("1/2")), file(Some("2/2")));
        b.1.meta.started += time::Duration::seconds(1);
        b.1.meta.ended += time::Duration::seconds(5);
        b.1.meta.duration = std::time::Duration::from_secs(6);
        let m = combine(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(m.meta.started, a.1.meta.started);
        assert_eq!(m.meta.ended, b.1.meta.ended);
        assert_eq!(m.meta.duration, std::time::Duration::from_secs(6));
        assert_eq!(m.meta.harness_error, None);
        assert_eq!(m.meta.shards.len(), 2);
        assert_eq!(m.data.total().count, 2 * a.1.data.total().count);
        assert_eq!(m.thresholds, a.1.thresholds);
    }

    #[test]
    fn shards_series_are_aligned_on_the_wall_clock() {
        use crate::metrics::Bucket;
        let bucket = |requests| Bucket {
            requests,
            ..Bucket::default()
        };
        let (mut a, mut b, mut c) = (file(Some("1/3")), file(Some("2/3")), file(Some("3/3")));
        // Shard 2 started 2.4 s after shard 1, shard 3 0.6 s before it; 1 s buckets.
        for (f, requests) in [
            (&mut a, [10, 20, 30]),
            (&mut b, [1, 2, 3]),
            (&mut c, [5, 5, 5]),
        ] {
            f.1.data.interval_us = 1_000_000;
            f.1.data.series = requests.iter().map(|&r| bucket(r)).collect();
        }
        b.1.meta.started = a.1.meta.started + time::Duration::milliseconds(2_400);
        c.1.meta.started = a.1.meta.started - time::Duration::milliseconds(600);
        let files = [a.clone(), b, c];
        assert_eq!(offsets(&files), [1, 3, 0]);
        assert_eq!(start_spread(&files), std::time::Duration::from_secs(3));
        let m = combine(&files).unwrap();
        let requests: Vec<u64> = m.data.series.iter().map(|b| b.requests).collect();
        // c: 5 5 5 from 0; a: 10 20 30 from 1; b: 1 2 3 from 3.
        assert_eq!(requests, [5, 15, 25, 31, 2, 3]);
        assert_eq!(m.meta.started, files[2].1.meta.started);
        // Runs far apart are overlaid from their own starts.
        let mut late = files[1].clone();
        late.1.meta.started = a.1.meta.started + time::Duration::hours(2);
        assert_eq!(offsets(&[a, late]), [0, 0]);
    }

    #[test]
    fn inputs_that_do_not_belong_together_are_refused_by_name() {
        let (a, b) = (file(Some("1/2")), file(Some("2/2")));
        let mut other = b.clone();
        other.1.meta.suite = "other".into();
        let e = combine(&[a.clone(), other]).unwrap_err().to_string();
        assert!(
            e.starts_with("reports/2/2: suite \"other\" differs from \"smoke\" in reports/1/2"),
            "{e}"
        );
        let mut rules = b.clone();
        rules.1.thresholds.push("error_rate < 1%".into());
        let e = combine(&[a.clone(), rules]).unwrap_err().to_string();
        assert!(e.contains("thresholds"), "{e}");
        let e = combine(&[a.clone(), file(Some("2/3"))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("differently split runs (of 2, of 3)"), "{e}");
        let e = combine(&[a.clone(), file(None)]).unwrap_err().to_string();
        assert!(e.contains("mix shards and whole runs"), "{e}");
        assert_eq!(combine(&[]).unwrap_err().to_string(), "nothing to merge");
    }

    #[test]
    fn failed_and_missing_shards_become_the_harness_error() {
        let mut a = file(Some("1/3"));
        a.1.meta.harness_error = Some("target not usable at start: connection refused".into());
        let m = combine(&[a, file(Some("3/3"))]).unwrap();
        assert_eq!(
            m.meta.harness_error.as_deref(),
            Some(
                "shard 1/3: target not usable at start: connection refused; shard 2/3 missing: \
                 the merged figures cover 2 of 3 shards"
            )
        );
        let whole = combine(&[file(None), file(None)]).unwrap();
        assert!(whole.meta.shards.is_empty() && whole.meta.harness_error.is_none());
    }
}
