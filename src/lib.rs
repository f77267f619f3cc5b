//! aeapi-harness: load testing and conformance for the Nuance Agent Engagement API (AEAPI).
//!
//! Data flows one way: a suite (`suite`) becomes a plan, the runner (`runner`, on goose) drives
//! agents against a target (a remote AEAPI or the embedded simulator, `sim`), every response is
//! checked (`check`) and timed into HDR histograms (`metrics`), and the outcome is written by the
//! report writers (`report`) and mapped to an exit code (`exit`).

pub mod aeapi;
pub mod capacity;
pub mod check;
pub mod cli;
pub mod conform;
pub mod exit;
pub mod har;
pub mod import;
pub mod metrics;
pub mod report;
pub mod runner;
pub mod sim;
pub mod suite;
