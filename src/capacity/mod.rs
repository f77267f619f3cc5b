//! `aeapi-harness capacity SUITE`: a step search for the largest load a target sustains.
//!
//! Each step is a whole run of the suite (a fresh embedded simulator per step when the target is
//! embedded) at one load: `--by agents` sets the fleet size, `--by arrival` the customer arrival
//! rate. Steps go from `--from` up by `--step` to `--to`, each for `--step-duration`, and the
//! search stops at the first step that breaks a threshold or a check (a contract broken under
//! load is a limit too), or is cut short. The capacity is the largest step that held; the knee is
//! the last step before latency or throughput bends (see [`knee`]).
//!
//! Every step keeps its full report under `OUT/step-NN-<load>/`; `OUT` gets `capacity.json`,
//! `capacity.txt`, `report.html` (p95/p99, error rate and throughput against load) and
//! `junit.xml` (a case per step, and one for `--require`).
//!
//! Sharded (`--shard I/N --rendezvous DIR`), N processes step in lockstep, each running its
//! share of every step's agents, and stop together (see [`lockstep`]); `merge` of their
//! directories judges every step on the merged data (see [`merge`]).
//!
//! Here: the search's plan ([`CapacityPlan`], every step resolved before anything is sent), each
//! step's figures and the verdict. The command (`app::capacity`) runs the steps.
//!
//! Exit codes: 0 a step held (and the capacity meets `--require`), 1 no step held or the
//! capacity is below `--require`, 2 bad flags or suite, 3 a step could not run or was cut short
//! (reports are written all the same).

pub mod lockstep;
pub mod merge;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::exit::Exit;
use crate::report::Outcome;
use crate::runner::RunError;
use crate::runner::plan::RunPlan;
use crate::suite::LoadedSuite;
use crate::suite::model::Target;
use crate::suite::plan::{self, Overrides, PlanError};
use crate::suite::values::Rate;

/// What the search varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// Agents online at once.
    Agents,
    /// Customers arriving per second (the embedded simulator's generator, and the harness's own
    /// customers when the suite has `load.customers`).
    Arrival,
}

impl By {
    /// The unit of a load value, for tables and charts.
    pub fn unit(self) -> &'static str {
        match self {
            By::Agents => "agents",
            By::Arrival => "customers/s",
        }
    }
}

/// The search's bounds.
#[derive(Debug, Clone)]
pub struct Search {
    pub by: By,
    pub from: f64,
    pub to: f64,
    pub step: f64,
    pub step_duration: Duration,
    /// Fail (exit 1) when the capacity found is below this load.
    pub require: Option<f64>,
}

/// Why a search cannot be planned (a usage error, exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    #[error(
        "capacity: need 0 < --from <= --to and --step > 0 (got --from {from} --to {to} --step \
         {step})"
    )]
    Bounds { from: f64, to: f64, step: f64 },
    #[error("capacity --by agents: --from, --to and --step are whole agents")]
    WholeAgents,
    #[error(
        "capacity: {n} steps from {from} to {to} by {step}; at most {MAX_STEPS} (raise --step)"
    )]
    TooManySteps {
        n: usize,
        from: f64,
        to: f64,
        step: f64,
    },
    #[error(
        "capacity --by arrival against a remote target needs `load.customers` (the harness's \
         own customers) in the suite"
    )]
    ArrivalNeedsCustomers,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{}: cannot read this capacity search: {detail}", path.display())]
    MergeUnreadable { path: PathBuf, detail: String },
    #[error("nothing to merge")]
    MergeNothing,
    #[error("the inputs mix capacity searches and runs: merge the shards of one search, or runs")]
    MergeMixed,
    #[error("merge --baseline compares runs; capacity searches have no baseline")]
    MergeBaseline,
    /// `what`: what differs, e.g. ``steps `2, 5`, shard-1 `2, 4` ``.
    #[error("{} has {what}: merge the shards of one search", path.display())]
    MergeDiffers { path: PathBuf, what: String },
    #[error("{step}: {source}")]
    MergeStep {
        step: String,
        source: Box<crate::report::merge::MergeError>,
    },
}

