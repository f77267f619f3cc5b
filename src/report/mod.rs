//! Report writers: one module per format, each a pure builder plus a `write` that masks secrets.
//!
//! The runner ends a run with an [`Outcome`] (metadata, the recorder's [`RunData`], threshold
//! verdicts from [`check::threshold::evaluate`], baseline deltas from [`summary::Summary::compare`])
//! and calls [`write_all`]. Reports judge nothing: they render what `check` decided. Every builder
//! is a pure function of the outcome, unit-tested without the disk; every `write` masks the
//! [`Secrets`] (see [`secrets`]) in the data before rendering, so what a format escapes is masked
//! already, and passes the rendered document through [`Secrets::mask_document`].
//!
//! [`check::threshold::evaluate`]: crate::check::threshold::evaluate
//!
//! ```no_run
//! # use std::time::{Duration, Instant};
//! # use aeapi_harness::metrics::Recorder;
//! # use aeapi_harness::check::threshold;
//! # use aeapi_harness::report::{self, summary, Outcome, RunMeta, Secrets, Tolerance};
//! # fn run(thresholds: &[aeapi_harness::suite::threshold::Threshold]) -> Result<(), report::ReportError> {
//! let recorder = Recorder::new(Instant::now(), Duration::from_secs(1));
//! // … the runner records into clones of `recorder` from every agent task …
//! let data = recorder.snapshot();
//! let started = time::OffsetDateTime::now_utc();
//! let meta = RunMeta {
//!     suite: "smoke".into(),
//!     target: "https://aeapi.example.test".into(),
//!     harness_version: RunMeta::HARNESS_VERSION.into(),
//!     started,
//!     ended: time::OffsetDateTime::now_utc(),
//!     duration: Duration::from_secs(60),
//!     interrupted: false,
//!     interrupted_by: None,
//!     harness_error: None,
//!     shards: vec![],
//!     tolerance: Tolerance::default(),
//! };
//! let verdicts = threshold::evaluate(thresholds, &data, meta.duration);
//! let mut outcome = Outcome { meta, data, verdicts, deltas: vec![] };
//! let baseline = summary::read("reports/last/summary.json".as_ref())?;
//! outcome.deltas = summary::build(&outcome).compare(&baseline, outcome.meta.tolerance);
//! let secrets = Secrets::new(["client-secret", "agent-password"]);
//! print!("{}", report::text::render(&outcome, &secrets));
//! report::write_all("reports/run-1".as_ref(), &outcome, &secrets)?;
//! let code = outcome.exit().code();
//! # let _ = code; Ok(()) }
//! ```

pub(crate) mod chart;
pub mod hgrm;
pub mod hlog;
pub mod html;
pub mod junit;
pub mod markup;
pub mod merge;
pub mod over_time;
pub mod rundata;
pub mod secrets;
pub mod summary;
pub mod terminal;
pub mod text;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

use crate::exit::Exit;
use crate::metrics::RunData;

pub use crate::check::baseline::{Delta, Tolerance};
pub use crate::check::threshold::Verdict;
pub use crate::suite::plan::Shard;
pub use secrets::Secrets;

/// Facts about the run that are not measurements.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunMeta {
    /// Suite name.
    pub suite: String,
    /// Base URL of the target (masked like everything else).
    pub target: String,
    /// Version of this harness; `RunMeta::HARNESS_VERSION` unless merging older files.
    pub harness_version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended: OffsetDateTime,
    /// Measured run time (used for throughput).
    pub duration: Duration,
    /// The run was stopped early (Ctrl-C, fatal error).
    pub interrupted: bool,
    /// What stopped it early (SIGTERM, Ctrl-C, its time bound), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// Why the harness itself could not do its job, if it could not (unreachable target at start,
    /// bad credentials, …). Makes the exit status `Exit::Harness`.
    pub harness_error: Option<String>,
    /// The shards the data covers: none for a whole run, `[2/3]` for one shard of a fleet, every
    /// shard merged for a `merge`.
    pub shards: Vec<Shard>,
    /// The suite's `baseline` policy, kept so `merge --baseline` judges like `run --baseline`.
    pub tolerance: Tolerance,
}

impl RunMeta {
    /// This crate's version.
    pub const HARNESS_VERSION: &'static str = env!("CARGO_PKG_VERSION");
}

/// Everything a run produced, as the report writers see it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub meta: RunMeta,
    pub data: RunData,
    pub verdicts: Vec<Verdict>,
    /// Per-operation percentile deltas against a baseline (empty without `--baseline`).
    pub deltas: Vec<Delta>,
}

impl Outcome {
    /// The exit status the run deserves: `Harness` when the harness failed, `Failed` when a
    /// threshold or a check failed (or a baseline regression was flagged), else `Passed`.
    pub fn exit(&self) -> Exit {
        // An incomplete run never gates green: it failed if the target broke a rule, else the
        // harness could not finish (3), as the process's exit status says.
        if self.meta.harness_error.is_some() {
            return Exit::Harness;
        }
        let check_failed = self
            .data
            .checks
            .values()
            .flat_map(|by_op| by_op.values())
            .any(|c| c.failed > 0);
        if check_failed || self.verdicts.iter().any(|v| !v.passed) || self.regressed() {
            Exit::Failed
        } else if self.meta.interrupted {
            Exit::Harness
        } else {
            Exit::Passed
        }
    }

