//! Capacity over shards: `capacity SUITE --shard I/N --rendezvous DIR`.
//!
//! The N shards step in lockstep through the shared directory. Each step is a meeting of its
//! own (`DIR/step-NN-shard-I-of-N.json`, see `runner::rendezvous`), so every shard enters the
//! step at the same instant and runs its share of the step's agents. When the step ends, each
//! shard posts its verdict (`DIR/step-NN-verdict-shard-I-of-N.json`) and gathers the others';
//! all N read the same files, so all decide alike: go on while every shard held, stop after the
//! first step that broke on any of them. A shard that posts no verdict within the rendezvous
//! timeout (it vanished) stops the others with a harness error naming it (exit 3).
//!
//! Each shard's own `capacity.json` is the fleet's lockstep view (another shard's failure marks
//! the step broken here too); `merge` of the shards' directories judges every step again on the
//! merged data (see [`super::merge`]).

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::StepResult;
use crate::report::Secrets;
use crate::runner::rendezvous::{Barrier, RendezvousError, Start, Wait, stop_on_signals};
use crate::suite::plan::Shard;

/// One shard's verdict of one step, as posted to the directory: its own figures and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepVerdict {
    pub suite: String,
    pub shard: Shard,
    pub step: StepResult,
}

/// The shared directory of a sharded search: a template of every step's meeting.
#[derive(Debug, Clone)]
pub struct Lockstep {
    /// The directory, this shard, the suite and the timeout (its `name` is replaced per step).
    pub barrier: Barrier,
}

/// The meeting of step `i` (0-based): `step-01`, `step-02`, …
pub fn step_name(i: usize) -> String {
    format!("step-{:02}", i + 1)
}

impl Lockstep {
    /// This shard.
    pub fn shard(&self) -> Shard {
        self.barrier.shard
    }

    /// When step `i`'s load starts: at its meeting of all N shards.
    pub fn start(&self, i: usize) -> Start {
        Start::Rendezvous(Barrier {
            name: step_name(i),
            ..self.barrier.clone()
        })
    }

    /// Posts this shard's verdict of step `i`, then (when it held here: a shard whose step broke
    /// stops anyway) waits for every shard's and judges the step by them all (see [`judge`]).
    /// Bounded by the rendezvous timeout and interruptible by Ctrl-C and SIGTERM; a verdict
    /// that never comes makes the step's harness error (see [`unjudged`]).
    pub async fn decide(&self, i: usize, step: &mut StepResult, secrets: &Secrets) {
        if let Err(e) = self.post(i, step, secrets) {
            return unjudged(step, &e);
        }
        if !step.held {
            return;
        }
        match self.verdicts(i).await {
            Ok(all) => judge(step, self.shard(), &all),
            Err(e) => unjudged(step, &e),
        }
    }

    fn verdict_name(i: usize) -> String {
        format!("{}-verdict", step_name(i))
    }

    /// Writes this shard's verdict of step `i` to the directory, its free text masked.
    pub fn post(
        &self,
        i: usize,
        step: &StepResult,
        secrets: &Secrets,
    ) -> Result<(), RendezvousError> {
        let mut step = step.clone();
        step.broke.iter_mut().for_each(|b| secrets.mask_in_place(b));
        if let Some(e) = &mut step.harness_error {
            secrets.mask_in_place(e);
        }
        let mine = StepVerdict {
            suite: self.barrier.suite.clone(),
            shard: self.barrier.shard,
            step,
        };
        self.barrier.post(&Self::verdict_name(i), &mine)
    }

    /// Every shard's verdict of step `i`, once all are there (bounded, interruptible).
    pub async fn verdicts(&self, i: usize) -> Result<Vec<StepVerdict>, RendezvousError> {
        let stop = CancellationToken::new();
        let signals = stop_on_signals(stop.clone());
        let all = self
            .barrier
            .gather(&Self::verdict_name(i), Wait::Verdict(step_name(i)), &stop)
            .await;
        signals.abort();
        all
    }
}

/// This shard's step as the fleet judged it: the other shards' failures join its own, each
/// named by its shard (a step another shard could not run is not run here either).
pub fn judge(step: &mut StepResult, me: Shard, all: &[StepVerdict]) {
    for v in all.iter().filter(|v| v.shard != me) {
        step.broke.extend(
            v.step
                .broke
                .iter()
                .map(|b| format!("shard {}: {b}", v.shard)),
        );
        if step.harness_error.is_none()
            && let Some(e) = &v.step.harness_error
        {
            step.harness_error = Some(format!("shard {}: {e}", v.shard));
        }
    }
    step.held = step.broke.is_empty() && step.harness_error.is_none();
}

