//! The command line: clap structs for the raw flags ([`Cli`]), turned into a validated
//! [`Config`] (ripgrep's lowargs → hiargs), and one library function per subcommand
//! (`cmd_validate`, `cmd_run`, ...) that tests call directly with a [`Console`].

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::capacity::By;
use crate::exit::Exit;
use crate::suite::model::{RemoteTarget, Target};
use crate::suite::plan::{self, Overrides, Shard};
use crate::suite::values::{HumanDuration, SecretRef};
use crate::suite::{self, LoadedSuite};

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
    #[arg(long, value_name = "D")]
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
}

#[derive(Debug, Args)]
pub struct ConformArgs {
    /// The suite file.
    pub suite: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run only the cases whose operation or id (`OP / CASE`) matches a PATTERN (`*` matches any
    /// run; several patterns separated by commas).
    #[arg(long, value_name = "PATTERN")]
    pub only: Option<String>,
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
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Simulator settings (YAML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Suite files.
    #[arg(required = true, value_name = "SUITE")]
    pub suites: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Report directories of the runs or shards (each holds a `rundata.json`).
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

/// How much to print, and whether in colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbosity {
    pub quiet: bool,
    pub verbose: u8,
}

/// Where output goes: stdout for results, stderr for diagnostics.
pub struct Console {
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    /// Whether diagnostics carry ANSI colour.
    pub color: bool,
    pub verbosity: Verbosity,
}

impl Console {
    /// The process's own stdout and stderr, colour resolved from `when` (auto: only on a
    /// terminal, honouring NO_COLOR and CLICOLOR_FORCE).
    pub fn terminal(when: ColorWhen, verbosity: Verbosity) -> Console {
        let color = match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
            }
        };
        Console {
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            color,
            verbosity,
        }
    }
}

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
}

/// A validated `simulate` invocation.
#[derive(Debug, Clone)]
pub struct SimulateConfig {
    pub listen: SocketAddr,
    pub config: Option<PathBuf>,
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
    Import(crate::import::command::ImportConfig),
}

/// A flag that does not make sense; exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Config {
    /// Checks what clap cannot: the `--target` value.
    pub fn from_cli(command: Command) -> Result<Config, UsageError> {
        Ok(match command {
            Command::Run(a) => Config::Run(RunConfig {
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
            }),
            Command::Conform(a) => Config::Conform(RunConfig {
                suite: a.suite,
                overrides: Overrides {
                    target: a.target.target.as_deref().map(parse_target).transpose()?,
                    ..Overrides::default()
                },
                out: a.target.out,
                only: a.only,
                dry_run: false,
                baseline: None,
            }),
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
            }),
            Command::Simulate(a) => Config::Simulate(SimulateConfig {
                listen: a.listen,
                config: a.config,
            }),
            Command::Validate(a) => Config::Validate(a.suites),
            Command::Merge(a) => Config::Merge(MergeConfig {
                dirs: a.dirs,
                out: a.out,
                baseline: a.baseline,
            }),
            Command::Import(a) => Config::Import(crate::import::command::ImportConfig {
                har: a.har,
                out: a.out,
                agents_csv: a.agents_csv,
            }),
        })
    }
}

/// `embedded`, or a URL: a remote target whose api and auth bases are the URL; its application
/// credentials come from `${AEAPI_CLIENT_ID}`/`${AEAPI_CLIENT_SECRET}` and its site from
/// `AEAPI_SITE_ID` unless the suite's own remote target provides them (see `apply_target`).
fn parse_target(s: &str) -> Result<Target, UsageError> {
    if s == "embedded" {
        return Ok(Target::Embedded);
    }
    if !(s.starts_with("http://") || s.starts_with("https://")) {
        return Err(UsageError(format!(
            "`--target {s}`: expected `embedded` or an http(s) URL"
        )));
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

/// A URL override keeps the suite's own remote settings and replaces only the bases.
fn apply_target(suite: &LoadedSuite, over: &Target) -> Result<Target, UsageError> {
    match (over, &suite.suite.target) {
        (Target::Remote(url), Target::Remote(own)) => {
            let mut t = own.clone();
            t.api.clone_from(&url.api);
            t.auth.clone_from(&url.auth);
            Ok(Target::Remote(t))
        }
        (Target::Remote(url), Target::Embedded) if url.site_id.is_empty() => Err(UsageError(
            "`--target URL` on a suite with an embedded target needs the site: set AEAPI_SITE_ID \
             (and AEAPI_CLIENT_ID, AEAPI_CLIENT_SECRET at run time)"
                .into(),
        )),
        (t, _) => Ok(t.clone()),
    }
}

/// Runs a parsed command line. `Err` is the harness failing (exit 3); main prints its chain.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let verbosity = Verbosity {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let mut console = Console::terminal(cli.color, verbosity);
    let config = match Config::from_cli(cli.command) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(console.err, "error: {e}");
            return Ok(Exit::Usage);
        }
    };
    match config {
        Config::Run(c) => Ok(cmd_run(&mut console, &c)),
        Config::Conform(c) => Ok(cmd_conform(&mut console, &c)),
        Config::Capacity(c) => Ok(cmd_capacity(&mut console, &c)),
        Config::Simulate(c) => cmd_simulate(&mut console, &c),
        Config::Validate(files) => Ok(cmd_validate(&mut console, &files)),
        Config::Merge(c) => Ok(cmd_merge(&mut console, &c)),
        Config::Import(c) => Ok(crate::import::command::run(
            &mut console.out,
            &mut console.err,
            &c,
        )),
    }
}

