//! The command layer: one function per subcommand, from a validated [`Config`] (or a resolved
//! plan) to an exit code.
//!
//! Everything a command does around its work exists once, here: the tokio runtime and the report
//! directory ([`support`]), the suite plan built from suite + flags ([`plan`]), reading the
//! baseline, the write-print-exit tail, and the one printer of errors ([`Console::error`]). Each
//! command returns `Result<Exit, AppError>`; [`finish`] prints the error, if any, once with its
//! chain and maps it to its exit code. `cli` parses flags into a [`Config`] and calls [`execute`];
//! nothing here imports `cli`.

pub mod capacity;
pub mod conform;
pub mod console;
pub mod error;
pub mod import;
pub mod limits;
pub mod merge;
pub mod plan;
pub mod replay;
pub mod run;
pub mod simulate;
pub mod start;
pub mod support;
pub mod validate;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use console::{Console, Verbosity};
pub use error::AppError;
pub use start::StartConfig;

use crate::capacity::By;
use crate::exit::Exit;
use crate::suite::model::Target;
use crate::suite::plan::Overrides;

/// A validated `run` or `conform` invocation.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub suite: PathBuf,
    pub overrides: Overrides,
    /// `None`: the default `reports/<suite-name>-<timestamp>/`.
    pub out: Option<PathBuf>,
    /// `conform --only`.
    pub only: Option<String>,
    /// `run --dry-run`: print the plan, send nothing.
    pub dry_run: bool,
    /// `run --baseline`: an earlier run's directory or its `summary.json`.
    pub baseline: Option<PathBuf>,
    /// `run --metrics-listen`, `--dashboard`.
    pub live: crate::live::Listen,
    /// `run --rendezvous`, `--rendezvous-timeout`, `--start-at`.
    pub start: StartConfig,
    /// `conform --max-time`: the whole run's bound (default `conform::DEFAULT_TIME_BOUND`).
    pub max_time: Option<std::time::Duration>,
    /// `conform --snapshot DIR`: write what every case observed there.
    pub snapshot: Option<PathBuf>,
    /// `conform --against DIR`: fail on drift from that snapshot.
    pub against: Option<PathBuf>,
}

/// A validated `simulate` invocation.
#[derive(Debug, Clone)]
pub struct SimulateConfig {
    pub listen: SocketAddr,
    pub config: Option<PathBuf>,
    /// Print the seed as YAML instead of serving.
    pub print_seed: bool,
}

/// A validated `merge` invocation.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    pub dirs: Vec<PathBuf>,
    pub out: PathBuf,
    pub baseline: Option<PathBuf>,
}

/// A validated `capacity` invocation.
#[derive(Debug, Clone)]
pub struct CapacityConfig {
    pub suite: PathBuf,
    pub target: Option<Target>,
    pub out: Option<PathBuf>,
    pub seed: Option<u64>,
    pub by: By,
    pub from: f64,
    pub to: f64,
    pub step: Option<f64>,
    pub step_duration: Option<std::time::Duration>,
    pub require: Option<f64>,
    /// `--metrics-listen`, `--dashboard`.
    pub live: crate::live::Listen,
    /// `--shard I/N`: this process runs its share of every step, in lockstep with the others.
    pub shard: Option<crate::suite::plan::Shard>,
    /// `--rendezvous DIR`: where the shards meet before each step and post its verdicts.
    pub rendezvous: Option<PathBuf>,
    /// `--rendezvous-timeout`: the longest wait for the others [default: 10 min].
    pub rendezvous_timeout: Option<std::time::Duration>,
}

/// The validated command line.
#[derive(Debug, Clone)]
pub enum Config {
    Capacity(CapacityConfig),
    Run(RunConfig),
    Conform(RunConfig),
    Simulate(SimulateConfig),
    Validate(Vec<PathBuf>),
    Merge(MergeConfig),
    Import(import::ImportConfig),
    Replay(replay::ReplayConfig),
}

/// Runs one command, prints its error (if any) once, and returns the exit code.
pub fn execute(console: &mut Console, config: &Config) -> Exit {
    // Every command may hold many connections (a fleet, or a simulator serving one).
    let _ = limits::raise_nofile();
    let result = match config {
        Config::Run(c) => run::execute(console, c),
        Config::Conform(c) => conform::execute(console, c),
        Config::Capacity(c) => capacity::execute(console, c),
        Config::Simulate(c) => simulate::execute(console, c),
        Config::Validate(files) => validate::execute(console, files),
        Config::Merge(c) => merge::execute(console, c),
        Config::Import(c) => import::execute(console, c),
        Config::Replay(c) => replay::execute(console, c),
    };
    finish(console, result)
}

/// The edge: an error is printed once (with its chain) and becomes its exit code.
pub fn finish(console: &mut Console, result: Result<Exit, AppError>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(e) => {
            console.error(&e);
            e.exit()
        }
    }
}
