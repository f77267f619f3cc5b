//! Open files: a fleet is connections, and a connection is a file descriptor.
//!
//! At start the harness raises its soft `RLIMIT_NOFILE` to the hard limit (as Go's runtime and
//! Locust do: a stock Linux login gives a soft limit of 1,024 and a much higher hard one). Before
//! any request, `run` and `capacity` compare what the fleet needs with that limit: a fleet that
//! cannot fit is a usage error (exit 2) giving both numbers and how many shards would fit,
//! instead of connect errors in the middle of a run.
//!
//! What a fleet needs, per process (measured: ~9,900 long-polling agents fit one process with
//! the embedded simulator under a limit of 20,000, 15,000–19,000 against a remote target):
//! one connection per agent (its held long-poll; its other calls share the pool), one per
//! harness-driven customer alive at once (at most `rate × patience`), twice each when the
//! embedded simulator holds the server side in the same process, and [`BASE`] for everything
//! else (standard streams, the runtime, report files, the listener).

use super::AppError;
use crate::report::terminal::thousands;
use crate::suite::model::{Load, Target};
use crate::suite::plan::Plan;

/// Descriptors kept for everything besides the fleet's connections.
pub const BASE: u64 = 64;

/// The open-file limits of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard one (capped at what the kernel takes) and returns
/// the limits now in force; `None` where they cannot be read. Never fails a command: a limit that
/// cannot be raised is checked against by [`check`].
pub fn raise_nofile() -> Option<Limits> {
    #[cfg(unix)]
    {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed by reference.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } != 0 {
            return None;
        }
        if l.rlim_cur < l.rlim_max {
            let mut raised = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            // SAFETY: as above.
            let mut ok = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0;
            // macOS refuses more than OPEN_MAX with an unlimited hard limit.
            if !ok && l.rlim_max == libc::RLIM_INFINITY {
                raised.rlim_cur = 10_240;
                // SAFETY: as above.
                ok = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0;
            }
            if ok {
                l.rlim_cur = raised.rlim_cur;
            }
        }
        // rlim_t is u64 on Linux, another width elsewhere.
        #[allow(clippy::useless_conversion)]
        Some(Limits {
            soft: u64::try_from(l.rlim_cur).unwrap_or(u64::MAX),
            hard: u64::try_from(l.rlim_max).unwrap_or(u64::MAX),
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// What one process of a fleet holds open at its peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Need {
    /// Agents online at once at the peak (this shard's part).
    pub agents: u64,
    /// Harness-driven customers alive at once, at most.
    pub customers: u64,
    /// The embedded simulator holds the server side of every connection in this process.
    pub embedded: bool,
}

impl Need {
    /// What a suite's load (already cut to this shard) needs against `target`.
    pub fn of(load: &Load, target: &Target) -> Need {
        let customers = load.customers.as_ref().map_or(0, |c| {
            let patience = c.patience.map_or(60.0, |p| p.0.as_secs_f64());
            // Float to integer saturates; a rate is finite and non-negative once validated.
            (c.rate.per_second * patience).ceil() as u64
        });
        Need {
            agents: u64::from(load.peak_agents()),
            customers,
            embedded: matches!(target, Target::Embedded),
        }
    }

    /// The same fleet with `agents` agents at the peak.
    pub fn with_agents(self, agents: u64) -> Need {
        Need { agents, ..self }
    }

    /// Descriptors per connection in this process.
    fn sides(&self) -> u64 {
        if self.embedded { 2 } else { 1 }
    }

    /// Descriptors the whole fleet needs in one process.
    pub fn total(&self) -> u64 {
        BASE.saturating_add(
            self.agents
                .saturating_add(self.customers)
                .saturating_mul(self.sides()),
        )
    }

    /// Descriptors each of `n` shards needs (agents and customers split as evenly as
    /// `--shard` splits them).
    pub fn per_shard(&self, n: u64) -> u64 {
        let n = n.max(1);
        BASE.saturating_add(
            self.agents
                .div_ceil(n)
                .saturating_add(self.customers.div_ceil(n))
                .saturating_mul(self.sides()),
        )
    }

    /// The fewest shards whose every process fits under `limit`, if any does.
    pub fn shards_to_fit(&self, limit: u64) -> Option<u64> {
        let per = limit.checked_sub(BASE)? / self.sides();
        if per == 0 {
            return None;
        }
        // Each shard gets ceil(agents/n) + ceil(customers/n) connections: the smallest n with
        // that at most `per`, searched upward from the even split (a few steps at most).
        let load = self.agents.saturating_add(self.customers);
        let mut n = load.div_ceil(per).max(1);
        let most = load.max(1);
        while n <= most {
            if self.per_shard(n) <= limit {
                return Some(n);
            }
            n += 1;
        }
        None
    }

    /// How the need is made up, for people.
    fn explain(&self) -> String {
        let mut parts = vec![format!("{} agents", thousands(self.agents))];
        if self.customers > 0 {
            parts.push(format!(
                "{} customers alive at once",
                thousands(self.customers)
            ));
        }
        let side = if self.embedded {
            " × 2 (the embedded simulator holds the other end in this process)"
        } else {
            ""
        };
        format!("{}{side} + {BASE}", parts.join(" + "))
    }
}

/// A fleet that needs more open files than this process may open: both numbers, and the shards
/// that would fit.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "the fleet needs about {} open files ({}) but this process may open {} (soft limit, hard \
     limit {}): {}, or raise the hard limit (`ulimit -Hn` as root, systemd's LimitNOFILE=, or \
     the container runtime's nofile ulimit)",
    thousands(.need.total()),
    .need.explain(),
    thousands(.limits.soft),
    thousands(.limits.hard),
    advice(.need.shards_to_fit(.limits.soft))
)]
pub struct TooFewFiles {
    pub need: Need,
    pub limits: Limits,
}

