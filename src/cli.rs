//! The command line: clap structs for the raw flags ([`Cli`]), checked into the command layer's
//! validated [`Config`] (ripgrep's lowargs → hiargs), then handed to `app::execute`. Nothing
//! imports this module.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::app::Config;
use crate::app::{
    self, CapacityConfig, Console, MergeConfig, RunConfig, SimulateConfig, StartConfig, Verbosity,
};
use crate::capacity::By;
use crate::exit::Exit;
use crate::suite::model::{RemoteTarget, Target};
use crate::suite::plan::{Overrides, Shard};
use crate::suite::values::{HumanDuration, SecretRef};

const EXIT_CODES: &str = "\
Exit codes:
  0  every check and threshold passed (validate: every suite is valid)
  1  a check or threshold failed: the target broke a contract
  2  bad usage or an invalid suite
  3  the harness could not run (target unreachable at start, reports not writable)";

/// Load-testing and conformance harness for the Nuance Agent Engagement API (AEAPI), with an
/// embedded AEAPI simulator.
#[derive(Debug, Parser)]
#[command(name = "aeapi-harness", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more (repeat for more detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour: auto (only on a terminal, and not when NO_COLOR is set), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load-test a target with a suite's fleet of agents.
    #[command(
        after_help = "Example:\n  aeapi-harness run suites/smoke.yaml --agents 50 --duration 2m --seed 7"
    )]
    Run(RunArgs),
    /// Check a target against a suite's contracts, one operation at a time.
    #[command(
        after_help = "Example:\n  aeapi-harness conform suites/conformance.yaml --only 'login,messages.*'"
    )]
    Conform(ConformArgs),
    /// Serve the AEAPI simulator until Ctrl-C, for agent desktops and manual testing.
    #[command(
        after_help = "Example:\n  aeapi-harness simulate --listen 127.0.0.1:8080 --config sim.yaml"
    )]
    Simulate(SimulateArgs),
    /// Check suites and print every problem of every file.
    #[command(after_help = "Example:\n  aeapi-harness validate suites/*.yaml")]
    Validate(ValidateArgs),
    /// Step the fleet (or the customer arrival rate) up until a threshold or check breaks;
    /// report the largest load that held and where latency bends.
    #[command(
        after_help = "Example:\n  aeapi-harness capacity suites/smoke.yaml --from 10 --to 200 --step 10 --step-duration 30s"
    )]
    Capacity(CapacityArgs),
    /// Merge the reports of a sharded run (or of several runs) into one: histograms added
    /// exactly, thresholds judged on the merged data.
    #[command(
        after_help = "Example:\n  aeapi-harness merge reports/shard-1 reports/shard-2 reports/shard-3 --out reports/merged"
    )]
    Merge(MergeArgs),
    /// Turn a recorded agent-desktop session (HAR 1.2) into a suite and an agents CSV.
    #[command(
        after_help = "Example:\n  aeapi-harness import desk.har --out desk.yaml --agents-csv desk-agents.csv"
    )]
    Import(ImportArgs),
    /// Re-issue a recorded agent-desktop session (HAR) against a target and compare every
    /// answer with the recorded one (status, content type, fields by JSON path).
    #[command(
        after_help = "Example:\n  AGENT_PASSWORD=... aeapi-harness replay desk.har --target embedded --out reports/replay\n\nExit codes: 0 no differences, 1 differences, 2 bad input, 3 target unreachable"
    )]
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The HAR file (at most 256 MiB).
    pub har: PathBuf,
    /// `embedded` or the API base URL of a remote AEAPI (credentials from AEAPI_CLIENT_ID,
    /// AEAPI_CLIENT_SECRET and AGENT_PASSWORD).
    #[arg(long, value_name = "embedded|URL", default_value = "embedded")]
    pub target: String,
    #[arg(
        long,
        value_name = "DIR",
        help = "Report directory [default: reports/replay-<HAR stem>-<UTC timestamp>/]"
    )]
    pub out: Option<PathBuf>,
    /// `fast`: each call once the previous one is answered; `recorded`: at its recorded offset.
    #[arg(long, value_enum, default_value_t = TimingArg::Fast)]
    pub timing: TimingArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimingArg {
    Fast,
    Recorded,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The HAR file (at most 256 MiB).
    pub har: PathBuf,
    /// The suite to write [default: <HAR stem>.yaml].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The agents CSV to write [default: <suite stem>.agents.csv beside the suite].
    #[arg(long, value_name = "FILE")]
    pub agents_csv: Option<PathBuf>,
}

