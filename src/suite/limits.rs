//! The documented bounds on what a suite (and the flags that override it) may ask for.
//!
//! Each bound is checked before anything is allocated or parsed in proportion to it, so a typo
//! such as `agents: 1000000000` or a 24 GB "suite" is a clear error (exit 2), never an
//! allocation failure or a run that can never end. The README's "Limits" section lists them.

use std::time::Duration;

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
pub fn agents(what: &str, count: u64) -> Result<(), String> {
    if count > u64::from(MAX_AGENTS) {
        return Err(format!(
            "{what} asks for {count} agents, more than the {MAX_AGENTS} a fleet may have"
        ));
    }
    Ok(())
}

/// A run's length (the suite's `load.duration`, a step's, or `--duration`): above 0 and at
/// most [`MAX_RUN`].
pub fn run_length(d: Duration) -> Result<Duration, String> {
    if d.is_zero() {
        return Err("a run must last longer than 0s".into());
    }
    if d > MAX_RUN {
        return Err(too_long(d));
    }
    Ok(d)
}

/// "800h is longer than the longest run allowed, 30 days (720h)".
pub fn too_long(d: Duration) -> String {
    format!(
        "{} is longer than the longest run allowed, 30 days (720h)",
        shown(d)
    )
}

/// Whole hours as hours (`99999h`), anything else as [`HumanDuration`] shows it.
fn shown(d: Duration) -> String {
    if d.subsec_nanos() == 0 && d.as_secs().is_multiple_of(3600) {
        format!("{}h", d.as_secs() / 3600)
    } else {
        super::values::HumanDuration(d).to_string()
    }
}

/// A ramp: 0 is allowed (no ramp), at most [`MAX_RUN`].
pub fn ramp(d: Duration) -> Result<Duration, String> {
    if d.is_zero() { Ok(d) } else { run_length(d) }
}

/// `--duration` as clap parses it: a duration within [`run_length`]'s bounds.
pub fn duration_flag(s: &str) -> Result<super::values::HumanDuration, String> {
    let d = super::values::parse_duration(s)?;
    run_length(d).map(super::values::HumanDuration)
}

/// `conform --only` as clap parses it: comma-separated patterns, none of them empty (an empty
/// pattern would select every case, which is never what was meant).
pub fn only_flag(s: &str) -> Result<String, String> {
    if s.split(',').any(|p| p.trim().is_empty()) {
        return Err(
            "an empty pattern would select every case: give operation or case \
                    patterns separated by commas, e.g. `login,messages.*` (leave out --only to \
                    run every case)"
                .into(),
        );
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_counts_up_to_the_limit_are_allowed() {
        assert_eq!(agents("load.agents", 1_000_000), Ok(()));
        assert_eq!(
            agents("load.agents", 1_000_001),
            Err(
                "load.agents asks for 1000001 agents, more than the 1000000 a fleet may have"
                    .into()
            )
        );
    }

    #[test]
    fn run_lengths_are_above_zero_and_at_most_30_days() {
        assert_eq!(
            duration_flag("0s"),
            Err("a run must last longer than 0s".into())
        );
        assert_eq!(
            duration_flag("99999h"),
            Err("99999h is longer than the longest run allowed, 30 days (720h)".into())
        );
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
            let e = only_flag(bad).unwrap_err();
            assert!(
                e.starts_with("an empty pattern would select"),
                "{bad:?}: {e}"
            );
        }
    }
}
