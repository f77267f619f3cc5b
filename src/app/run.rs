//! `aeapi-harness run`: plan, run, judge, report, exit code.
//!
//! Reports are written whatever happens after the plan is accepted: a target unreachable at start
//! still gets a `junit.xml` with an `<error>` and a `summary.json` saying why, and a run cut short
//! by Ctrl-C or SIGTERM writes everything it gathered, marked interrupted.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::support::{self, Tail};
use super::watch::{self, Watch};
use super::{AppError, Console, RunConfig};
use crate::exit::Exit;
use crate::metrics::{Observer, RunData};
use crate::report::terminal::thousands;
use crate::report::{self, Outcome, RunMeta, Secrets};
use crate::runner::plan::RunPlan;
use crate::runner::{self, RunError, RunResult};

/// `run`: `--dry-run` prints the plan and sends nothing; `-v` prints the plan before running;
/// `--metrics-listen` and `--dashboard` serve the run live (see [`watch`]).
pub fn execute(console: &mut Console, c: &RunConfig) -> Result<Exit, AppError> {
    let plan = super::plan::load_plan(c)?;
    let files = super::limits::fits(&plan)?;
    let start = c.start.resolve(&plan)?;
    if c.dry_run {
        let _ = writeln!(console.out, "{plan}");
        if let Some((need, limits)) = files {
            console.note(&format!(
                "open files: the fleet needs about {}, this process may open {}",
                thousands(need),
                thousands(limits.soft)
            ));
        }
        console.note("--dry-run: nothing was sent");
        return Ok(Exit::Passed);
    }
    if console.verbose() {
        let _ = writeln!(console.err, "{plan}");
    }
    let baseline = support::read_baseline(c.baseline.as_deref())?;
    let mut run_plan = RunPlan::build(&plan).map_err(AppError::Run)?;
    run_plan.show_progress = !console.quiet();
    run_plan.start = start;
    support::report_dir(&run_plan.out_dir)?;
    let secrets = Secrets::new(run_plan.secrets());
    let runtime = support::runtime()?;
    let info = watch::info(
        &run_plan.suite_name,
        run_plan.suite.shard,
        &run_plan.target.label(),
        &secrets,
    );
    let watch = watch::start(
        console,
        c.live,
        info,
        run_plan.suite.suite.thresholds.clone(),
    )?;
    let result = run_to_outcome(&runtime, &run_plan, watch.as_ref().map(Watch::observer));
    // Long-polls and the embedded simulator may still hold tasks: don't wait for them.
    runtime.shutdown_timeout(Duration::from_secs(2));
    let (mut outcome, interrupted) =
        result.map_err(|e| AppError::Refused(secrets.mask(&e.to_string()).into_owned()))?;
    support::compare(&mut outcome, baseline.as_ref());
    let done = format!("reports: {}", run_plan.out_dir.display());
    let exit = support::write_print_exit(
        console,
        &outcome,
        Tail {
            out_dir: &run_plan.out_dir,
            secrets: &secrets,
            interrupted: interrupted.as_deref(),
            done,
        },
    );
    if let Some(w) = watch {
        let code = match &exit {
            Ok(e) => *e,
            Err(e) => e.exit(),
        };
        let line = watch::verdict_line(&outcome, code, interrupted.as_deref());
        w.finish(
            &outcome.verdicts,
            code == Exit::Passed,
            code,
            secrets.mask(&line).into_owned(),
            &run_plan.out_dir,
        );
    }
    exit
}

/// Runs `plan` on `runtime` and judges it: the outcome (a harness failure becomes its
/// `harness_error`) and why the run was cut short, if it was. `Err` is a plan the runner refused
/// (exit 2).
pub fn run_to_outcome(
    runtime: &tokio::runtime::Runtime,
    plan: &RunPlan,
    observer: Option<Arc<dyn Observer>>,
) -> Result<(Outcome, Option<String>), RunError> {
    let started = time::OffsetDateTime::now_utc();
    let (meta, data, interrupted) = match runtime.block_on(runner::run_observed(plan, observer)) {
        Ok(r) => meta_of(plan, r),
        Err(e @ RunError::Plan(_)) => return Err(e),
        Err(RunError::Harness(msg)) => {
            let meta = RunMeta {
                suite: plan.suite_name.clone(),
                target: plan.target.label(),
                harness_version: RunMeta::HARNESS_VERSION.to_string(),
                started,
                ended: time::OffsetDateTime::now_utc(),
                duration: Duration::ZERO,
                interrupted: false,
                interrupted_by: None,
                harness_error: Some(msg),
                shards: plan.suite.shard.into_iter().collect(),
                tolerance: tolerance(plan),
            };
            (meta, RunData::default(), None)
        }
    };
    let verdicts =
        crate::check::threshold::evaluate(&plan.suite.suite.thresholds, &data, meta.duration);
    let outcome = Outcome {
        meta,
        data,
        verdicts,
        deltas: Vec::new(),
    };
    Ok((outcome, interrupted))
}

/// The suite's `baseline` policy (defaults: 10%, 1 ms).
fn tolerance(plan: &RunPlan) -> report::Tolerance {
    let policy = plan.suite.suite.suite.baseline.clone().unwrap_or_default();
    let default = report::Tolerance::default();
    report::Tolerance {
        fraction: policy.tolerance.map_or(default.fraction, |t| t.fraction()),
        floor_ms: policy
            .floor
            .map_or(default.floor_ms, |f| f.0.as_secs_f64() * 1e3),
    }
}

/// The report metadata of a finished run of `plan`.
fn meta_of(plan: &RunPlan, r: RunResult) -> (RunMeta, RunData, Option<String>) {
    let duration = (r.ended - r.started).try_into().unwrap_or(Duration::ZERO);
    let meta = RunMeta {
        suite: plan.suite_name.clone(),
        target: r.target,
        harness_version: RunMeta::HARNESS_VERSION.to_string(),
        started: r.started,
        ended: r.ended,
        duration,
        interrupted: r.interrupted.is_some(),
        interrupted_by: r.interrupted.clone(),
        harness_error: None,
        shards: plan.suite.shard.into_iter().collect(),
        tolerance: tolerance(plan),
    };
    (meta, r.data, r.interrupted)
}