/// Flags shared by `run` and `conform`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// `embedded` or the API base URL of a remote AEAPI (overrides the suite's `target`).
    #[arg(long, value_name = "embedded|URL")]
    pub target: Option<String>,
    #[arg(
        long,
        value_name = "DIR",
        help = "Report directory [default: reports/<suite-name>-<UTC timestamp>/]"
    )]
    pub out: Option<PathBuf>,
}

/// Flags shared by `run` and `capacity`: watching the run while it runs.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics while the run runs, e.g.
    /// 127.0.0.1:9464 (port 0 picks a free port, printed at the start).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve a live dashboard at http://ADDR/ while the run runs (self-contained: nothing is
    /// loaded from elsewhere); may be the --metrics-listen address.
    #[arg(long, value_name = "ADDR")]
    pub dashboard: Option<SocketAddr>,
}

impl LiveArgs {
    fn listen(&self) -> crate::live::Listen {
        crate::live::Listen {
            metrics: self.metrics_listen,
            dashboard: self.dashboard,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The suite file.
    pub suite: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Agents online at once (overrides `load.agents`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub agents: Option<u32>,
    /// Length of the run after the ramp, e.g. `90s` or `5m` (overrides `load.duration`).
    #[arg(long, value_name = "D", value_parser = crate::suite::limits::duration_flag)]
    pub duration: Option<HumanDuration>,
    /// Seed for every random choice (overrides `load.seed`).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Check the suite and print the plan (target, fleet, personas, contracts, thresholds);
    /// send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Compare with an earlier run (its report directory or `summary.json`): show p50/p95/p99
    /// deltas per operation and fail on a regression beyond the suite's `baseline.tolerance`.
    #[arg(long, value_name = "DIR_OR_SUMMARY")]
    pub baseline: Option<PathBuf>,
    /// Drive only shard I of N (1-based) of the fleet and its arrival rates, so N processes on N
    /// machines drive one fleet; combine their reports with `merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub live: LiveArgs,
    /// With --shard: announce this shard in DIR (shared by all N, fresh for each run), wait
    /// for the others, and start the load with them at one agreed instant (the last arrival +
    /// 2 s). Set-up (simulator, token) happens before the wait.
    #[arg(
        long,
        value_name = "DIR",
        requires = "shard",
        conflicts_with = "start_at"
    )]
    pub rendezvous: Option<PathBuf>,
    /// The longest wait at the start, for --rendezvous or --start-at (on timeout: exit 3,
    /// naming the missing shards) [default: 10m].
    #[arg(long, value_name = "D")]
    pub rendezvous_timeout: Option<HumanDuration>,
    /// Start the load at this instant (RFC 3339, e.g. 2026-12-01T05:00:00Z), after set-up.
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub start_at: Option<time::OffsetDateTime>,
}

/// A `--start-at` that is not an RFC 3339 instant.
#[derive(Debug, thiserror::Error)]
#[error("expected an RFC 3339 time such as 2026-12-01T05:00:00Z ({0})")]
pub struct StartAtError(time::error::Parse);

/// `--start-at`: an RFC 3339 instant.
fn parse_rfc3339(s: &str) -> Result<time::OffsetDateTime, StartAtError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(StartAtError)
}