/// The most steps one search may take.
pub const MAX_STEPS: usize = 100;

impl Search {
    /// The loads of every step, `from` up by `step` to `to` (inclusive). `Err` for bounds that
    /// make no search (a usage error).
    pub fn loads(&self) -> Result<Vec<f64>, CapacityError> {
        let Search { from, to, step, .. } = *self;
        if !(from > 0.0 && step > 0.0 && to >= from && from.is_finite() && to.is_finite()) {
            return Err(CapacityError::Bounds { from, to, step });
        }
        if self.by == By::Agents && [from, to, step].iter().any(|v| v.fract() != 0.0) {
            return Err(CapacityError::WholeAgents);
        }
        let n = ((to - from) / step + 1e-9).floor() as usize + 1;
        if n > MAX_STEPS {
            return Err(CapacityError::TooManySteps { n, from, to, step });
        }
        Ok((0..n).map(|i| from + step * i as f64).collect())
    }
}

/// One step's figures (all operations but long-poll holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The step's load (agents, or customers per second).
    pub load: f64,
    pub requests: u64,
    pub throughput_rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
    /// Every threshold passed and no check failed, and the step ran to its end.
    pub held: bool,
    /// What broke: failed thresholds (`rule: measured`) and checks (`check op: n failed`).
    pub broke: Vec<String>,
    /// Why the step could not run or was cut short.
    pub harness_error: Option<String>,
    /// The step's own report directory.
    pub report: PathBuf,
}

/// The search's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub suite: String,
    pub target: String,
    pub by: By,
    pub unit: String,
    pub step_duration_s: f64,
    pub steps: Vec<StepResult>,
    /// The largest load that held, when one did (every lighter step held too).
    pub capacity: Option<f64>,
    /// The last load before latency or throughput bent, when a later step bent.
    pub knee: Option<f64>,
    /// Why the knee is there, for people.
    pub knee_reason: Option<String>,
    pub require: Option<f64>,
    /// The exit status (0, 1 or 3).
    pub exit_status: u8,
    /// A sharded search: this shard (each shard's own report) or every shard (merged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<crate::suite::plan::Shard>,
}

/// The knee: the last step before the first that bends, where a step bends when its p95 is more
/// than twice the lightest step's, or (by agents) its throughput per agent falls below 80% of
/// the lightest step's: the target stops keeping up. (By arrival rate, throughput is mostly the
/// agents' own polling and does not grow in proportion, so only latency counts.) Steps that did
/// not run to their end are ignored. Returns the knee's load and why.
pub fn knee(by: By, steps: &[StepResult]) -> Option<(f64, String)> {
    let ran: Vec<&StepResult> = steps.iter().filter(|s| s.harness_error.is_none()).collect();
    let first = ran.first()?;
    let efficiency = |s: &StepResult| s.throughput_rps / s.load;
    for pair in ran.windows(2) {
        let (before, s) = (pair[0], pair[1]);
        if first.p95_ms > 0.0 && s.p95_ms > 2.0 * first.p95_ms {
            return Some((
                before.load,
                format!(
                    "p95 {:.2} ms at {} is {:.1}× the {:.2} ms at {}",
                    s.p95_ms,
                    s.load,
                    s.p95_ms / first.p95_ms,
                    first.p95_ms,
                    first.load
                ),
            ));
        }
        if by == By::Agents && efficiency(first) > 0.0 && efficiency(s) < 0.8 * efficiency(first) {
            return Some((
                before.load,
                format!(
                    "throughput per agent at {} is {:.0}% of that at {}",
                    s.load,
                    100.0 * efficiency(s) / efficiency(first),
                    first.load
                ),
            ));
        }
    }
    None
}