/// The step unjudged because the fleet's verdict never came: `why` is its harness error
/// (unless it already had one).
pub fn unjudged(step: &mut StepResult, why: &RendezvousError) {
    if step.harness_error.is_none() {
        step.harness_error = Some(format!("the fleet's verdict is unknown: {why}"));
    }
    step.held = false;
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn shard(index: u32) -> Shard {
        Shard { index, count: 2 }
    }

    fn step(held: bool) -> StepResult {
        crate::capacity::tests::step(8.0, 2.0, 5.0, held)
    }

    fn verdict(of: Shard, s: &StepResult) -> StepVerdict {
        StepVerdict {
            suite: "s".into(),
            shard: of,
            step: s.clone(),
        }
    }

    #[test]
    fn a_step_that_broke_on_another_shard_broke_here_too() {
        let mut mine = step(true);
        let all = [verdict(shard(1), &mine), verdict(shard(2), &step(false))];
        judge(&mut mine, shard(1), &all);
        assert!(!mine.held);
        assert_eq!(mine.broke, ["shard 2/2: p95 < 100ms: 300 ms"]);
        assert_eq!(mine.harness_error, None);

        let mut held = step(true);
        let all = [verdict(shard(1), &held), verdict(shard(2), &step(true))];
        judge(&mut held, shard(1), &all);
        assert!(held.held && held.broke.is_empty());
    }

    #[test]
    fn a_step_another_shard_could_not_run_is_not_run_here() {
        let mut mine = step(true);
        let mut theirs = step(true);
        theirs.harness_error = Some("target not usable at start".into());
        let all = [verdict(shard(1), &mine), verdict(shard(2), &theirs)];
        judge(&mut mine, shard(1), &all);
        assert!(!mine.held);
        assert_eq!(
            mine.harness_error.as_deref(),
            Some("shard 2/2: target not usable at start")
        );
    }

    #[tokio::test]
    async fn every_shard_reads_every_verdict_and_a_silent_one_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let lockstep = |index, timeout_ms| Lockstep {
            barrier: Barrier {
                dir: dir.path().to_path_buf(),
                name: String::new(),
                shard: shard(index),
                suite: "s".into(),
                timeout: Duration::from_millis(timeout_ms),
            },
        };
        let (one, two) = (lockstep(1, 5_000), lockstep(2, 5_000));
        let (mut held, mut broke) = (step(true), step(false));
        let none = Secrets::default();
        tokio::join!(one.decide(2, &mut held, &none), async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            two.decide(2, &mut broke, &none).await
        });
        assert!(!held.held, "shard 2 broke the step: {held:?}");
        assert_eq!(held.broke, ["shard 2/2: p95 < 100ms: 300 ms"]);
        assert_eq!(broke.broke, ["p95 < 100ms: 300 ms"]);
        assert!(
            dir.path()
                .join("step-03-verdict-shard-2-of-2.json")
                .exists()
        );
        let a = one.verdicts(2).await.expect("both posted");
        assert_eq!(a, two.verdicts(2).await.expect("both posted"));
        assert_eq!(
            a.iter().map(|v| v.step.held).collect::<Vec<_>>(),
            [true, false]
        );

        let silent = lockstep(1, 200);
        let mut leaky = step(true);
        leaky.harness_error = Some("token refused for client secret s3cr3t-v4lue".into());
        silent
            .post(3, &leaky, &Secrets::new(["s3cr3t-v4lue"]))
            .expect("posted");
        let posted = std::fs::read_to_string(dir.path().join("step-04-verdict-shard-1-of-2.json"))
            .expect("posted");
        assert!(
            !posted.contains("s3cr3t") && posted.contains("****"),
            "{posted}"
        );
        let e = silent.verdicts(3).await.expect_err("shard 2 never posts");
        assert_eq!(
            e.to_string(),
            format!(
                "rendezvous in {}: shard 2/2 posted no verdict of step-04 within 0.2 s \
                 (posted: 1/2)",
                dir.path().display()
            )
        );
        let mut s = step(true);
        silent.decide(3, &mut s, &none).await;
        assert!(!s.held);
        assert!(
            s.harness_error
                .as_deref()
                .is_some_and(|h| h.starts_with("the fleet's verdict is unknown: rendezvous in")),
            "{:?}",
            s.harness_error
        );
    }

    #[test]
    fn each_step_meets_under_its_own_name() {
        let l = Lockstep {
            barrier: Barrier {
                dir: PathBuf::from("meet"),
                name: String::new(),
                shard: shard(2),
                suite: "s".into(),
                timeout: Duration::from_secs(1),
            },
        };
        match l.start(11) {
            Start::Rendezvous(b) => {
                assert_eq!(b.name, "step-12");
                assert_eq!(b.shard, shard(2));
            }
            other => panic!("{other:?}"),
        }
    }
}