/// `validate`: loads every suite, prints every problem of every file (and `ok: FILE` for each
/// good one unless quiet; with counts when verbose). Exit 2 if any suite is invalid, else 0.
pub fn cmd_validate(console: &mut Console, files: &[PathBuf]) -> Exit {
    let mut exit = Exit::Passed;
    for f in files {
        match suite::load(f) {
            Ok(loaded) => {
                if console.verbosity.verbose > 0 {
                    let _ = writeln!(
                        console.out,
                        "ok: {} ({} personas, {} contracts, {} thresholds, {} agents in the pool)",
                        f.display(),
                        loaded.suite.personas.len(),
                        loaded.suite.contracts.len(),
                        loaded.thresholds.len(),
                        loaded.agents.len()
                    );
                } else if !console.verbosity.quiet {
                    let _ = writeln!(console.out, "ok: {}", f.display());
                }
            }
            Err(e) => {
                let _ = write!(console.err, "{}", e.render(console.color));
                exit = Exit::Usage;
            }
        }
    }
    exit
}

/// Loads a suite and applies the overrides; problems are printed and become `Err(exit)`.
/// (`run -v` and `conform -v` print the plan it returns.)
pub fn load_plan(console: &mut Console, c: &RunConfig) -> Result<plan::Plan, Exit> {
    let loaded = suite::load(&c.suite).map_err(|e| {
        let _ = write!(console.err, "{}", e.render(console.color));
        Exit::Usage
    })?;
    let usage = |console: &mut Console, e: &dyn std::fmt::Display| {
        let _ = writeln!(console.err, "error: {e}");
        Exit::Usage
    };
    let mut overrides = c.overrides.clone();
    if let Some(t) = &overrides.target {
        overrides.target = Some(apply_target(&loaded, t).map_err(|e| usage(console, &e))?);
    }
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&loaded.suite.name));
    plan::plan(loaded, &overrides, out).map_err(|e| usage(console, &e))
}

/// `reports/<suite-name>-<YYYYmmddTHHMMSSZ>/`, the name reduced to `[A-Za-z0-9_-]`.
pub fn default_out_dir(suite_name: &str) -> PathBuf {
    let name: String = suite_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    Path::new("reports").join(format!("{name}-{stamp}"))
}

/// `run`: the load run (see `runner::command::execute` for what it writes and its exit codes);
/// `--dry-run` prints the plan and sends nothing; `-v` prints the plan before running.
pub fn cmd_run(console: &mut Console, c: &RunConfig) -> Exit {
    let plan = match load_plan(console, c) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    if c.dry_run {
        let _ = writeln!(console.out, "{plan}");
        if !console.verbosity.quiet {
            let _ = writeln!(console.err, "note: --dry-run: nothing was sent");
        }
        return Exit::Passed;
    }
    if console.verbosity.verbose > 0 {
        let _ = writeln!(console.err, "{plan}");
    }
    crate::runner::command::execute(
        &plan,
        c.baseline.as_deref(),
        crate::runner::command::Io {
            out: &mut console.out,
            err: &mut console.err,
            quiet: console.verbosity.quiet,
        },
    )
}

