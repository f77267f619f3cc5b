//! A persona as the runner uses it: the suite's `Persona` with every default resolved and its
//! periodic calls checked against the operation table.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;

use crate::aeapi::ops;
use crate::suite::model::{DispositionChoice, Persona};
use crate::suite::values::{Distribution, Range};

/// Which disposition a persona picks at close.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Any of the site's dispositions, at random.
    Any,
    /// Always this one (matched by name, displayName or id).
    Named(String),
    /// Weighted among these.
    Weighted(Vec<(String, u32)>),
}

impl Disposition {
    /// The name to look for, or `None` for any.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<String> {
        match self {
            Disposition::Any => None,
            Disposition::Named(n) => Some(n.clone()),
            Disposition::Weighted(ws) => {
                let total: u32 = ws.iter().map(|(_, w)| *w).sum();
                if total == 0 {
                    return None;
                }
                let mut roll = rng.random_range(0..total);
                for (name, w) in ws {
                    if roll < *w {
                        return Some(name.clone());
                    }
                    roll -= w;
                }
                None
            }
        }
    }
}

/// A persona with every default filled in.
#[derive(Debug, Clone)]
pub struct PersonaPlan {
    pub name: String,
    pub weight: u32,
    pub max_chats: u32,
    pub think: Distribution,
    pub typing: Distribution,
    pub reply: Distribution,
    pub messages: Range,
    pub deny: f64,
    pub transfer: f64,
    pub conference: f64,
    pub escalate: f64,
    pub disposition: Disposition,
    /// How long the agent waits after its last line for the customer to close before closing.
    pub linger: Duration,
    /// (operation, interval) pairs; operation names are from the static table. An interval of
    /// zero calls back-to-back (throughput benchmarks).
    pub periodic: Vec<(&'static str, Duration)>,
}

impl PersonaPlan {
    /// Resolves defaults. Unknown periodic operations are skipped (validation reports them).
    pub fn from_suite(name: &str, p: &Persona) -> Self {
        let pct = |v: Option<crate::suite::values::Percent>| v.map_or(0.0, |p| p.fraction());
        PersonaPlan {
            name: name.to_string(),
            weight: p.weight,
            max_chats: p.max_chats.max(1),
            think: p.think.unwrap_or(Distribution::Uniform(
                Duration::from_millis(500),
                Duration::from_millis(1500),
            )),
            typing: p
                .typing
                .unwrap_or(Distribution::Constant(Duration::from_millis(300))),
            reply: p.reply.unwrap_or(Distribution::Uniform(
                Duration::from_secs(1),
                Duration::from_secs(3),
            )),
            messages: p.messages.unwrap_or(Range { min: 2, max: 4 }),
            deny: pct(p.deny),
            transfer: pct(p.transfer),
            conference: pct(p.conference),
            escalate: pct(p.escalate),
            disposition: match &p.disposition {
                None => Disposition::Any,
                Some(DispositionChoice::Named(n)) if n == "any" => Disposition::Any,
                Some(DispositionChoice::Named(n)) => Disposition::Named(n.clone()),
                Some(DispositionChoice::Weighted(m)) => {
                    Disposition::Weighted(m.iter().map(|(k, v)| (k.clone(), *v)).collect())
                }
            },
            linger: Duration::from_secs(5),
            periodic: periodic_ops(&p.periodic),
        }
    }
}

fn periodic_ops(
    m: &BTreeMap<String, crate::suite::values::HumanDuration>,
) -> Vec<(&'static str, Duration)> {
    m.iter()
        .filter_map(|(name, every)| ops::find(name).map(|op| (op.name, every.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn defaults_are_filled_and_periodic_names_resolved() {
        let p: Persona = serde_yaml::from_str(
            "weight: 3\nperiodic: {summaryData: 30s, nosuchOp: 1s}\ndeny: 5%\n",
        )
        .expect("persona parses");
        let plan = PersonaPlan::from_suite("steady", &p);
        assert_eq!(plan.max_chats, 1);
        assert_eq!(plan.deny, 0.05);
        assert_eq!(
            plan.periodic,
            vec![("summaryData", Duration::from_secs(30))]
        );
        assert_eq!(plan.messages, Range { min: 2, max: 4 });
    }

    #[test]
    fn weighted_disposition_picks_only_listed_names() {
        let d = Disposition::Weighted(vec![("Resolved".into(), 3), ("Escalated".into(), 1)]);
        let mut rng = StdRng::seed_from_u64(7);
        let mut resolved = 0;
        for _ in 0..400 {
            match d.pick(&mut rng).as_deref() {
                Some("Resolved") => resolved += 1,
                Some("Escalated") => {}
                other => panic!("unexpected pick {other:?}"),
            }
        }
        assert!((240..=360).contains(&resolved), "{resolved} of 400");
    }
}