    /// Whether any baseline delta is flagged as a regression.
    pub fn regressed(&self) -> bool {
        self.deltas.iter().any(|d| d.regressed)
    }
}

impl Secrets {
    /// A copy of `outcome` with every free-text field masked (target, exchanges, notes).
    pub fn mask_outcome<'a>(&self, outcome: &'a Outcome) -> Cow<'a, Outcome> {
        let mut o = outcome.clone();
        for s in [
            &mut o.meta.suite,
            &mut o.meta.target,
            &mut o.meta.harness_version,
        ] {
            self.mask_in_place(s);
        }
        if let Some(e) = &mut o.meta.harness_error {
            self.mask_in_place(e);
        }
        for by_op in o.data.checks.values_mut() {
            for cs in by_op.values_mut() {
                for ex in &mut cs.examples {
                    self.mask_in_place(&mut ex.request_line);
                    self.mask_in_place(&mut ex.detail);
                    self.mask_in_place(&mut ex.response_excerpt);
                }
            }
        }
        for v in &mut o.verdicts {
            self.mask_in_place(&mut v.source);
            if let Some(n) = &mut v.note {
                self.mask_in_place(n);
            }
        }
        Cow::Owned(o)
    }
}

/// Why a report could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot render {what}: {detail}")]
    Render { what: &'static str, detail: String },
    #[error("{}: not a valid {what}: {detail}", path.display())]
    Invalid {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
}

/// Why a builder could not render its document (an encoder's complaint); the writer names the
/// file it was for.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

impl RenderError {
    /// The error of any encoder, as text.
    pub fn from_display(e: impl std::fmt::Display) -> RenderError {
        RenderError(e.to_string())
    }
}

/// Writes `contents` to `path`, creating its parent directories.
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, contents).map_err(err)
}

/// Writes a command's pair of reports under `dir`: `junit.xml` from `junit` and `json_name`
/// from `json` (pretty), each through [`Secrets::mask_document`] (the data was masked before it
/// was rendered).
pub fn write_junit_and_json(
    dir: &Path,
    junit: &junit_report::Report,
    json_name: &'static str,
    json: &serde_json::Value,
    secrets: &Secrets,
) -> Result<(), ReportError> {
    let failed = |what: &'static str, e: &dyn std::fmt::Display| ReportError::Render {
        what,
        detail: e.to_string(),
    };
    let mut xml = Vec::new();
    junit
        .write_xml(&mut xml)
        .map_err(|e| failed("junit.xml", &e))?;
    let body = serde_json::to_string_pretty(json).map_err(|e| failed(json_name, &e))?;
    for (name, text) in [
        ("junit.xml", String::from_utf8_lossy(&xml).into_owned()),
        (json_name, body),
    ] {
        write_file(&dir.join(name), secrets.mask_document(&text).as_bytes())?;
    }
    Ok(())
}

/// Writes a rendered report to `path`, or says the `what` could not be rendered.
pub fn write_rendered(
    path: &Path,
    what: &'static str,
    rendered: Result<String, RenderError>,
) -> Result<(), ReportError> {
    let text = rendered.map_err(|detail| ReportError::Invalid {
        path: path.to_path_buf(),
        what,
        detail: detail.to_string(),
    })?;
    write_file(path, text.as_bytes())
}

/// An operation name made safe as a file name (anything but `[A-Za-z0-9_.-]` becomes `_`).
pub fn file_stem(op: &str) -> String {
    let s = crate::values::safe_chars(op);
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// Writes every report into `out_dir` (created if needed) and returns the paths written:
/// `summary.json`, `summary.txt`, `junit.xml`, `report.html`, `histograms.hlog`,
/// `rundata.json` (for merging shards) and `latency/<operation>.hgrm` +
/// `latency/<operation>.corrected.hgrm` per operation.
pub fn write_all(
    out_dir: &Path,
    outcome: &Outcome,
    secrets: &Secrets,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Write {
        path: out_dir.to_path_buf(),
        source,
    })?;
    type Writer = fn(&Path, &Outcome, &Secrets) -> Result<(), ReportError>;
    let writers: [(&str, Writer); 6] = [
        ("summary.json", |p, o, s| {
            summary::write(p, &summary::build(o), s)
        }),
        ("summary.txt", text::write),
        ("junit.xml", junit::write),
        ("report.html", html::write),
        ("histograms.hlog", hlog::write),
        ("rundata.json", rundata::write),
    ];
    let mut written = Vec::new();
    for (name, write) in writers {
        let path = out_dir.join(name);
        write(&path, outcome, secrets)?;
        written.push(path);
    }

    written.extend(hgrm::write_dir(
        &out_dir.join("latency"),
        &outcome.data,
        secrets,
    )?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("acceptEngagement"), "acceptEngagement");
        assert_eq!(file_stem("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem("a b/c"), "a_b_c");
        assert_eq!(file_stem(""), "_");
    }
}
