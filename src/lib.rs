//! aeapi-harness: load testing and conformance for the Nuance Agent Engagement API (AEAPI).
//!
//! Data flows one way: suite → plan → runner → observations → checks → metrics → reports. A suite
//! (`suite`) plus flags becomes one resolved plan (`runner::plan`); the runner (on goose) or the
//! conformance engine (`conform`) drives a target (remote, or the embedded simulator `sim`)
//! through `aeapi`; each observation is judged (`check`) and timed (`metrics`); `report` writes.
//! On top, `app` runs one function per subcommand and maps outcomes to `exit` codes; `cli` parses.

// No unwrap or expect outside tests: bad input and a target's answers end in errors, not panics.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod aeapi;
pub mod app;
pub mod capacity;
pub mod check;
pub mod cli;
pub mod conform;
pub mod exit;
pub mod har;
pub mod import;
pub mod live;
pub mod metrics;
pub mod replay;
pub mod report;
pub mod runner;
pub mod sim;
pub mod suite;
pub mod values;
