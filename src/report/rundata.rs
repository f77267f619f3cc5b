//! `rundata.json`: the complete, exactly mergeable measurements of a run.
//!
//! `summary.json` keeps percentiles, which cannot be added up; this file keeps the HDR
//! histograms themselves (base64 V2-deflate), the checks with their examples and the time series,
//! so shards run on several machines can be combined with `RunData::merge` and reported as one run.

use std::path::Path;

use super::{Outcome, ReportError, Secrets, write_file};
use crate::metrics::RunData;

/// The run data of `outcome` as JSON, secrets masked.
pub fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    let masked = secrets.mask_outcome(outcome);
    // Maps with string or unit-enum keys, numbers and strings always serialise.
    let json = serde_json::to_string(&masked.data).unwrap_or_else(|_| "{}".to_owned());
    secrets.mask(&json).into_owned() + "\n"
}

/// Writes `rundata.json`.
pub fn write(path: &Path, outcome: &Outcome, secrets: &Secrets) -> Result<(), ReportError> {
    write_file(path, render(outcome, secrets).as_bytes())
}

/// Reads a `rundata.json` written by `write`.
pub fn read(path: &Path) -> Result<RunData, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ReportError::Invalid {
        path: path.to_path_buf(),
        what: "rundata.json",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::outcome;

    #[test]
    fn two_shards_merge_to_twice_the_counts() {
        let o = outcome();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rundata.json");
        write(&path, &o, &Secrets::default()).unwrap();
        let mut merged = read(&path).unwrap();
        assert_eq!(merged, o.data);
        merged.merge(&read(&path).unwrap());
        let op = &merged.ops["acceptEngagement"];
        assert_eq!(op.count, 2 * o.data.ops["acceptEngagement"].count);
        assert_eq!(
            op.latency.raw.value_at_quantile(0.99),
            o.data.ops["acceptEngagement"]
                .latency
                .raw
                .value_at_quantile(0.99)
        );
    }

    #[test]
    fn garbage_is_a_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rundata.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("rundata.json: not a valid rundata.json"),
            "{err}"
        );
    }
}
