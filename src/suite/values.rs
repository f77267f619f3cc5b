//! The value languages of suites (durations, distributions, percentages, ranges, rates, secret
//! references) live in the leaf module `crate::values`, which the simulator's config uses too;
//! they are re-exported here under the suite's own path.

pub use crate::values::*;
