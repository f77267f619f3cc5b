//! A live observer of what the recorder records: the recorder forwards every sample, check,
//! poll hold, delivery, engagement and agent count to it as it records them, so a live view
//! (`live::Monitor`: `/metrics`, the dashboard) sees exactly what the reports will, from the
//! one recording path. Implementations must be cheap: they run on every request.

use std::time::Duration;

use super::{CheckOutcome, Direction, EngagementEnd, RunData, Sample};

/// Sees the run as it is recorded. Every method but `sample` and `checks` has a no-op default.
pub trait Observer: Send + Sync {
    /// One response or transport failure.
    fn sample(&self, s: &Sample<'_>);
    /// The checks of one response (or one check).
    fn checks(&self, checks: &[CheckOutcome<'_>]);
    fn poll_hold(&self, _persona: &str, _hold: Duration) {}
    fn delivery(&self, _dir: Direction, _latency: Duration) {}
    fn engagement(&self, _end: EngagementEnd) {}
    /// An offer reached an agent (not kept in `RunData`).
    fn offered(&self) {}
    fn active_agents(&self, _n: u64) {}
    /// Every few seconds: the run's totals so far (no time series) and its age, e.g. to judge
    /// thresholds on the data so far.
    fn progress(&self, _totals: &RunData, _elapsed: Duration) {}
}