/// A step's figures from its outcome.
pub fn step_result(
    load: f64,
    outcome: &Outcome,
    interrupted: Option<&str>,
    dir: &Path,
) -> StepResult {
    let summary = crate::report::summary::build(outcome);
    let t = &summary.totals;
    let mut broke: Vec<String> = outcome
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("{}: {}", v.source, v.measured_display))
        .collect();
    broke.extend(
        summary
            .checks
            .iter()
            .filter(|c| c.failed > 0)
            .map(|c| format!("{} {}: {} failed", c.check, c.op, c.failed)),
    );
    let harness_error = match (&outcome.meta.harness_error, interrupted) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(why)) => Some(format!("cut short: {why}")),
        (None, None) => None,
    };
    StepResult {
        load,
        requests: t.count,
        throughput_rps: t.throughput_rps,
        p50_ms: t.latency_ms.raw.p50,
        p95_ms: t.latency_ms.raw.p95,
        p99_ms: t.latency_ms.raw.p99,
        error_rate: t.error_rate,
        held: broke.is_empty() && harness_error.is_none(),
        broke,
        harness_error,
        report: dir.to_path_buf(),
    }
}

/// The verdict of a finished search: capacity, knee, exit status.
pub fn conclude(mut c: Capacity) -> Capacity {
    // The capacity is the last step of the unbroken run of held steps from the lightest.
    c.capacity = c.steps.iter().take_while(|s| s.held).last().map(|s| s.load);
    match knee(c.by, &c.steps) {
        Some((load, why)) => {
            c.knee = Some(load);
            c.knee_reason = Some(why);
        }
        None => {
            c.knee = None;
            c.knee_reason = None;
        }
    }
    // The search ended at a step that could not run or was cut short (its thresholds, judged on
    // what little it gathered, say nothing of the target): no limit was found there.
    let cut_short = c
        .steps
        .iter()
        .find(|s| !s.held)
        .is_some_and(|s| s.harness_error.is_some());
    let below = match (c.capacity, c.require) {
        (None, _) => true,
        (Some(cap), Some(req)) => cap < req,
        (Some(_), None) => false,
    };
    c.exit_status = if cut_short {
        Exit::Harness.code()
    } else if below {
        Exit::Failed.code()
    } else {
        Exit::Passed.code()
    };
    c
}

/// The suite at one step's load: a flat load (the search's steps replace `load.steps`; the
/// ramp stays), at `load` agents or customers per second (then with the suite's peak fleet).
fn at_load(loaded: &LoadedSuite, by: By, load: f64) -> LoadedSuite {
    let mut s = loaded.clone();
    let steps = std::mem::take(&mut s.suite.load.steps);
    if let Some(peak) = steps.iter().map(|st| st.agents).max() {
        // By arrival rate the fleet stays the suite's peak (by agents, the step sets it).
        s.suite.load.agents = peak;
    }
    if by == By::Arrival {
        let l = &mut s.suite.load;
        l.arrival_rate = Some(Rate { per_second: load });
        if let Some(c) = &mut l.customers {
            c.rate = Rate { per_second: load };
        }
    }
    s
}

/// A planned search: every step's resolved plan, checked before anything is sent.
pub struct CapacityPlan {
    pub suite: String,
    pub search: Search,
    /// The search's report directory (each step reports in a `step-NN-<load>/` under it).
    pub out: PathBuf,
    /// (load, its resolved plan) per step, lightest first.
    pub steps: Vec<(f64, RunPlan)>,
    /// A sharded search's shared directory: each step starts at a meeting of the shards.
    pub lockstep: Option<lockstep::Lockstep>,
}

