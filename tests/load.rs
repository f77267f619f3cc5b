//! Integration tests: load (one binary; each module was a test binary of its own).

mod bin_common;
mod capacity_shards;
mod capacity_sim;
mod load_robustness;
mod open_files;
mod rendezvous;
mod runner_baseline;
mod runner_e2e;
mod runner_interrupt;
mod runner_targets;
mod shard_merge;
