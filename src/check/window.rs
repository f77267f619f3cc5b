//! The API's timing windows and the agent behaviour they require: a poll follows the previous
//! one within the poll window, and an offer is accepted within the accept window. The runner
//! measures the times; the judgement is made here, alongside the response checks.

use std::time::Duration;

use super::behaviour::Breach;

/// The API's own timing windows.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// Offer seen → accepted.
    pub accept: Duration,
    /// Longest allowed gap between two polls.
    pub poll: Duration,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            accept: Duration::from_secs(15),
            poll: Duration::from_secs(30),
        }
    }
}

impl Windows {
    /// Whether a poll sent `gap` after the previous one kept within the poll window.
    pub fn poll_gap(&self, gap: Duration) -> Result<(), Breach> {
        if gap <= self.poll {
            Ok(())
        } else {
            Err(Breach::PollGap {
                gap,
                window: self.poll,
            })
        }
    }

    /// Whether an accept sent `waited` after the offer was seen, answered `status`, was in time
    /// (an accept the target refused was not).
    pub fn accept(&self, status: Option<u16>, waited: Duration) -> Result<(), Breach> {
        if status == Some(200) && waited <= self.accept {
            Ok(())
        } else {
            Err(Breach::LateAccept {
                waited,
                window: self.accept,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_accepts_are_judged_against_their_windows() {
        let w = Windows::default();
        assert!(w.poll_gap(Duration::from_secs(30)).is_ok());
        assert!(w.accept(Some(200), Duration::from_secs(15)).is_ok());
        for (verdict, check, says) in [
            (
                w.poll_gap(Duration::from_millis(31_250)),
                "polled_within_window",
                "31.2 s between polls, window 30 s",
            ),
            (
                w.accept(Some(422), Duration::from_secs(1)),
                "accepted_within_window",
                "accept sent 1.0 s after the offer was seen (window 15 s)",
            ),
        ] {
            assert_eq!(
                verdict.map_err(|b| (b.check(), b.to_string())),
                Err((check, says.to_string()))
            );
        }
        assert!(w.accept(Some(200), Duration::from_secs(16)).is_err());
    }
}
