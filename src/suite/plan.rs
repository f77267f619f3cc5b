//! The suite plan: a loaded suite with the command line's overrides applied (fleet size,
//! duration, seed, target, shard). `run --dry-run` and `-v` print it; `runner::plan` resolves it
//! (secrets, credentials, simulator settings) into the plan that `run`, `conform` and `capacity`
//! execute.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::load::LoadedSuite;
use super::model::{StatusSet, Step, Target};
use super::values::HumanDuration;

/// Command-line overrides of a suite.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub target: Option<Target>,
    pub agents: Option<u32>,
    pub duration: Option<Duration>,
    pub seed: Option<u64>,
    /// `run --shard I/N`.
    pub shard: Option<Shard>,
}

/// A persona's share of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetShare {
    pub persona: String,
    pub weight: u32,
    /// weight / total weight.
    pub share: f64,
    /// Agents running this persona at peak (largest-remainder split of the peak).
    pub agents: u32,
}

/// What a run will do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub suite: LoadedSuite,
    pub out_dir: PathBuf,
    /// The part of the fleet this process drives, when sharded.
    pub shard: Option<Shard>,
}

/// A flag that does not fit the suite (a usage error, exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("`--agents` and `--duration` apply to a flat load; this suite has `load.steps`")]
    FlatLoadOnly,
    #[error("the agent pool has {pool} credentials but the load needs {peak} agents")]
    PoolTooSmall { pool: usize, peak: u32 },
    #[error(
        "shard {shard} would have no agents: the load has {peak} at peak for {} shards",
        shard.count
    )]
    EmptyShard { shard: Shard, peak: u32 },
    /// Beyond [`MAX_AGENTS`](super::limits::MAX_AGENTS); checked before a pool is generated.
    #[error("{0}")]
    TooManyAgents(super::limits::LimitError),
}

/// A `--shard` value that is not `I/N` with 1 <= I <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a shard: write I/N with 1 <= I <= N, e.g. `2/3`")]
pub struct ShardError(String);

/// Applies overrides to `suite`. Errors are usage errors (a flag that does not fit the suite).
pub fn plan(mut suite: LoadedSuite, o: &Overrides, out_dir: PathBuf) -> Result<Plan, PlanError> {
    let load = &mut suite.suite.load;
    if !load.steps.is_empty() && (o.agents.is_some() || o.duration.is_some()) {
        return Err(PlanError::FlatLoadOnly);
    }
    if let Some(a) = o.agents {
        load.agents = a;
    }
    if let Some(d) = o.duration {
        load.duration = Some(HumanDuration(d));
    }
    if let Some(s) = o.seed {
        load.seed = Some(s);
    }
    if let Some(t) = &o.target {
        suite.suite.target = t.clone();
    }
    let peak = suite.suite.load.peak_agents();
    super::limits::agents("the load", u64::from(peak)).map_err(PlanError::TooManyAgents)?;
    if suite.pool_generated {
        let dev = super::values::SecretRef::literal_dev(super::agents::DEV_AGENT_PASSWORD);
        suite.agents = super::agents::pattern("agent", 1, peak, &dev);
    }
    if suite.agents.len() < peak as usize {
        return Err(PlanError::PoolTooSmall {
            pool: suite.agents.len(),
            peak,
        });
    }
    if let Some(shard) = o.shard {
        apply_shard(&mut suite, shard, peak)?;
    }
    Ok(Plan {
        suite,
        out_dir,
        shard: o.shard,
    })
}

