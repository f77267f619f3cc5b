//! `aeapi-harness merge DIR... --out DIR`: one report from the `rundata.json` of several shards
//! (or runs).
//!
//! Histograms are added bucket by bucket (HDR histograms of the same layout add exactly, so a
//! merged percentile is the percentile of every sample together, never an average of
//! percentiles), counts and checks add up, and the thresholds are judged again on the merged
//! data. Shards run side by side, so the merged run spans the earliest start to the latest end
//! and its duration (for throughput) is the longest shard's.
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
    let mut data = first.data.clone();
    let mut targets = vec![first.meta.target.clone()];
    for (path, f) in rest {
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
        data.merge(&f.data);
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
