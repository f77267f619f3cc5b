//! `merge` of capacity searches: the directories of `capacity --shard I/N` (each holds
//! `capacity.json` and a `step-NN-<load>/` report per step) become one search of the whole
//! fleet.
//!
//! Every step the shards all ran is merged as `merge` merges a sharded run (`report::merge`:
//! histograms added, so its percentiles are those of every sample together, never averages of
//! percentiles; the thresholds judged again on the merged data), then the search is concluded
//! as a single process's would be: capacity, knee, exit status, the same reports.
//!
//! Pure: which step directories go together, and the merged search's frame. The command
//! (`app::capacity::merge`) reads, merges, writes and prints.

use std::path::{Path, PathBuf};

use super::{Capacity, CapacityError, label};

/// Whether `dir` holds a capacity search (its `capacity.json`).
pub fn is_search(dir: &Path) -> bool {
    dir.join("capacity.json").is_file()
}

/// Reads `DIR/capacity.json`.
pub fn read(dir: &Path) -> Result<Capacity, CapacityError> {
    let path = dir.join("capacity.json");
    let unreadable = |detail: String| CapacityError::MergeUnreadable {
        path: path.clone(),
        detail,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))
}

/// One step to merge: its directory name, its load and each input's report of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInputs {
    pub name: String,
    pub load: f64,
    pub dirs: Vec<PathBuf>,
}