impl CapacityPlan {
    /// Plans every step of `search` on `loaded` with `overrides` (target and seed; the search
    /// sets agents and duration), reporting under `out`. With `lockstep`, each step runs this
    /// shard's share of its agents, from the step's meeting of all shards.
    pub fn build(
        loaded: &LoadedSuite,
        overrides: &Overrides,
        search: Search,
        out: PathBuf,
        lockstep: Option<lockstep::Lockstep>,
    ) -> Result<CapacityPlan, CapacityError> {
        let loads = search.loads()?;
        // Either the suite's target or `--target embedded` starts the simulator's generator.
        let embedded = matches!(loaded.suite.target, Target::Embedded)
            || matches!(overrides.target, Some(Target::Embedded));
        if search.by == By::Arrival && !embedded && loaded.suite.load.customers.is_none() {
            return Err(CapacityError::ArrivalNeedsCustomers);
        }
        let mut steps = Vec::with_capacity(loads.len());
        for (i, &load) in loads.iter().enumerate() {
            let overrides = Overrides {
                agents: (search.by == By::Agents).then_some(load as u32),
                duration: Some(search.step_duration),
                shard: lockstep.as_ref().map(lockstep::Lockstep::shard),
                ..overrides.clone()
            };
            let dir = out.join(format!("step-{:02}-{}", i + 1, label(load)));
            let p = plan::plan(at_load(loaded, search.by, load), &overrides, dir)?;
            let mut rp = RunPlan::build(&p)?;
            if let Some(l) = &lockstep {
                rp.start = l.start(i);
            }
            steps.push((load, rp));
        }
        Ok(CapacityPlan {
            suite: loaded.suite.name.clone(),
            search,
            out,
            steps,
            lockstep,
        })
    }

    /// The search before its first step: no step yet, no verdict.
    pub fn start(&self) -> Capacity {
        Capacity {
            suite: self.suite.clone(),
            target: self
                .steps
                .first()
                .map(|(_, rp)| rp.target.label())
                .unwrap_or_default(),
            by: self.search.by,
            unit: self.search.by.unit().into(),
            step_duration_s: self.search.step_duration.as_secs_f64(),
            steps: Vec::new(),
            capacity: None,
            knee: None,
            knee_reason: None,
            require: self.search.require,
            exit_status: 0,
            shards: self
                .lockstep
                .iter()
                .map(lockstep::Lockstep::shard)
                .collect(),
        }
    }
}