/// What to do about a fleet that does not fit: the shard count that would.
fn advice(shards: Option<u64>) -> String {
    match shards {
        Some(n) => format!(
            "split the fleet into {n} shards (`--shard I/{n}`, one process each, e.g. one per \
             machine or pod)"
        ),
        None => "no shard count fits".to_string(),
    }
}

/// `Ok` when the fleet fits under the soft limit `limits.soft` (already raised to the hard
/// one).
pub fn check(need: &Need, limits: Limits) -> Result<(), TooFewFiles> {
    if need.total() <= limits.soft {
        return Ok(());
    }
    Err(TooFewFiles {
        need: *need,
        limits,
    })
}

/// Checks a suite plan's fleet (its load already cut to the shard) against this process's
/// limit, raised first; a fleet that does not fit is [`AppError::Usage`] (exit 2). `Ok` with
/// the figures (need, soft limit) when they could be read.
pub fn fits(plan: &Plan) -> Result<Option<(u64, Limits)>, AppError> {
    let need = Need::of(&plan.suite.suite.load, &plan.suite.suite.target);
    let Some(limits) = raise_nofile() else {
        return Ok(None);
    };
    check(&need, limits).map_err(|e| AppError::Usage(e.to_string()))?;
    Ok(Some((need.total(), limits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(agents: u64, customers: u64, embedded: bool) -> Need {
        Need {
            agents,
            customers,
            embedded,
        }
    }

    #[test]
    fn an_embedded_fleet_needs_both_ends_of_each_connection() {
        assert_eq!(need(2_000, 0, true).total(), 4_064);
        assert_eq!(need(2_000, 0, false).total(), 2_064);
        assert_eq!(need(100, 60, true).total(), 64 + 320);
    }

    #[test]
    fn shards_to_fit_is_the_fewest_that_fit() {
        // 2,000 embedded agents under 1,024: (1,024 - 64) / 2 = 480 agents a shard → 5 shards.
        let n = need(2_000, 0, true);
        assert_eq!(n.shards_to_fit(1_024), Some(5));
        assert!(n.per_shard(5) <= 1_024 && n.per_shard(4) > 1_024);
        // Customers split too: 300 + 300 over 2 shards is 300 a shard: 64 + 300 = 364.
        assert_eq!(need(300, 300, false).shards_to_fit(364), Some(2));
        assert_eq!(need(300, 300, false).shards_to_fit(363), Some(3));
        // Nothing fits in the base alone.
        assert_eq!(need(10, 0, false).shards_to_fit(64), None);
        assert_eq!(need(10, 0, true).shards_to_fit(65), None);
        // ~9,900 embedded agents fit 20,000 in one process, as measured.
        assert_eq!(need(9_900, 0, true).shards_to_fit(20_000), Some(1));
    }

    #[test]
    fn check_refuses_with_both_numbers_and_the_shards_that_fit() {
        let limits = Limits {
            soft: 1_024,
            hard: 1_024,
        };
        assert_eq!(
            check(&need(2_000, 0, true), limits).map_err(|e| e.to_string()),
            Err(
                "the fleet needs about 4,064 open files (2,000 agents × 2 (the embedded \
                 simulator holds the other end in this process) + 64) but this process may \
                 open 1,024 (soft limit, hard limit 1,024): split the fleet into 5 shards \
                 (`--shard I/5`, one process each, e.g. one per machine or pod), or raise the \
                 hard limit (`ulimit -Hn` as root, systemd's LimitNOFILE=, or the container \
                 runtime's nofile ulimit)"
                    .to_string()
            )
        );
        assert_eq!(check(&need(480, 0, true), limits), Ok(()));
        assert!(check(&need(481, 0, true), limits).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn raising_leaves_soft_at_hard() {
        let l = raise_nofile().expect("getrlimit works on unix");
        assert!(l.soft <= l.hard, "{l:?}");
        #[cfg(target_os = "linux")]
        assert_eq!(l.soft, l.hard);
    }
}