/// `run --shard I/N`: this process is shard I (1-based) of N processes that together drive one
/// fleet, like k6's execution segments. Agent `j` of the fleet (0-based, in pool order) belongs
/// to shard `j mod N + 1`, so every step's agents split exactly and no two shards share a
/// credential; arrival rates split evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Shard {
    /// 1..=count.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// This shard's agents out of a fleet of `total`: those `j < total` with `j mod N = I - 1`.
    pub fn agents(&self, total: u32) -> u32 {
        let first = self.index - 1;
        if total <= first {
            0
        } else {
            (total - first).div_ceil(self.count)
        }
    }

    /// Whether the fleet's agent `j` (0-based) is this shard's.
    pub fn owns(&self, j: usize) -> bool {
        j % self.count as usize == (self.index - 1) as usize
    }

    /// This shard's part of a rate.
    pub fn rate(&self, per_second: f64) -> f64 {
        per_second / f64::from(self.count)
    }

    /// A seed of its own for each shard (the same suite seed gives the same shard seeds).
    pub fn seed(&self, seed: u64) -> u64 {
        seed ^ u64::from(self.index).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl TryFrom<String> for Shard {
    type Error = ShardError;
    fn try_from(s: String) -> Result<Shard, ShardError> {
        s.parse()
    }
}

impl From<Shard> for String {
    fn from(s: Shard) -> String {
        s.to_string()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Cuts the suite's load down to `shard`'s part (see [`Shard`]).
fn apply_shard(suite: &mut LoadedSuite, shard: Shard, peak: u32) -> Result<(), PlanError> {
    let load = &mut suite.suite.load;
    let mine = shard.agents(peak);
    if mine == 0 {
        return Err(PlanError::EmptyShard { shard, peak });
    }
    load.agents = shard.agents(load.agents);
    for step in &mut load.steps {
        step.agents = shard.agents(step.agents);
        if let Some(r) = &mut step.arrival_rate {
            r.per_second = shard.rate(r.per_second);
        }
    }
    if let Some(r) = &mut load.arrival_rate {
        r.per_second = shard.rate(r.per_second);
    }
    if let Some(c) = &mut load.customers {
        c.rate.per_second = shard.rate(c.rate.per_second);
    }
    if let Some(sim) = &mut suite.suite.simulator {
        sim.arrival_rate = shard.rate(sim.arrival_rate);
    }
    load.seed = Some(shard.seed(load.seed.unwrap_or(1)));
    let pool = std::mem::take(&mut suite.agents);
    suite.agents = pool
        .into_iter()
        .take(peak as usize)
        .enumerate()
        .filter(|(j, _)| shard.owns(*j))
        .map(|(_, a)| a)
        .collect();
    Ok(())
}

impl Plan {
    /// Each persona's share of the fleet at peak, in name order.
    pub fn fleet(&self) -> Vec<FleetShare> {
        let personas = &self.suite.suite.personas;
        let total: u64 = personas.values().map(|p| u64::from(p.weight)).sum();
        let peak = u64::from(self.suite.suite.load.peak_agents());
        if total == 0 {
            return Vec::new();
        }
        let mut shares: Vec<(FleetShare, u64)> = personas
            .iter()
            .map(|(name, p)| {
                let exact = peak * u64::from(p.weight);
                (
                    FleetShare {
                        persona: name.clone(),
                        weight: p.weight,
                        share: f64::from(p.weight) / total as f64,
                        agents: (exact / total) as u32,
                    },
                    exact % total,
                )
            })
            .collect();
        let given: u64 = shares.iter().map(|(s, _)| u64::from(s.agents)).sum();
        let mut order: Vec<usize> = (0..shares.len()).collect();
        order.sort_by(|&a, &b| shares[b].1.cmp(&shares[a].1).then(a.cmp(&b)));
        for &i in order.iter().take((peak - given) as usize) {
            shares[i].0.agents += 1;
        }
        shares.into_iter().map(|(s, _)| s).collect()
    }
}

fn steps(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| {
            let rate = s
                .arrival_rate
                .map(|r| format!(" at {}/s", r.per_second))
                .unwrap_or_default();
            let mix = s
                .personas
                .as_ref()
                .map(|m| {
                    let parts: Vec<String> = m.iter().map(|(p, w)| format!("{p} {w}")).collect();
                    format!(" (mix: {})", parts.join(", "))
                })
                .unwrap_or_default();
            format!("{} agents for {}{rate}{mix}", s.agents, s.duration)
        })
        .collect::<Vec<_>>()
        .join(", then ")
}

impl Plan {
    /// One line per contract: its status codes, schema, budget and cases.
    fn fmt_contracts(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.suite.suite;
        for (i, (op, c)) in s.contracts.iter().enumerate() {
            let head = if i == 0 { "contracts" } else { "" };
            let mut parts = Vec::new();
            if let Some(st) = &c.status {
                let codes = match st {
                    StatusSet::One(c) => c.to_string(),
                    StatusSet::Many(v) => {
                        v.iter().map(u16::to_string).collect::<Vec<_>>().join("|")
                    }
                };
                parts.push(format!("status {codes}"));
            }
            if self.suite.schemas.contains_key(op) {
                parts.push("schema".into());
            }
            if let Some(w) = c.within {
                parts.push(format!("within {w}"));
            }
            if !c.cases.is_empty() {
                parts.push(format!("{} cases", c.cases.len()));
            }
            let line = format!("{head:<12}{op:<20} {}", parts.join(", "));
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.suite.suite;
        writeln!(f, "suite       {} ({})", s.name, self.suite.path.display())?;
        match &s.target {
            Target::Embedded => writeln!(f, "target      embedded simulator")?,
            Target::Remote(r) => writeln!(
                f,
                "target      {} (auth {}, site {}, client {:?})",
                r.api, r.auth, r.site_id, r.client_id
            )?,
        }
        let l = &s.load;
        writeln!(
            f,
            "agents      {} at peak ({} credentials in the pool)",
            l.peak_agents(),
            self.suite.agents.len()
        )?;
        if let Some(shard) = self.shard {
            writeln!(
                f,
                "shard       {shard}: this process drives fleet agents j with j mod {} = {}, and \
                 1/{} of the arrival rates",
                shard.count,
                shard.index - 1,
                shard.count
            )?;
        }
        let ramp = l
            .ramp
            .map_or("no ramp".to_string(), |r| format!("ramp {r}"));
        if l.steps.is_empty() {
            writeln!(
                f,
                "load        {ramp}, then {} flat",
                HumanDuration(l.effective_duration())
            )?;
        } else {
            writeln!(f, "load        {ramp}, then {}", steps(&l.steps))?;
        }
        if let Some(r) = l.arrival_rate {
            writeln!(
                f,
                "arrivals    {}/s customers (embedded simulator)",
                r.per_second
            )?;
        }
        match l.seed {
            Some(seed) => writeln!(f, "seed        {seed}")?,
            None => writeln!(f, "seed        random")?,
        }
        let fleet = self.fleet();
        for (i, p) in fleet.iter().enumerate() {
            let head = if i == 0 { "personas" } else { "" };
            writeln!(
                f,
                "{head:<12}{:<16} weight {:>3}  {:>5.1}%  {:>5} agents",
                p.persona,
                p.weight,
                p.share * 100.0,
                p.agents
            )?;
        }
        if fleet.is_empty() {
            writeln!(f, "personas    none")?;
        }
        self.fmt_contracts(f)?;
        for (i, t) in self.suite.thresholds.iter().enumerate() {
            let head = if i == 0 { "thresholds" } else { "" };
            writeln!(f, "{head:<12}{}", t.source)?;
        }
        write!(f, "reports     {}", self.out_dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_split_every_fleet_size_exactly() {
        for n in 1..=7u32 {
            for total in 0..=50u32 {
                let shards: Vec<Shard> = (1..=n).map(|index| Shard { index, count: n }).collect();
                let sum: u32 = shards.iter().map(|s| s.agents(total)).sum();
                assert_eq!(sum, total, "{total} agents over {n} shards");
                for j in 0..total as usize {
                    let owners = shards.iter().filter(|s| s.owns(j)).count();
                    assert_eq!(owners, 1, "agent {j} of {total} over {n} shards");
                }
                for s in &shards {
                    let owned = (0..total as usize).filter(|&j| s.owns(j)).count();
                    assert_eq!(owned as u32, s.agents(total), "shard {s} of {total}");
                }
            }
        }
    }

    #[test]
    fn shard_flag_parses_i_of_n() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(" 1 / 1 ".parse(), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/3", "4/3", "1/0", "1", "a/b", "1/2/3", ""] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("is not a shard: write I/N"), "{bad}: {err}");
        }
        assert_eq!(Shard { index: 2, count: 3 }.to_string(), "2/3");
        assert_eq!(Shard { index: 1, count: 4 }.rate(2.0), 0.5);
        assert_ne!(
            Shard { index: 1, count: 2 }.seed(7),
            Shard { index: 2, count: 2 }.seed(7)
        );
    }
}
