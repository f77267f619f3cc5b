//! `--rendezvous DIR`, `--rendezvous-timeout D` and `--start-at TIME` → the run plan's
//! [`Start`]: when a shard's load begins (see `runner::rendezvous`).

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use super::AppError;
use crate::runner::rendezvous::{Barrier, DEFAULT_TIMEOUT, Start};
use crate::suite::plan::Plan;

/// The start flags of `run` (and `capacity`), as given.
#[derive(Debug, Clone, Default)]
pub struct StartConfig {
    /// `--rendezvous DIR`: meet the other shards there.
    pub rendezvous: Option<PathBuf>,
    /// `--rendezvous-timeout`: the longest wait at the start [default: 10 min].
    pub timeout: Option<Duration>,
    /// `--start-at`: an RFC 3339 instant.
    pub at: Option<OffsetDateTime>,
}

impl StartConfig {
    /// The start of `plan`'s run. A rendezvous needs `--shard`; a `--start-at` further away
    /// than the timeout, or both at once, is a usage error (exit 2).
    pub fn resolve(&self, plan: &Plan) -> Result<Start, AppError> {
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        match (&self.rendezvous, self.at) {
            (None, None) => Ok(Start::Now),
            (Some(_), Some(_)) => Err(AppError::Usage(
                "--rendezvous and --start-at: give one (the rendezvous agrees on the start \
                 itself)"
                    .into(),
            )),
            (Some(dir), None) => {
                let Some(shard) = plan.shard else {
                    return Err(AppError::Usage(
                        "--rendezvous needs --shard I/N: the rendezvous waits for all N shards"
                            .into(),
                    ));
                };
                Ok(Start::Rendezvous(Barrier {
                    dir: dir.clone(),
                    name: "run".into(),
                    shard,
                    suite: plan.suite.suite.name.clone(),
                    timeout,
                }))
            }
            (None, Some(at)) => {
                let ahead = at - OffsetDateTime::now_utc();
                if ahead > timeout {
                    return Err(AppError::Usage(format!(
                        "--start-at {}: that is {} s from now, beyond the longest wait at the \
                         start ({} s): raise --rendezvous-timeout",
                        at.format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default(),
                        ahead.whole_seconds(),
                        timeout.as_secs()
                    )));
                }
                Ok(Start::At(at))
            }
        }
    }
}
