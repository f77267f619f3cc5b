//! `aeapi-harness conform`: every case of the suite's contracts run once (`conform::run`), the
//! table printed, `junit.xml` and `conform.json` written.
//!
//! Exit codes: 0 every case passed (or was skipped), 1 a case failed or could not be set up,
//! 2 a bad suite or selection, 3 the target was down at start or the reports could not be
//! written (a target down at start still gets reports saying why).

use std::io::Write;
use std::time::Duration;

use super::support;
use super::{AppError, Console, RunConfig};
use crate::conform::snapshot::{self, Snapshot};
use crate::conform::{self, ConformPlan, Progress, RunFailure, Verdict, report};
use crate::exit::Exit;
use crate::runner::plan::RunPlan;
use crate::suite::model::AddedFields;

/// `--snapshot` and `--against`: where to keep what the run observed, and what to compare it
/// with (read before the run: a bad snapshot is a usage error).
#[derive(Debug, Default)]
pub struct Drift {
    pub snapshot: Option<std::path::PathBuf>,
    pub against: Option<(Snapshot, AddedFields)>,
}

/// `conform`: `--only` selects cases by operation or case id; `-v` prints the plan first.
pub fn execute(console: &mut Console, c: &RunConfig) -> Result<Exit, AppError> {
    let plan = super::plan::load_plan(c)?;
    let added = plan
        .suite
        .suite
        .drift
        .as_ref()
        .map(|d| d.added_fields)
        .unwrap_or_default();
    let drift = Drift {
        snapshot: c.snapshot.clone(),
        against: match &c.against {
            Some(p) => Some((
                snapshot::read(p).map_err(|e| AppError::Usage(e.to_string()))?,
                added,
            )),
            None => None,
        },
    };
    if console.verbose() {
        let _ = writeln!(console.err, "{plan}");
    }
    let run = RunPlan::build(&plan).map_err(|e| AppError::Conform(e.into()))?;
    let mut cp = ConformPlan::new(run, c.only.as_deref()).map_err(AppError::Conform)?;
    if let Some(bound) = c.max_time {
        cp.time_bound = bound;
    }
    execute_gated(console, cp, drift)
}

/// Runs a built conformance plan (tests use it to point a plan at a chosen target).
pub fn execute_plan(console: &mut Console, plan: ConformPlan) -> Result<Exit, AppError> {
    execute_gated(console, plan, Drift::default())
}

/// [`execute_plan`] with a snapshot to write and/or to compare with.
pub fn execute_gated(
    console: &mut Console,
    plan: ConformPlan,
    drift: Drift,
) -> Result<Exit, AppError> {
    let runtime = support::runtime()?;
    let out_dir = plan.out_dir.clone();
    let target = plan.target.label();
    if !console.quiet() {
        for n in &plan.notes {
            console.note(n);
        }
        let _ = writeln!(
            console.err,
            "conform: {} cases against {}",
            plan.cases.len(),
            target
        );
    }
    let mut meta = report::Meta {
        suite: plan.suite_name.clone(),
        target,
        started: time::OffsetDateTime::now_utc(),
        harness_error: None,
    };
    let progress = Progress {
        err: (!console.quiet()).then_some(&mut *console.err),
        verbose: console.verbosity.verbose > 0,
    };
    let result = runtime.block_on(conform::run(plan, progress));
    runtime.shutdown_timeout(Duration::from_secs(2));
    let (mut outcomes, secrets, interrupted) = match result {
        Ok(r) => r,
        Err(RunFailure { message, secrets }) => {
            // Reports still say why, so CI shows an error rather than nothing.
            let message = secrets.mask(&message).into_owned();
            console.error(&AppError::Harness(message.clone()));
            meta.harness_error = Some(message);
            support::report_dir(&out_dir)?;
            report::write(&out_dir, &meta, &[], &secrets)
                .map_err(|e| AppError::Harness(e.to_string()))?;
            return Ok(Exit::Harness);
        }
    };
    support::report_dir(&out_dir)?;
    if let Some(dir) = &drift.snapshot {
        let snap = snapshot::build(&meta.suite, &meta.target, &outcomes);
        snapshot::write(dir, &snap, &secrets).map_err(AppError::Report)?;
        if !console.quiet() {
            let _ = writeln!(
                console.err,
                "snapshot: {} cases in {}",
                snap.cases.len(),
                dir.join(snapshot::FILE).display()
            );
        }
    }
    if let Some((snap, added)) = &drift.against {
        for w in snapshot::against(snap, &mut outcomes, *added) {
            let _ = writeln!(console.err, "warning: {}", secrets.mask(&w));
        }
    }
    if !console.quiet() {
        let _ = write!(console.out, "{}", secrets.mask(&report::table(&outcomes)));
    }
    if let Some(why) = &interrupted {
        // The cases not run are `<error>`s, and the run is not a pass: exit 3.
        meta.harness_error = Some(format!("conform cut short: {why}"));
    }
    report::write(&out_dir, &meta, &outcomes, &secrets)
        .map_err(|e| AppError::Harness(e.to_string()))?;
    if !console.quiet() {
        let _ = writeln!(console.err, "reports: {}", out_dir.display());
    }
    if let Some(why) = interrupted {
        let _ = writeln!(console.err, "warning: run cut short: {why}");
        return Ok(Exit::Harness);
    }
    let passed = outcomes
        .iter()
        .all(|o| matches!(o.verdict, Verdict::Passed | Verdict::Skipped(_)));
    Ok(if passed { Exit::Passed } else { Exit::Failed })
}
