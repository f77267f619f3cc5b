//! A stepped load's customer arrival rates over time, planned by `runner::plan` and followed by
//! the harness's customers (`runner::customers`) and the embedded simulator's generator.

use std::time::Duration;

/// Piecewise-constant arrival rates: from each change's offset (since the run's start) on, its
/// rate, until the next change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arrivals {
    /// (offset, customers per second), by offset.
    pub changes: Vec<(Duration, f64)>,
}

impl Arrivals {
    /// The rate at `offset`: the last change at or before it, else `base`.
    pub fn rate_at(&self, base: f64, offset: Duration) -> f64 {
        self.changes
            .iter()
            .rev()
            .find(|(at, _)| *at <= offset)
            .map_or(base, |(_, r)| *r)
    }

    /// The first change after `offset`.
    pub fn next_change(&self, offset: Duration) -> Option<Duration> {
        self.changes
            .iter()
            .map(|(at, _)| *at)
            .find(|at| *at > offset)
    }

    /// Whether any rate is above 0 (with `base` before the first change).
    pub fn any_positive(&self, base: f64) -> bool {
        base > 0.0 || self.changes.iter().any(|(_, r)| *r > 0.0)
    }
}
