//! Watching a run while it runs (`--metrics-listen`, `--dashboard`): the command layer's side of
//! `live`. It creates the run's [`Monitor`] (labels: suite, shard), gives it the suite's
//! thresholds to judge on the data so far, starts the listener before anything is sent (a taken
//! port is exit 3 at once), hands the runner the monitor as the recorder's observer, and at the
//! end shows the verdict and the reports, lingering [`LINGER`] so a last scrape and the open
//! pages see them.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{AppError, Console};
use crate::check::threshold::{self as gate, Verdict};
use crate::exit::Exit;
use crate::live::{
    Background, Finish, Listen, Monitor, ReportLink, RunInfo, Server, ThresholdState,
};
use crate::metrics::Observer;
use crate::report::{Outcome, Secrets};
use crate::suite::threshold::Threshold;

/// How long the listener keeps serving after the run: longer than a 1 s scrape interval and
/// the page's 1 s poll.
pub const LINGER: Duration = Duration::from_secs(3);

/// The report files the page links, when the run wrote them.
const REPORTS: [&str; 5] = [
    "report.html",
    "summary.txt",
    "summary.json",
    "junit.xml",
    "goose-report.html",
];

/// A watched run: its monitor and the listener serving it.
pub struct Watch {
    monitor: Arc<Monitor>,
    server: Background,
}

/// A threshold verdict as the monitor shows it.
pub fn state(v: &Verdict) -> ThresholdState {
    ThresholdState {
        source: v.source.clone(),
        measured: match &v.note {
            Some(note) if v.measured.is_none() => note.clone(),
            _ => v.measured_display.clone(),
        },
        value: v.measured,
        passed: v.passed,
    }
}

/// Starts watching when `listen` asks for it (else `None`): binds, says where on stderr
/// (unless quiet).
pub fn start(
    console: &mut Console,
    listen: Listen,
    info: RunInfo,
    thresholds: Vec<Threshold>,
) -> Result<Option<Watch>, AppError> {
    if !listen.any() {
        return Ok(None);
    }
    let monitor = Monitor::new(info, Duration::from_secs(1));
    if !thresholds.is_empty() {
        monitor.set_judge(Box::new(move |data, elapsed| {
            gate::evaluate(&thresholds, data, elapsed)
                .iter()
                .map(state)
                .collect()
        }));
    }
    let server = Server::spawn(monitor.clone(), listen).map_err(AppError::Live)?;
    if !console.quiet() {
        if let Some(a) = server.metrics_addr {
            let _ = writeln!(console.err, "metrics: http://{a}/metrics");
        }
        if let Some(a) = server.dashboard_addr {
            let _ = writeln!(console.err, "dashboard: http://{a}/");
        }
    }
    Ok(Some(Watch { monitor, server }))
}

/// The labels of a run: its suite, its shard (`1/1` when whole), its target (masked).
pub fn info(suite: &str, shard: Option<impl ToString>, target: &str, secrets: &Secrets) -> RunInfo {
    RunInfo {
        suite: suite.to_owned(),
        shard: shard.map_or("1/1".to_owned(), |s| s.to_string()),
        target: secrets.mask(target).into_owned(),
    }
}

/// One line for people: why the run passed or failed.
pub fn verdict_line(outcome: &Outcome, exit: Exit, interrupted: Option<&str>) -> String {
    let failed_checks: u64 = outcome
        .data
        .checks
        .values()
        .flat_map(|by_op| by_op.values())
        .map(|c| c.failed)
        .sum();
    let checks: u64 = outcome
        .data
        .checks
        .values()
        .flat_map(|by_op| by_op.values())
        .map(|c| c.total())
        .sum();
    let broken = outcome.verdicts.iter().filter(|v| !v.passed).count();
    let rules = outcome.verdicts.len();
    let regressed = outcome.deltas.iter().filter(|d| d.regressed).count();
    match exit {
        Exit::Passed => format!("passed: {checks} checks, {rules} thresholds"),
        Exit::Failed => {
            let mut why = Vec::new();
            if failed_checks > 0 {
                why.push(format!("{failed_checks} of {checks} checks failed"));
            }
            if broken > 0 {
                why.push(format!("{broken} of {rules} thresholds broken"));
            }
            if regressed > 0 {
                why.push(format!("{regressed} percentiles regressed"));
            }
            format!("failed: {}", why.join(", "))
        }
        _ => match (&outcome.meta.harness_error, interrupted) {
            (Some(e), _) => format!("harness error: {e}"),
            (None, Some(why)) => format!("cut short: {why}"),
            (None, None) => "the harness could not finish the run".to_owned(),
        },
    }
}

impl Watch {
    /// The recorder's observer for a run.
    pub fn observer(&self) -> Arc<dyn Observer> {
        self.monitor.clone()
    }

    /// Shows the end: the final thresholds of `verdicts`, the verdict and the reports in
    /// `out_dir`; serves them for [`LINGER`], then stops.
    pub fn finish(
        self,
        verdicts: &[Verdict],
        passed: bool,
        exit: Exit,
        line: String,
        out_dir: &Path,
    ) {
        self.monitor
            .set_thresholds(verdicts.iter().map(state).collect());
        let reports = REPORTS
            .iter()
            .map(|name| out_dir.join(name))
            .filter(|p| p.is_file())
            .filter_map(|path| {
                Some(ReportLink {
                    name: path.file_name()?.to_str()?.to_owned(),
                    path,
                })
            })
            .collect();
        self.monitor.finish(Finish {
            passed,
            exit_code: exit.code(),
            verdict: line,
            out_dir: out_dir.display().to_string(),
            reports,
        });
        self.server.stop(LINGER);
    }
}
