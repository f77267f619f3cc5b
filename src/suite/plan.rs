//! The plan: a loaded suite with the command line's overrides applied, as the runner will
//! execute it. Until the engine lands, `run` and `conform` print it.

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
}

/// Applies overrides to `suite`. Errors are usage errors (a flag that does not fit the suite).
pub fn plan(mut suite: LoadedSuite, o: &Overrides, out_dir: PathBuf) -> Result<Plan, String> {
    let load = &mut suite.suite.load;
    if !load.steps.is_empty() && (o.agents.is_some() || o.duration.is_some()) {
        return Err(
            "`--agents` and `--duration` apply to a flat load; this suite has `load.steps`".into(),
        );
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
    if suite.pool_generated {
        let dev = super::values::SecretRef::literal_dev(super::agents::DEV_AGENT_PASSWORD);
        suite.agents = super::agents::pattern("agent", 1, peak, &dev);
    }
    if suite.agents.len() < peak as usize {
        return Err(format!(
            "the agent pool has {} credentials but the load needs {peak} agents",
            suite.agents.len()
        ));
    }
    Ok(Plan { suite, out_dir })
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
        for (i, t) in self.suite.thresholds.iter().enumerate() {
            let head = if i == 0 { "thresholds" } else { "" };
            writeln!(f, "{head:<12}{}", t.source)?;
        }
        write!(f, "reports     {}", self.out_dir.display())
    }
}