/// `conform`: runs every case of the suite's contracts once (see `conform::execute` for what it
/// writes and its exit codes); `--only` selects cases by operation or case id.
pub fn cmd_conform(console: &mut Console, c: &RunConfig) -> Exit {
    let plan = match load_plan(console, c) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    if console.verbosity.verbose > 0 {
        let _ = writeln!(console.err, "{plan}");
    }
    crate::conform::execute(
        &plan,
        c.only.as_deref(),
        crate::conform::Io {
            out: &mut console.out,
            err: &mut console.err,
            quiet: console.verbosity.quiet,
            verbose: console.verbosity.verbose > 0,
        },
    )
}

/// `capacity`: the step search (see `capacity::execute` for what it writes and its exit codes).
pub fn cmd_capacity(console: &mut Console, c: &CapacityConfig) -> Exit {
    let loaded = match suite::load(&c.suite) {
        Ok(l) => l,
        Err(e) => {
            let _ = write!(console.err, "{}", e.render(console.color));
            return Exit::Usage;
        }
    };
    let target = match &c.target {
        Some(t) => match apply_target(&loaded, t) {
            Ok(t) => Some(t),
            Err(e) => {
                let _ = writeln!(console.err, "error: {e}");
                return Exit::Usage;
            }
        },
        None => None,
    };
    let search = crate::capacity::Search {
        by: c.by,
        from: c.from,
        to: c.to,
        step: c.step.unwrap_or(c.from),
        step_duration: c
            .step_duration
            .unwrap_or_else(|| loaded.suite.load.effective_duration()),
        require: c.require,
    };
    crate::capacity::execute(
        loaded,
        target,
        c.out.clone(),
        c.seed,
        &search,
        crate::runner::command::Io {
            out: &mut console.out,
            err: &mut console.err,
            quiet: console.verbosity.quiet,
        },
    )
}

/// Matches `name` against `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == name;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `simulate`: serves the simulator until Ctrl-C or SIGTERM. A bad `--config` is exit 2;
/// failing to bind is a harness error.
pub fn cmd_simulate(console: &mut Console, c: &SimulateConfig) -> anyhow::Result<Exit> {
    let config = match &c.config {
        Some(path) => match suite::load_yaml::<crate::sim::SimConfig>(path) {
            Ok(cfg) => cfg,
            Err(e) => {
                let _ = write!(console.err, "{}", e.render(console.color));
                return Ok(Exit::Usage);
            }
        },
        None => crate::sim::SimConfig::default(),
    };
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async {
        let handle = crate::sim::start(config, c.listen)
            .await
            .with_context(|| format!("cannot listen on {}", c.listen))?;
        let _ = writeln!(console.out, "AEAPI simulator listening on {}", handle.addr);
        let _ = writeln!(console.out, "  api base:      {}", handle.api_base);
        let _ = writeln!(console.out, "  auth base:     {}", handle.auth_base);
        let _ = writeln!(
            console.out,
            "  client id:     {}",
            crate::sim::DEV_CLIENT_ID
        );
        let _ = writeln!(
            console.out,
            "  client secret: {} (the reference's public sample secret)",
            crate::sim::DEV_CLIENT_SECRET
        );
        let _ = writeln!(console.out, "Press Ctrl-C to stop.");
        let _ = console.out.flush();
        shutdown_signal().await;
        if !console.verbosity.quiet {
            let _ = writeln!(console.err, "stopping");
        }
        handle.shutdown().await;
        Ok(Exit::Passed)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `merge`: see `report::merge::execute` for what it reads, writes and exits with.
pub fn cmd_merge(console: &mut Console, c: &MergeConfig) -> Exit {
    crate::report::merge::execute(
        &c.dirs,
        &c.out,
        c.baseline.as_deref(),
        crate::runner::command::Io {
            out: &mut console.out,
            err: &mut console.err,
            quiet: console.verbosity.quiet,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob("messages.*", "messages.get"));
        assert!(glob("*Engagement", "acceptEngagement"));
        assert!(glob("*", "token"));
        assert!(glob("token", "token"));
        assert!(!glob("token", "tokens"));
        assert!(!glob("a*b*c", "abca"));
        assert!(glob("a*b*c", "aXbYc"));
    }

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

    #[test]
    fn default_out_dir_is_name_and_utc_stamp() {
        let d = default_out_dir("my suite/1").display().to_string();
        assert!(d.starts_with("reports/my-suite-1-2"), "{d}");
        assert!(
            d.ends_with('Z') && d.len() == "reports/my-suite-1-".len() + 16,
            "{d}"
        );
    }
}