#[derive(Debug, Args)]
pub struct ConformArgs {
    /// The suite file.
    pub suite: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run only the cases whose operation or id (`OP / CASE`) matches a PATTERN (`*` matches any
    /// run; several patterns separated by commas).
    #[arg(long, value_name = "PATTERN", value_parser = crate::suite::limits::only_flag)]
    pub only: Option<String>,
    /// Bound on the whole run, e.g. `5m` [default: 10m]: past it, the cases not yet run are
    /// reported as errors and the exit code is 3.
    #[arg(long, value_name = "D")]
    pub max_time: Option<HumanDuration>,
    /// Write what every case observed (status, content type, inferred schema; no values) to
    /// DIR/snapshot.json, for a later `--against DIR`.
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    /// Compare with a snapshot (its DIR or snapshot.json): a status changed, a field removed or
    /// a type changed fails the case (exit 1); a field added is a warning unless the suite sets
    /// `drift: {added_fields: fail}`.
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// The suite file (its personas, contracts and thresholds; its load sets the ramp).
    pub suite: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// What to step up: the agents online, or the customers arriving per second.
    #[arg(long, value_enum, default_value_t = By::Agents)]
    pub by: By,
    /// The lightest step.
    #[arg(long, value_name = "N")]
    pub from: f64,
    /// The heaviest step (the search stops earlier at the first step that breaks).
    #[arg(long, value_name = "N")]
    pub to: f64,
    /// How much each step adds [default: --from].
    #[arg(long, value_name = "N")]
    pub step: Option<f64>,
    /// How long each step runs after its ramp [default: the suite's load.duration, or 30s].
    #[arg(long, value_name = "D")]
    pub step_duration: Option<HumanDuration>,
    /// Exit 1 unless the capacity found is at least this load (for release gates).
    #[arg(long, value_name = "N")]
    pub require: Option<f64>,
    /// Seed for every random choice (overrides `load.seed`).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Run only shard I of N (1-based) of every step's agents, in lockstep with the other
    /// shards (needs --rendezvous); combine their directories with `merge`.
    #[arg(long, value_name = "I/N", requires = "rendezvous")]
    pub shard: Option<Shard>,
    /// With --shard: the directory shared by all N (fresh for each search). Every step starts
    /// when all N have arrived there, and all stop after the first step that broke on any.
    #[arg(long, value_name = "DIR", requires = "shard")]
    pub rendezvous: Option<PathBuf>,
    /// The longest wait for the other shards, at each step's start and for its verdicts (on
    /// timeout: exit 3, naming the missing shards) [default: 10m].
    #[arg(long, value_name = "D", requires = "rendezvous")]
    pub rendezvous_timeout: Option<HumanDuration>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Simulator settings (YAML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the site seed (business units, groups, scripts, dispositions) as YAML and exit.
    #[arg(long)]
    pub print_seed: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Suite files.
    #[arg(required = true, value_name = "SUITE")]
    pub suites: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Report directories of the runs or shards (each holds a `rundata.json`), or of the shards
    /// of a capacity search (each holds a `capacity.json`: merged step by step).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged report goes.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Compare the merged run with an earlier run (its report directory or `summary.json`), as
    /// `run --baseline` does.
    #[arg(long, value_name = "DIR_OR_SUMMARY")]
    pub baseline: Option<PathBuf>,
}

/// Whether diagnostics carry colour: auto is only on a terminal, honouring NO_COLOR and
/// CLICOLOR_FORCE.
fn color(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
        }
    }
}

/// A flag that does not make sense; exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Config {
    /// Checks what clap cannot: the `--target` value.
    pub fn from_cli(command: Command) -> Result<Config, UsageError> {
        Ok(match command {
            Command::Run(a) => Config::Run(run_config(a)?),
            Command::Conform(a) => Config::Conform(conform_config(a)?),
            Command::Capacity(a) => Config::Capacity(CapacityConfig {
                suite: a.suite,
                target: a.target.target.as_deref().map(parse_target).transpose()?,
                out: a.target.out,
                seed: a.seed,
                by: a.by,
                from: a.from,
                to: a.to,
                step: a.step,
                step_duration: a.step_duration.map(|d| d.0),
                require: a.require,
                live: a.live.listen(),
                shard: a.shard,
                rendezvous: a.rendezvous,
                rendezvous_timeout: a.rendezvous_timeout.map(|d| d.0),
            }),
            Command::Simulate(a) => Config::Simulate(SimulateConfig {
                listen: a.listen,
                config: a.config,
                print_seed: a.print_seed,
            }),
            Command::Validate(a) => Config::Validate(a.suites),
            Command::Merge(a) => Config::Merge(MergeConfig {
                dirs: a.dirs,
                out: a.out,
                baseline: a.baseline,
            }),
            Command::Import(a) => Config::Import(crate::app::import::ImportConfig {
                har: a.har,
                out: a.out,
                agents_csv: a.agents_csv,
            }),
            Command::Replay(a) => Config::Replay(app::replay::ReplayConfig {
                har: a.har,
                target: match parse_target(&a.target)? {
                    Target::Embedded => app::replay::ReplayTarget::Embedded,
                    Target::Remote(r) => app::replay::ReplayTarget::Url(r.api),
                },
                out: a.out,
                timing: match a.timing {
                    TimingArg::Fast => crate::replay::Timing::Fast,
                    TimingArg::Recorded => crate::replay::Timing::Recorded,
                },
            }),
        })
    }
}