/// The steps to merge, lightest first: those every input ran (a shard stops with the others,
/// so they differ only when one vanished). Also the names of steps some input ran and another
/// did not (not merged, for a warning). `Err` when the inputs are not one search's shards.
pub fn steps(
    inputs: &[(PathBuf, Capacity)],
) -> Result<(Vec<StepInputs>, Vec<String>), CapacityError> {
    let Some(((first_path, first), rest)) = inputs.split_first() else {
        return Err(CapacityError::MergeNothing);
    };
    for (path, c) in rest {
        let differs = |what: &str, theirs: String, ours: String| CapacityError::MergeDiffers {
            path: path.clone(),
            what: format!("{what} `{theirs}`, {} `{ours}`", first_path.display()),
        };
        if c.suite != first.suite {
            return Err(differs("suite", c.suite.clone(), first.suite.clone()));
        }
        if c.by != first.by {
            return Err(differs("search by", c.unit.clone(), first.unit.clone()));
        }
        if c.step_duration_s != first.step_duration_s {
            return Err(differs(
                "step duration (s)",
                c.step_duration_s.to_string(),
                first.step_duration_s.to_string(),
            ));
        }
        let loads = |c: &Capacity| c.steps.iter().map(|s| label(s.load)).collect::<Vec<_>>();
        let (theirs, ours) = (loads(c), loads(first));
        if !theirs.iter().zip(&ours).all(|(a, b)| a == b) {
            return Err(differs("steps", theirs.join(", "), ours.join(", ")));
        }
    }
    let common = inputs.iter().map(|(_, c)| c.steps.len()).min().unwrap_or(0);
    let most = inputs.iter().map(|(_, c)| c.steps.len()).max().unwrap_or(0);
    let name = |s: &super::StepResult| {
        s.report
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let merged = (0..common)
        .map(|i| {
            let step = &first.steps[i];
            StepInputs {
                name: name(step),
                load: step.load,
                // Each input's own copy of the step, wherever its directory now is.
                dirs: inputs
                    .iter()
                    .map(|(dir, c)| dir.join(name(&c.steps[i])))
                    .collect(),
            }
        })
        .collect();
    let longest = inputs
        .iter()
        .map(|(_, c)| c)
        .find(|c| c.steps.len() == most)
        .unwrap_or(first);
    let left_out = longest.steps[common..].iter().map(name).collect();
    Ok((merged, left_out))
}

/// The merged search before its steps: the first input's suite, target, bounds and
/// `--require`, every input's shards, no verdict yet.
pub fn frame(inputs: &[(PathBuf, Capacity)]) -> Capacity {
    let mut shards: Vec<_> = inputs.iter().flat_map(|(_, c)| c.shards.clone()).collect();
    shards.sort_by_key(|s| (s.count, s.index));
    shards.dedup();
    let mut targets: Vec<String> = Vec::new();
    for (_, c) in inputs {
        if !targets.contains(&c.target) {
            targets.push(c.target.clone());
        }
    }
    let first = inputs.first().map(|(_, c)| c);
    Capacity {
        suite: first.map(|c| c.suite.clone()).unwrap_or_default(),
        target: targets.join(", "),
        by: first.map_or(super::By::Agents, |c| c.by),
        unit: first.map(|c| c.unit.clone()).unwrap_or_default(),
        step_duration_s: first.map_or(0.0, |c| c.step_duration_s),
        steps: Vec::new(),
        capacity: None,
        knee: None,
        knee_reason: None,
        require: first.and_then(|c| c.require),
        exit_status: 0,
        shards,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{By, StepResult};
    use crate::suite::plan::Shard;

    fn search(shard: u32, loads: &[f64]) -> (PathBuf, Capacity) {
        let steps = loads
            .iter()
            .enumerate()
            .map(|(i, &load)| StepResult {
                load,
                requests: 1,
                throughput_rps: 1.0,
                p50_ms: 1.0,
                p95_ms: 1.0,
                p99_ms: 1.0,
                error_rate: 0.0,
                held: true,
                broke: vec![],
                harness_error: None,
                report: PathBuf::from(format!("/elsewhere/step-{:02}-{}", i + 1, label(load))),
            })
            .collect();
        (
            PathBuf::from(format!("shard-{shard}")),
            Capacity {
                suite: "s".into(),
                target: "http://t".into(),
                by: By::Agents,
                unit: "agents".into(),
                step_duration_s: 3.0,
                steps,
                capacity: None,
                knee: None,
                knee_reason: None,
                require: Some(4.0),
                exit_status: 0,
                shards: vec![Shard {
                    index: shard,
                    count: 2,
                }],
            },
        )
    }

    #[test]
    fn the_steps_every_shard_ran_are_merged_from_each_shards_directory() {
        let inputs = [search(2, &[2.0, 4.0]), search(1, &[2.0, 4.0, 6.0])];
        let (steps, left_out) = steps(&inputs).expect("one search");
        assert_eq!(
            steps,
            [
                StepInputs {
                    name: "step-01-2".into(),
                    load: 2.0,
                    dirs: vec!["shard-2/step-01-2".into(), "shard-1/step-01-2".into()],
                },
                StepInputs {
                    name: "step-02-4".into(),
                    load: 4.0,
                    dirs: vec!["shard-2/step-02-4".into(), "shard-1/step-02-4".into()],
                },
            ]
        );
        assert_eq!(left_out, ["step-03-6"]);
        let f = frame(&inputs);
        assert_eq!(f.require, Some(4.0));
        assert_eq!(
            f.shards.iter().map(Shard::to_string).collect::<Vec<_>>(),
            ["1/2", "2/2"]
        );
        assert_eq!(f.target, "http://t");
    }

    #[test]
    fn searches_that_do_not_belong_together_are_refused() {
        let mut other = search(2, &[2.0, 5.0]);
        let e = steps(&[search(1, &[2.0, 4.0]), other.clone()]).expect_err("steps differ");
        assert_eq!(
            e.to_string(),
            "shard-2 has steps `2, 5`, shard-1 `2, 4`: merge the shards of one search"
        );
        other.1.suite = "t".into();
        let e = steps(&[search(1, &[2.0]), other]).expect_err("suites differ");
        assert!(
            e.to_string()
                .starts_with("shard-2 has suite `t`, shard-1 `s`"),
            "{e}"
        );
        assert!(matches!(steps(&[]), Err(CapacityError::MergeNothing)));
    }
}
