//! `aeapi-harness capacity`: the step search (see `crate::capacity`): every step planned before
//! anything is sent, each run to its outcome and reported under its own directory, the table
//! printed as steps finish, the search's reports and verdict at the end.

use std::io::Write;
use std::time::Duration;

use super::support;
use super::watch::{self, Watch};
use super::{AppError, CapacityConfig, Console};
use crate::capacity::{self, CapacityPlan, Search, report};
use crate::exit::Exit;
use crate::live::Listen;
use crate::report::Secrets;
use crate::suite::plan::Overrides;

/// `capacity`: plans the search from the suite and flags, then runs it.
pub fn execute(console: &mut Console, c: &CapacityConfig) -> Result<Exit, AppError> {
    let loaded = super::plan::load_suite(&c.suite)?;
    let target = match &c.target {
        Some(t) => Some(super::plan::apply_target(&loaded, t)?),
        None => None,
    };
    let search = Search {
        by: c.by,
        from: c.from,
        to: c.to,
        step: c.step.unwrap_or(c.from),
        step_duration: c
            .step_duration
            .unwrap_or_else(|| loaded.suite.load.effective_duration()),
        require: c.require,
    };
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| support::default_out_dir(&format!("{}-capacity", loaded.suite.name)));
    let overrides = Overrides {
        target,
        seed: c.seed,
        ..Overrides::default()
    };
    let mut plan =
        CapacityPlan::build(&loaded, &overrides, search, out).map_err(AppError::Capacity)?;
    for (_, rp) in &mut plan.steps {
        // Every step is checked before the first one sends anything.
        super::limits::fits(&rp.suite)?;
        rp.show_progress = !console.quiet();
    }
    execute_plan(console, plan, c.live)
}

/// Runs the steps of a planned search until one breaks, then writes and prints the verdict.
pub fn execute_plan(
    console: &mut Console,
    plan: CapacityPlan,
    live: Listen,
) -> Result<Exit, AppError> {
    let runtime = support::runtime()?;
    let mut result = plan.start();
    let mut secrets = Secrets::default();
    // One monitor for the whole search: its counters run on across the steps.
    let watch = match plan.steps.first() {
        Some((_, rp)) => {
            let s = Secrets::new(rp.secrets());
            let info = watch::info(&plan.suite, rp.suite.shard, &rp.target.label(), &s);
            watch::start(console, live, info, rp.suite.suite.thresholds.clone())?
        }
        None => None,
    };
    let mut last_verdicts = Vec::new();
    if !console.quiet() {
        let _ = writeln!(console.out, "{}", report::table_head(plan.search.by));
    }
    for (load, rp) in &plan.steps {
        secrets = Secrets::new(rp.secrets());
        let (outcome, interrupted) =
            super::run::run_to_outcome(&runtime, rp, watch.as_ref().map(Watch::observer))
                .map_err(|e| AppError::Refused(secrets.mask(&e.to_string()).into_owned()))?;
        last_verdicts.clone_from(&outcome.verdicts);
        if let Err(e) = crate::report::write_all(&rp.out_dir, &outcome, &secrets) {
            console.error(&AppError::Report(e));
        }
        let step = capacity::step_result(*load, &outcome, interrupted.as_deref(), &rp.out_dir);
        if !console.quiet() {
            let _ = writeln!(console.out, "{}", report::table_row(&step));
        }
        let stop = !step.held;
        result.steps.push(step);
        if stop {
            break;
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(2));
    let result = capacity::conclude(result);
    let written = report::write_all(&plan.out, &result, &secrets);
    if !console.quiet() {
        let _ = writeln!(console.out, "\n{}", report::verdict(&result));
    }
    let exit = match result.exit_status {
        0 => Exit::Passed,
        1 => Exit::Failed,
        _ => Exit::Harness,
    };
    if let Some(w) = watch {
        let line = report::verdict(&result);
        let line = line.lines().next().unwrap_or("").to_owned();
        w.finish(
            &last_verdicts,
            exit == Exit::Passed,
            exit,
            secrets.mask(&line).into_owned(),
            &plan.out,
        );
    }
    written.map_err(AppError::Report)?;
    if !console.quiet() {
        let _ = writeln!(console.err, "reports: {}", plan.out.display());
    }
    Ok(exit)
}
