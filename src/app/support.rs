//! What every command shares: the runtime, the report directory, the baseline, and the
//! write-print-exit tail of a run's (or a merge's) outcome.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{AppError, Console};
use crate::exit::Exit;
use crate::report::{self, Outcome, Secrets};

/// The multi-threaded runtime a command needs.
pub fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AppError::Runtime)
}

/// Creates the report directory.
pub fn report_dir(dir: &Path) -> Result<(), AppError> {
    std::fs::create_dir_all(dir).map_err(|cause| AppError::ReportDir {
        path: dir.to_path_buf(),
        cause,
    })
}

/// `reports/<suite-name>-<YYYYmmddTHHMMSSZ>/`, the name reduced to `[A-Za-z0-9_-]`.
pub fn default_out_dir(suite_name: &str) -> PathBuf {
    let name: String = suite_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    Path::new("reports").join(format!("{name}-{stamp}"))
}

/// Reads a baseline: a report directory (its `summary.json`) or a `summary.json` itself. A
/// baseline that cannot be read is a bad flag.
pub fn read_baseline(path: Option<&Path>) -> Result<Option<report::summary::Summary>, AppError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let file = if path.is_dir() {
        path.join("summary.json")
    } else {
        path.to_path_buf()
    };
    report::summary::read(&file)
        .map(Some)
        .map_err(AppError::Baseline)
}

/// Adds the baseline's deltas to `outcome`.
pub fn compare(outcome: &mut Outcome, baseline: Option<&report::summary::Summary>) {
    if let Some(base) = baseline {
        let current = report::summary::build(outcome);
        outcome.deltas = current.compare(base, outcome.meta.tolerance);
    }
}

/// 1 when the target broke a check or threshold; otherwise 3 when the harness failed or the run
/// was cut short (an incomplete run never gates green); otherwise 0.
pub fn exit_code(outcome: &Outcome, interrupted: bool) -> Exit {
    match outcome.exit() {
        Exit::Passed if interrupted => Exit::Harness,
        other => other,
    }
}

/// What the tail says once the reports are written.
pub struct Tail<'a> {
    pub out_dir: &'a Path,
    pub secrets: &'a Secrets,
    /// Why the run was cut short, if it was.
    pub interrupted: Option<&'a str>,
    /// The line saying where the reports went (unless quiet).
    pub done: String,
}

/// Writes every report of `outcome`, prints its summary (masked, from memory: the terminal
/// summary, after `summary.txt`'s full table with -v), its harness error, why it was cut
/// short and where the reports went; returns the exit code.
pub fn write_print_exit(
    console: &mut Console,
    outcome: &Outcome,
    tail: Tail<'_>,
) -> Result<Exit, AppError> {
    let written = report::write_all(tail.out_dir, outcome, tail.secrets);
    if !console.quiet() && written.is_ok() {
        // The checks at a glance (k6's way); the full per-operation table is `summary.txt`,
        // printed first with -v.
        if console.verbose() {
            let text = report::text::render(outcome, tail.secrets);
            let _ = writeln!(console.out, "{text}");
        }
        let text = report::terminal::render_outcome(outcome, tail.secrets);
        let _ = write!(console.out, "{text}");
    }
    if let Some(e) = &outcome.meta.harness_error {
        console.error(&AppError::Harness(tail.secrets.mask(e).into_owned()));
    }
    if let Some(why) = tail.interrupted {
        let _ = writeln!(console.err, "warning: run cut short: {why}");
    }
    written.map_err(AppError::Report)?;
    if !console.quiet() {
        let _ = writeln!(console.err, "{}", tail.done);
    }
    Ok(exit_code(outcome, tail.interrupted.is_some()))
}
