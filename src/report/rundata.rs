//! `rundata.json`: the complete, exactly mergeable record of a run.
//!
//! `summary.json` keeps percentiles, which cannot be added up; this file keeps the HDR
//! histograms themselves (base64 V2-deflate), the checks with their examples, the time series,
//! and what `merge` needs to judge the merged data as the run would have: the run's metadata
//! (including its shard), its threshold rules and its baseline tolerance.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Outcome, ReportError, RunMeta, Secrets, write_file};
use crate::metrics::RunData;

/// The version of this file's layout.
pub const FORMAT: u32 = 1;

/// What `rundata.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// [`FORMAT`].
    pub format: u32,
    pub meta: RunMeta,
    /// The suite's threshold rules as written, in file order.
    pub thresholds: Vec<String>,
    pub data: RunData,
}

/// The run file of `outcome` as JSON, secrets masked.
pub fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    let masked = secrets.mask_outcome(outcome);
    let file = RunFile {
        format: FORMAT,
        meta: masked.meta.clone(),
        thresholds: masked.verdicts.iter().map(|v| v.source.clone()).collect(),
        data: masked.data.clone(),
    };
    // Maps with string or unit-enum keys, numbers and strings always serialise.
    let json = serde_json::to_string(&file).unwrap_or_else(|_| "{}".to_owned());
    secrets.mask_document(&json).into_owned() + "\n"
}

/// Writes `rundata.json`.
pub fn write(path: &Path, outcome: &Outcome, secrets: &Secrets) -> Result<(), ReportError> {
    write_file(path, render(outcome, secrets).as_bytes())
}

/// Reads a `rundata.json` written by `write`.
pub fn read(path: &Path) -> Result<RunFile, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |detail: String| ReportError::Invalid {
        path: path.to_path_buf(),
        what: "rundata.json",
        detail,
    };
    let file: RunFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if file.format != FORMAT {
        return Err(invalid(format!(
            "layout version {} (this harness reads version {FORMAT}; merge with the harness \
             version that wrote it, {})",
            file.format, file.meta.harness_version
        )));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::outcome;

    #[test]
    fn the_file_round_trips_and_two_copies_merge_to_twice_the_counts() {
        let o = outcome();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rundata.json");
        write(&path, &o, &Secrets::default()).unwrap();
        let file = read(&path).unwrap();
        assert_eq!(file.meta, o.meta);
        assert_eq!(file.data, o.data);
        let rules: Vec<&str> = o.verdicts.iter().map(|v| v.source.as_str()).collect();
        assert_eq!(file.thresholds, rules);
        let mut merged = file.data;
        merged.merge(&read(&path).unwrap().data);
        let op = &merged.ops["acceptEngagement"];
        let one = &o.data.ops["acceptEngagement"];
        assert_eq!(op.count, 2 * one.count);
        // The histograms were added too (doubling every count leaves the quantiles as they were).
        assert_eq!(op.latency.raw.len(), 2 * one.latency.raw.len());
        assert_eq!(
            op.latency.raw.value_at_quantile(0.99),
            o.data.ops["acceptEngagement"]
                .latency
                .raw
                .value_at_quantile(0.99)
        );
    }

    #[test]
    fn garbage_and_other_layouts_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rundata.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("rundata.json: not a valid rundata.json"),
            "{err}"
        );
        let o = outcome();
        let text = render(&o, &Secrets::default()).replacen("\"format\":1", "\"format\":9", 1);
        std::fs::write(&path, text).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("layout version 9 (this harness reads version 1"),
            "{err}"
        );
    }
}