/// A load as a directory-name part: `12` or `2.5`.
pub fn label(load: f64) -> String {
    let s = format!("{load:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step of `load` with these figures; one that did not hold broke `p95 < 100ms`.
    pub(super) fn step(load: f64, p95: f64, rps: f64, held: bool) -> StepResult {
        StepResult {
            load,
            requests: 100,
            throughput_rps: rps,
            p50_ms: p95 / 2.0,
            p95_ms: p95,
            p99_ms: p95 * 1.5,
            error_rate: 0.0,
            held,
            broke: if held {
                vec![]
            } else {
                vec!["p95 < 100ms: 300 ms".into()]
            },
            harness_error: None,
            report: PathBuf::from("r"),
        }
    }

    fn search(from: f64, to: f64, step: f64) -> Search {
        Search {
            by: By::Agents,
            from,
            to,
            step,
            step_duration: Duration::from_secs(5),
            require: None,
        }
    }

    fn capacity(steps: Vec<StepResult>, require: Option<f64>) -> Capacity {
        conclude(Capacity {
            suite: "s".into(),
            target: "t".into(),
            by: By::Agents,
            unit: "agents".into(),
            step_duration_s: 5.0,
            steps,
            capacity: None,
            knee: None,
            knee_reason: None,
            require,
            exit_status: 9,
            shards: Vec::new(),
        })
    }

    #[test]
    fn loads_go_from_to_by_step_inclusive_and_bounded() {
        assert_eq!(
            search(2.0, 10.0, 2.0).loads().unwrap(),
            [2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(search(5.0, 12.0, 5.0).loads().unwrap(), [5.0, 10.0]);
        let mut s = search(0.5, 1.5, 0.5);
        s.by = By::Arrival;
        assert_eq!(s.loads().unwrap(), [0.5, 1.0, 1.5]);
        assert!(
            search(0.5, 1.5, 0.5)
                .loads()
                .unwrap_err()
                .to_string()
                .contains("whole agents")
        );
        assert!(
            search(4.0, 2.0, 1.0)
                .loads()
                .unwrap_err()
                .to_string()
                .contains("--from <= --to")
        );
        assert!(
            search(1.0, 1000.0, 1.0)
                .loads()
                .unwrap_err()
                .to_string()
                .contains("at most 100")
        );
    }

    #[test]
    fn capacity_is_the_last_held_step_and_the_knee_where_latency_bends() {
        let c = capacity(
            vec![
                step(2.0, 10.0, 20.0, true),
                step(4.0, 11.0, 40.0, true),
                step(6.0, 12.0, 60.0, true),
                step(8.0, 310.0, 30.0, false),
            ],
            None,
        );
        assert_eq!(c.capacity, Some(6.0));
        assert_eq!(c.knee, Some(6.0));
        assert!(
            c.knee_reason
                .as_deref()
                .unwrap()
                .starts_with("p95 310.00 ms at 8 is 31.0×"),
            "{:?}",
            c.knee_reason
        );
        assert_eq!(c.exit_status, 0);
        assert_eq!(capacity(c.steps.clone(), Some(8.0)).exit_status, 1);
        assert_eq!(capacity(c.steps[3..].to_vec(), None).exit_status, 1);
    }

    #[test]
    fn throughput_that_stops_growing_is_a_knee_too() {
        let c = capacity(
            vec![
                step(10.0, 5.0, 100.0, true),
                step(20.0, 6.0, 190.0, true),
                step(30.0, 7.0, 200.0, true),
            ],
            None,
        );
        assert_eq!(c.capacity, Some(30.0));
        assert_eq!(c.knee, Some(20.0));
        assert!(
            c.knee_reason
                .as_deref()
                .unwrap()
                .contains("67% of that at 10")
        );
        // By arrival rate, throughput is mostly the agents' polling: only latency makes a knee.
        let by_arrival = Capacity {
            by: By::Arrival,
            ..c
        };
        assert_eq!(conclude(by_arrival).knee, None);
    }

    #[test]
    fn each_step_is_a_flat_load_at_its_agents_or_arrival_rate() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/smoke.yaml");
        let mut loaded = crate::suite::load(&path).unwrap();
        loaded.suite.load.steps = vec![crate::suite::model::Step {
            agents: 30,
            duration: crate::suite::values::HumanDuration(Duration::from_secs(10)),
            arrival_rate: None,
            personas: None,
        }];
        let s = at_load(&loaded, By::Arrival, 2.5);
        assert!(s.suite.load.steps.is_empty());
        assert_eq!(s.suite.load.agents, 30);
        assert_eq!(s.suite.load.arrival_rate.map(|r| r.per_second), Some(2.5));
        let overrides = Overrides {
            agents: Some(12),
            duration: Some(Duration::from_secs(5)),
            ..Overrides::default()
        };
        let p = plan::plan(at_load(&loaded, By::Agents, 12.0), &overrides, "x".into()).unwrap();
        assert_eq!(p.suite.suite.load.peak_agents(), 12);
        assert_eq!(p.suite.agents.len(), 12);
    }

    #[test]
    fn a_step_cut_short_makes_the_search_a_harness_error() {
        let mut s = step(4.0, 10.0, 40.0, false);
        s.broke.clear();
        s.harness_error = Some("cut short: SIGTERM received".into());
        let c = capacity(vec![step(2.0, 10.0, 20.0, true), s.clone()], None);
        assert_eq!(c.capacity, Some(2.0));
        assert_eq!(c.exit_status, 3);
        // Its thresholds judged on no samples do not make it a limit found.
        s.broke = vec!["p95 < 400ms: no samples".into()];
        let c = capacity(vec![step(2.0, 10.0, 20.0, true), s], None);
        assert_eq!(c.exit_status, 3);
    }
}