/// `run`'s flags as a [`RunConfig`].
fn run_config(a: RunArgs) -> Result<RunConfig, UsageError> {
    Ok(RunConfig {
        suite: a.suite,
        overrides: Overrides {
            target: a.target.target.as_deref().map(parse_target).transpose()?,
            agents: a.agents,
            duration: a.duration.map(|d| d.0),
            seed: a.seed,
            shard: a.shard,
        },
        out: a.target.out,
        only: None,
        dry_run: a.dry_run,
        baseline: a.baseline,
        live: a.live.listen(),
        start: StartConfig {
            rendezvous: a.rendezvous,
            timeout: a.rendezvous_timeout.map(|d| d.0),
            at: a.start_at,
        },
        max_time: None,
        snapshot: None,
        against: None,
    })
}

/// `conform`'s flags as a [`RunConfig`] (no load overrides, no start, no live page).
fn conform_config(a: ConformArgs) -> Result<RunConfig, UsageError> {
    Ok(RunConfig {
        suite: a.suite,
        overrides: Overrides {
            target: a.target.target.as_deref().map(parse_target).transpose()?,
            ..Overrides::default()
        },
        out: a.target.out,
        only: a.only,
        dry_run: false,
        baseline: None,
        live: crate::live::Listen::default(),
        start: StartConfig::default(),
        max_time: match a.max_time {
            Some(d) if d.0.is_zero() => {
                return Err(UsageError(
                    "`--max-time 0s`: the bound must be positive".into(),
                ));
            }
            d => d.map(|d| d.0),
        },
        snapshot: a.snapshot,
        against: a.against,
    })
}

/// `embedded`, or a URL: a remote target whose api and auth bases are the URL; its application
/// credentials come from `${AEAPI_CLIENT_ID}`/`${AEAPI_CLIENT_SECRET}` and its site from
/// `AEAPI_SITE_ID` unless the suite's own remote target provides them (see
/// `app::plan::apply_target`).
fn parse_target(s: &str) -> Result<Target, UsageError> {
    if s == "embedded" {
        return Ok(Target::Embedded);
    }
    if !(s.starts_with("http://") || s.starts_with("https://")) {
        return Err(UsageError(format!(
            "`--target {s}`: expected `embedded` or an http(s) URL"
        )));
    }
    if let Err(why) = crate::aeapi::client::check_base_url(s) {
        return Err(UsageError(format!("`--target {s}`: {why}")));
    }
    let base = s.trim_end_matches('/').to_string();
    Ok(Target::Remote(Box::new(RemoteTarget {
        api: base.clone(),
        auth: base,
        client_id: SecretRef::env("AEAPI_CLIENT_ID"),
        client_secret: SecretRef::env("AEAPI_CLIENT_SECRET"),
        grant: Default::default(),
        site_id: std::env::var("AEAPI_SITE_ID").unwrap_or_default(),
        business_unit_id: None,
        agent_group_id: None,
        output: Default::default(),
        tls: Default::default(),
    })))
}

/// Runs a parsed command line and returns its exit code (every error already printed).
pub fn run(cli: Cli) -> Exit {
    let verbosity = Verbosity {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let mut console = Console::terminal(color(cli.color), verbosity);
    match Config::from_cli(cli.command) {
        Ok(config) => app::execute(&mut console, &config),
        Err(e) => app::finish(&mut console, Err(app::AppError::Usage(e.0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn target_flag_accepts_embedded_or_a_url() {
        assert!(matches!(parse_target("embedded"), Ok(Target::Embedded)));
        assert!(
            matches!(parse_target("https://api.example.com/"), Ok(Target::Remote(r)) if r.api == "https://api.example.com")
        );
        assert_eq!(
            parse_target("api.example.com").err(),
            Some(UsageError(
                "`--target api.example.com`: expected `embedded` or an http(s) URL".into()
            ))
        );
    }
}
