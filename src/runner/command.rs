//! `aeapi-harness run`: plan, run, judge, report, exit code.
//!
//! Reports are written whatever happens after the plan is accepted: a target unreachable at start
//! still gets a `junit.xml` with an `<error>` and a `summary.json` saying why, and a run cut short
//! by Ctrl-C or SIGTERM writes everything it gathered, marked interrupted.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::plan::RunPlan;
use super::{RunError, RunResult};
use crate::exit::Exit;
use crate::metrics::RunData;
use crate::report::{self, Outcome, RunMeta, Secrets};
use crate::suite::plan::Plan as SuitePlan;

/// How the command talks to the terminal.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// `-q`: no progress line, no summary table.
    pub quiet: bool,
}

/// Runs `plan` and returns the exit code. Never panics on a bad suite, flag or target.
/// `baseline` is an earlier run's report directory or `summary.json` to compare with.
pub fn execute(plan: &SuitePlan, baseline: Option<&Path>, io: Io<'_>) -> Exit {
    // A baseline that cannot be read is a bad flag: say so before sending anything.
    let baseline = match baseline.map(read_baseline).transpose() {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(io.err, "error: --baseline: {e}");
            return Exit::Usage;
        }
    };
    let mut run_plan = match RunPlan::build(plan) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return Exit::Usage;
        }
    };
    run_plan.show_progress = !io.quiet;
    let out_dir = run_plan.out_dir.clone();
    if let Err(exit) = report_dir(&out_dir, io.err) {
        return exit;
    }
    let secrets = Secrets::new(run_plan.secrets());
    let runtime = match runtime(io.err) {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    let (mut outcome, interrupted) = match run_to_outcome(&runtime, plan, run_plan) {
        Ok(o) => o,
        Err(msg) => {
            let _ = writeln!(io.err, "error: {}", secrets.mask(&msg));
            return Exit::Usage;
        }
    };
    // Long-polls and the embedded simulator may still hold tasks: don't wait for them.
    runtime.shutdown_timeout(Duration::from_secs(2));
    if let Some(base) = &baseline {
        let current = report::summary::build(&outcome);
        outcome.deltas = current.compare(base, outcome.meta.tolerance);
    }
    let written = report::write_all(&out_dir, &outcome, &secrets);
    if !io.quiet {
        // The terminal summary is the masked `summary.txt` the writer produced.
        if let Ok(text) = std::fs::read_to_string(out_dir.join("summary.txt")) {
            let _ = write!(io.out, "{text}");
        }
    }
    if let Some(e) = &outcome.meta.harness_error {
        let _ = writeln!(io.err, "error: {}", secrets.mask(e));
    }
    if let Some(why) = &interrupted {
        let _ = writeln!(io.err, "warning: run cut short: {why}");
    }
    match written {
        Ok(_) if !io.quiet => {
            let _ = writeln!(io.err, "reports: {}", out_dir.display());
        }
        Ok(_) => {}
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return Exit::Harness;
        }
    }
    exit_code(&outcome, interrupted.is_some())
}

/// Creates the report directory; failing is a harness error (said on `err`).
pub fn report_dir(dir: &Path, err: &mut dyn Write) -> Result<(), Exit> {
    std::fs::create_dir_all(dir).map_err(|e| {
        let _ = writeln!(
            err,
            "error: cannot create the report directory {}: {e}",
            dir.display()
        );
        Exit::Harness
    })
}

/// The multi-threaded runtime a run needs; failing to start one is a harness error (said on
/// `err`).
pub fn runtime(err: &mut dyn Write) -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            Exit::Harness
        })
}

/// Runs `run_plan` (built from `plan`) on `runtime` and judges it: the outcome (a harness
/// failure becomes its `harness_error`) and why the run was cut short, if it was. `Err` is a
/// plan the runner refused (exit 2).
pub fn run_to_outcome(
    runtime: &tokio::runtime::Runtime,
    plan: &SuitePlan,
    run_plan: RunPlan,
) -> Result<(Outcome, Option<String>), String> {
    let target_label = run_plan.target.label();
    let started = time::OffsetDateTime::now_utc();
    let (meta, data, interrupted) = match runtime.block_on(super::run(run_plan)) {
        Ok(r) => meta_of(plan, r),
        Err(RunError::Plan(msg)) => return Err(msg),
        Err(RunError::Harness(msg)) => {
            let meta = RunMeta {
                suite: plan.suite.suite.name.clone(),
                target: target_label,
                harness_version: RunMeta::HARNESS_VERSION.to_string(),
                started,
                ended: time::OffsetDateTime::now_utc(),
                duration: Duration::ZERO,
                interrupted: false,
                harness_error: Some(msg),
                shards: plan.shard.into_iter().collect(),
                tolerance: tolerance(plan),
            };
            (meta, RunData::default(), None)
        }
    };
    let verdicts = crate::check::threshold::evaluate(&plan.suite.thresholds, &data, meta.duration);
    let outcome = Outcome {
        meta,
        data,
        verdicts,
        deltas: Vec::new(),
    };
    Ok((outcome, interrupted))
}

/// 1 when the target broke a check or threshold; otherwise 3 when the harness failed or the run
/// was cut short (an incomplete run never gates green); otherwise 0.
pub fn exit_code(outcome: &Outcome, interrupted: bool) -> Exit {
    match outcome.exit() {
        Exit::Passed if interrupted => Exit::Harness,
        other => other,
    }
}

/// Reads a baseline: a report directory (its `summary.json`) or a `summary.json` itself.
pub fn read_baseline(path: &Path) -> Result<report::summary::Summary, String> {
    let file = if path.is_dir() {
        path.join("summary.json")
    } else {
        path.to_path_buf()
    };
    report::summary::read(&file).map_err(|e| e.to_string())
}

/// The suite's `baseline` policy (defaults: 10%, 1 ms).
pub fn tolerance(plan: &SuitePlan) -> report::Tolerance {
    let policy = plan.suite.suite.baseline.clone().unwrap_or_default();
    let default = report::Tolerance::default();
    report::Tolerance {
        fraction: policy.tolerance.map_or(default.fraction, |t| t.fraction()),
        floor_ms: policy
            .floor
            .map_or(default.floor_ms, |f| f.0.as_secs_f64() * 1e3),
    }
}

/// The report metadata of a finished run of `plan`.
pub fn meta_of(plan: &SuitePlan, r: RunResult) -> (RunMeta, RunData, Option<String>) {
    let duration = (r.ended - r.started).try_into().unwrap_or(Duration::ZERO);
    let meta = RunMeta {
        suite: plan.suite.suite.name.clone(),
        target: r.target,
        harness_version: RunMeta::HARNESS_VERSION.to_string(),
        started: r.started,
        ended: r.ended,
        duration,
        interrupted: r.interrupted.is_some(),
        harness_error: None,
        shards: plan.shard.into_iter().collect(),
        tolerance: tolerance(plan),
    };
    (meta, r.data, r.interrupted)
}
