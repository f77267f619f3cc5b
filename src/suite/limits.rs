//! The documented bounds on what a suite (and the flags that override it) may ask for.
//!
//! Each bound is checked before anything is allocated or parsed in proportion to it, so a typo
//! such as `agents: 1000000000` or a 24 GB "suite" is a clear error (exit 2), never an
//! allocation failure or a run that can never end. The README's "Limits" section lists them.

use std::time::Duration;

use super::values::{HumanDuration, ValueError};

/// Why a value is beyond a documented bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// `what` names the field or flag.
    #[error("{what} asks for {count} agents, more than the {MAX_AGENTS} a fleet may have")]
    Agents { what: String, count: u64 },
    #[error("a run must last longer than 0s")]
    ZeroRun,
    /// "800h is longer than the longest run allowed, 30 days (720h)".
    #[error("{} is longer than the longest run allowed, 30 days (720h)", shown(*.0))]
    TooLong(Duration),
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error(
        "an empty pattern would select every case: give operation or case patterns separated by \
         commas, e.g. `login,messages.*` (leave out --only to run every case)"
    )]
    EmptyPattern,
}

/// Largest file the harness reads as a suite, a schema, an agents CSV or a simulator config.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Deepest nesting of mappings and sequences in a YAML file (a real suite needs about 10).
pub const MAX_DEPTH: usize = 64;

/// Most agents a fleet may have: any load count, a generated pool's `count`, the rows of an
/// agents CSV, `--agents`. (One process drives far fewer, bounded by its open files: shard a
/// fleet this large over machines with `run --shard`.)
pub const MAX_AGENTS: u32 = 1_000_000;

/// Longest run: `load.duration`, each step's, their sum, the ramp, and `--duration`.
pub const MAX_RUN: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why `count` agents cannot be planned, if they cannot (`what` names the field or flag).
pub fn agents(what: &str, count: u64) -> Result<(), LimitError> {
    if count > u64::from(MAX_AGENTS) {
        return Err(LimitError::Agents {
            what: what.into(),
            count,
        });
    }
    Ok(())
}

/// A run's length (the suite's `load.duration`, a step's, or `--duration`): above 0 and at
/// most [`MAX_RUN`].
pub fn run_length(d: Duration) -> Result<Duration, LimitError> {
    if d.is_zero() {
        return Err(LimitError::ZeroRun);
    }
    if d > MAX_RUN {
        return Err(LimitError::TooLong(d));
    }
    Ok(d)
}

/// Whole hours as hours (`99999h`), anything else as [`HumanDuration`] shows it.
fn shown(d: Duration) -> String {
    if d.subsec_nanos() == 0 && d.as_secs().is_multiple_of(3600) {
        format!("{}h", d.as_secs() / 3600)
    } else {
        HumanDuration(d).to_string()
    }
}

/// A ramp: 0 is allowed (no ramp), at most [`MAX_RUN`].
pub fn ramp(d: Duration) -> Result<Duration, LimitError> {
    if d.is_zero() { Ok(d) } else { run_length(d) }
}

/// `--duration` as clap parses it: a duration within [`run_length`]'s bounds.
pub fn duration_flag(s: &str) -> Result<HumanDuration, LimitError> {
    let d = super::values::parse_duration(s)?;
    run_length(d).map(HumanDuration)
}

/// `conform --only` as clap parses it: comma-separated patterns, none of them empty (an empty
/// pattern would select every case, which is never what was meant).
pub fn only_flag(s: &str) -> Result<String, LimitError> {
    if s.split(',').any(|p| p.trim().is_empty()) {
        return Err(LimitError::EmptyPattern);
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error's message, as suites and flags show it.
    fn msg<T>(r: Result<T, LimitError>) -> Result<T, String> {
        r.map_err(|e| e.to_string())
    }

    #[test]
    fn agent_counts_up_to_the_limit_are_allowed() {
        assert_eq!(agents("load.agents", 1_000_000), Ok(()));
        assert_eq!(
            msg(agents("load.agents", 1_000_001)),
            Err(
                "load.agents asks for 1000001 agents, more than the 1000000 a fleet may have"
                    .into()
            )
        );
    }

    #[test]
    fn run_lengths_are_above_zero_and_at_most_30_days() {
        for (flag, want) in [
            ("0s", "a run must last longer than 0s"),
            (
                "99999h",
                "99999h is longer than the longest run allowed, 30 days (720h)",
            ),
        ] {
            assert_eq!(msg(duration_flag(flag)), Err(want.into()), "{flag}");
        }
        assert_eq!(
            duration_flag("720h").map(|d| d.0),
            Ok(Duration::from_secs(2_592_000))
        );
        assert_eq!(
            duration_flag("1ms").map(|d| d.0),
            Ok(Duration::from_millis(1))
        );
        assert_eq!(ramp(Duration::ZERO), Ok(Duration::ZERO));
        assert!(ramp(MAX_RUN + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn only_patterns_must_not_be_empty() {
        assert_eq!(only_flag("login,messages.*"), Ok("login,messages.*".into()));
        for bad in ["", " ", "login,", ",", "a, ,b"] {
            let e = only_flag(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("an empty pattern would select"),
                "{bad:?}: {e}"
            );
        }
    }
}
