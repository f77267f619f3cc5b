//! `aeapi-harness capacity`: the step search (see `crate::capacity`): every step planned before
//! anything is sent, each run to its outcome and reported under its own directory, the table
//! printed as steps finish, the search's reports and verdict at the end. Sharded, every step
//! starts at a meeting of the shards and ends with their verdicts gathered (see
//! `capacity::lockstep`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::support;
use super::watch::{self, Watch};
use super::{AppError, CapacityConfig, Console, MergeConfig};
use crate::capacity::lockstep::Lockstep;
use crate::capacity::merge as cap_merge;
use crate::capacity::{self, Capacity, CapacityError, CapacityPlan, Search, report};
use crate::exit::Exit;
use crate::live::Listen;
use crate::report::merge as run_merge;
use crate::report::{ReportError, Secrets};
use crate::runner::rendezvous::{Barrier, DEFAULT_TIMEOUT};
use crate::suite::plan::Overrides;

/// `capacity`: plans the search from the suite and flags, then runs it.
pub fn execute(console: &mut Console, c: &CapacityConfig) -> Result<Exit, AppError> {
    let loaded = super::plan::load_suite(&c.suite)?;
    let target = match &c.target {
        Some(t) => Some(super::plan::apply_target(&loaded, t)?),
        None => None,
    };
    let search = search(c, loaded.suite.load.effective_duration());
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| support::default_out_dir(&format!("{}-capacity", loaded.suite.name)));
    let overrides = Overrides {
        target,
        seed: c.seed,
        ..Overrides::default()
    };
    let lockstep = match (c.shard, &c.rendezvous) {
        (None, None) => None,
        (Some(shard), Some(dir)) => Some(Lockstep {
            barrier: Barrier {
                dir: dir.clone(),
                name: String::new(),
                shard,
                suite: loaded.suite.name.clone(),
                timeout: c.rendezvous_timeout.unwrap_or(DEFAULT_TIMEOUT),
            },
        }),
        (Some(_), None) => {
            return Err(AppError::Usage(
                "capacity --shard needs --rendezvous DIR: the shards step in lockstep through \
                 it"
                .into(),
            ));
        }
        (None, Some(_)) => {
            return Err(AppError::Usage(
                "--rendezvous needs --shard I/N: the rendezvous waits for all N shards".into(),
            ));
        }
    };
    let mut plan = CapacityPlan::build(&loaded, &overrides, search, out, lockstep)
        .map_err(AppError::Capacity)?;
    for (_, rp) in &mut plan.steps {
        // Every step is checked before the first one sends anything.
        super::limits::fits(&rp.suite)?;
        rp.show_progress = !console.quiet();
    }
    execute_plan(console, plan, c.live)
}

/// The search's bounds from the flags: `--step` defaults to `--from`, `--step-duration` to
/// `default_duration` (the suite's).
pub fn search(c: &CapacityConfig, default_duration: Duration) -> Search {
    Search {
        by: c.by,
        from: c.from,
        to: c.to,
        step: c.step.unwrap_or(c.from),
        step_duration: c.step_duration.unwrap_or(default_duration),
        require: c.require,
    }
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
    for (i, (load, rp)) in plan.steps.iter().enumerate() {
        secrets = Secrets::new(rp.secrets());
        let (outcome, interrupted) =
            super::run::run_to_outcome(&runtime, rp, watch.as_ref().map(Watch::observer))
                .map_err(|e| AppError::Refused(secrets.mask(&e.to_string()).into_owned()))?;
        last_verdicts.clone_from(&outcome.verdicts);
        if let Err(e) = crate::report::write_all(&rp.out_dir, &outcome, &secrets) {
            console.error(&AppError::Report(e));
        }
        let mut step = capacity::step_result(*load, &outcome, interrupted.as_deref(), &rp.out_dir);
        if let Some(l) = &plan.lockstep {
            runtime.block_on(l.decide(i, &mut step, &secrets));
        }
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
    let (result, written) = conclude_and_write(console, &plan.out, result, &secrets);
    let exit = exit_of(&result);
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

/// The verdict of a search whose steps are all in: concluded, its reports written into `out`
/// (the result of writing them is returned, not yet raised), the verdict printed.
fn conclude_and_write(
    console: &mut Console,
    out: &Path,
    result: Capacity,
    secrets: &Secrets,
) -> (Capacity, Result<(), ReportError>) {
    let result = capacity::conclude(result);
    let written = report::write_all(out, &result, secrets);
    if !console.quiet() {
        let _ = writeln!(console.out, "\n{}", report::verdict(&result));
    }
    (result, written)
}

fn exit_of(result: &Capacity) -> Exit {
    match result.exit_status {
        0 => Exit::Passed,
        1 => Exit::Failed,
        _ => Exit::Harness,
    }
}

/// `merge` of capacity searches' directories (see `capacity::merge`): every step all inputs ran
/// merged and judged on the merged data, written under `OUT/step-NN-<load>/`, then the whole
/// fleet's search concluded and reported as a single process's (table, `capacity.json`,
/// `capacity.txt`, `report.html`, `junit.xml`). Exit codes as `capacity`'s.
pub fn merge(console: &mut Console, c: &MergeConfig) -> Result<Exit, AppError> {
    if c.baseline.is_some() {
        return Err(AppError::Capacity(CapacityError::MergeBaseline));
    }
    if !c.dirs.iter().all(|d| cap_merge::is_search(d)) {
        return Err(AppError::Capacity(CapacityError::MergeMixed));
    }
    let mut inputs = Vec::with_capacity(c.dirs.len());
    for d in &c.dirs {
        inputs.push((d.clone(), cap_merge::read(d).map_err(AppError::Capacity)?));
    }
    let (steps, left_out) = cap_merge::steps(&inputs).map_err(AppError::Capacity)?;
    for name in &left_out {
        let _ = writeln!(
            console.err,
            "warning: {name} was not run by every input: not merged (did a shard stop early?)"
        );
    }
    let mut result = cap_merge::frame(&inputs);
    // The inputs were masked when written; nothing else is known to hide.
    let secrets = Secrets::default();
    if !console.quiet() {
        let _ = writeln!(console.out, "{}", report::table_head(result.by));
    }
    for step in steps {
        let step_error = |source| {
            AppError::Capacity(CapacityError::MergeStep {
                step: step.name.clone(),
                source: Box::new(source),
            })
        };
        let mut files = Vec::with_capacity(step.dirs.len());
        for d in &step.dirs {
            files.push((d.clone(), run_merge::read(d).map_err(step_error)?));
        }
        let outcome = run_merge::outcome(&files).map_err(step_error)?;
        let dir = c.out.join(&step.name);
        crate::report::write_all(&dir, &outcome, &secrets).map_err(AppError::Report)?;
        let interrupted = outcome
            .meta
            .interrupted
            .then(|| outcome.meta.interrupted_by.clone())
            .map(|by| by.unwrap_or_else(|| "an input was interrupted".into()));
        let s = capacity::step_result(step.load, &outcome, interrupted.as_deref(), &dir);
        if !console.quiet() {
            let _ = writeln!(console.out, "{}", report::table_row(&s));
        }
        result.steps.push(s);
    }
    let (result, written) = conclude_and_write(console, &c.out, result, &secrets);
    written.map_err(AppError::Report)?;
    if !console.quiet() {
        let _ = writeln!(
            console.err,
            "merged {} capacity searches into {}",
            inputs.len(),
            c.out.display()
        );
    }
    Ok(exit_of(&result))
}
