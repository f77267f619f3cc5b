//! Behaviour checks: what the harness judges beyond each response's contract, recorded as
//! checks of their own (`token_fresh`, `polled_within_window`, `accepted_within_window`). The
//! API's windows are judged in [`super::window`]; the tokens' freshness here.

use std::fmt;
use std::time::Duration;

/// How an agent's behaviour, or the target's treatment of its token, broke what the API
/// requires. `Display` is the example's detail in the reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Breach {
    /// Two polls further apart than the poll window.
    PollGap { gap: Duration, window: Duration },
    /// An offer accepted after the accept window, or the accept refused.
    LateAccept { waited: Duration, window: Duration },
    /// The harness sent a token its own clock held as expired.
    StaleToken,
    /// The target answered "Access Token Expired" to a token the harness held as valid.
    ExpiredByTarget,
}

impl Breach {
    /// The name of the check this breach fails.
    pub fn check(&self) -> &'static str {
        match self {
            Breach::PollGap { .. } => POLLED_WITHIN_WINDOW,
            Breach::LateAccept { .. } => ACCEPTED_WITHIN_WINDOW,
            Breach::StaleToken | Breach::ExpiredByTarget => TOKEN_FRESH,
        }
    }
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Breach::PollGap { gap, window } => write!(
                f,
                "{:.1} s between polls, window {:.0} s",
                gap.as_secs_f64(),
                window.as_secs_f64()
            ),
            Breach::LateAccept { waited, window } => write!(
                f,
                "accept sent {:.1} s after the offer was seen (window {:.0} s)",
                waited.as_secs_f64(),
                window.as_secs_f64()
            ),
            Breach::StaleToken => {
                f.write_str("the harness sent a token its own clock held as expired")
            }
            Breach::ExpiredByTarget => f.write_str(
                "target answered Access Token Expired to a token the harness held as valid",
            ),
        }
    }
}

/// The check every token-bearing call is judged by.
pub const TOKEN_FRESH: &str = "token_fresh";
/// The check every poll after the first is judged by (see `Windows::poll_gap`).
pub const POLLED_WITHIN_WINDOW: &str = "polled_within_window";
/// The check every accept is judged by (see `Windows::accept`).
pub const ACCEPTED_WITHIN_WINDOW: &str = "accepted_within_window";

/// Whether the token was fresh by the harness's own clock as it was sent.
pub fn token_fresh(held_valid: bool) -> Result<(), Breach> {
    if held_valid {
        Ok(())
    } else {
        Err(Breach::StaleToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_breaches_name_their_check_and_say_who_is_at_fault() {
        assert!(token_fresh(true).is_ok());
        let stale = token_fresh(false).map_err(|b| (b.check(), b.to_string()));
        assert_eq!(
            stale,
            Err((
                "token_fresh",
                "the harness sent a token its own clock held as expired".to_string()
            ))
        );
        assert_eq!(Breach::ExpiredByTarget.check(), "token_fresh");
        assert_eq!(
            Breach::ExpiredByTarget.to_string(),
            "target answered Access Token Expired to a token the harness held as valid"
        );
    }
}
