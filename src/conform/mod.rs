//! `aeapi-harness conform`: every contract of a suite checked once, one case at a time.
//!
//! A suite's contracts become cases (`case`): a positive case per operation (its `request`,
//! judged by the contract's status, schema and budget, in JSON and in XML) and the negative
//! cases the contract lists (a parameter missing, an unknown id, another agent's engagement, no
//! or an expired token, a site outside the token, a late accept). The engine (`engine`) runs
//! them in dependency order against a world (`world`) it sets up through the API itself: a
//! token, a logged-in agent, engagements created through the customer-side calls and offered to
//! fresh agents. Results go to the terminal as a table and to `junit.xml` and `conform.json`
//! (`report`), secrets masked by the writers.
//!
//! Exit codes: 0 every case passed (or was skipped), 1 a case failed or could not be set up,
//! 2 a bad suite or selection, 3 the target was down at start or the reports could not be
//! written.

pub mod case;
pub mod engine;
pub mod report;
pub mod world;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::aeapi::client::Observed;
use crate::aeapi::token::TokenError;
use crate::check::{Contracts, Failure};
use crate::exit::Exit;
use crate::report::Secrets;
use crate::runner::agent::Credential;
use crate::runner::plan::{ResolvedTarget, RunPlan, TargetPlan};
use crate::suite::model::{OutputFormat, RequestData, Target};
use crate::suite::plan::Plan as SuitePlan;
use case::{CaseSpec, Wait};
use world::{Placement, World};

/// One way a response broke its case.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `status`, `schema`, `within`, `message`, ...
    pub check: &'static str,
    pub message: String,
    /// Schema violations: (JSON pointer, message with values masked).
    pub pointers: Vec<(String, String)>,
}

impl Problem {
    pub fn from_failure(check: &'static str, f: &Failure) -> Problem {
        match f {
            Failure::Schema(v) => Problem {
                check,
                message: "schema violation".into(),
                pointers: v.clone(),
            },
            other => Problem {
                check,
                message: other.to_string(),
                pointers: Vec::new(),
            },
        }
    }
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Passed,
    /// The target broke the case.
    Failed(Vec<Problem>),
    /// The case could not be run (its setup failed).
    Error(String),
    Skipped(String),
}

impl Verdict {
    /// `pass`, `FAIL`, `ERROR`, `skip`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Passed => "pass",
            Verdict::Failed(_) => "FAIL",
            Verdict::Error(_) => "ERROR",
            Verdict::Skipped(_) => "skip",
        }
    }
}

/// One case's result, with what a failure report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseOutcome {
    pub op: &'static str,
    /// The case's name (`positive`, `missing registeredId`, ...).
    pub case: String,
    pub format: OutputFormat,
    pub expected: String,
    pub verdict: Verdict,
    pub latency: Option<Duration>,
    pub request_line: String,
    pub actual: Option<u16>,
    /// The first bytes of the response body.
    pub excerpt: String,
}

impl CaseOutcome {
    pub fn new(spec: &CaseSpec) -> CaseOutcome {
        CaseOutcome {
            op: spec.op.name,
            case: spec.name.clone(),
            format: spec.format,
            expected: spec.expected(),
            verdict: Verdict::Passed,
            latency: None,
            request_line: String::new(),
            actual: None,
            excerpt: String::new(),
        }
    }

    pub fn fill(&mut self, obs: &Observed) {
        self.latency = Some(obs.latency);
        self.request_line = obs.request_line();
        self.actual = obs.status;
        self.excerpt = obs.excerpt();
    }

    /// `positive`, or `positive [xml]`.
    pub fn case_label(&self) -> String {
        match self.format {
            OutputFormat::Json => self.case.clone(),
            OutputFormat::Xml => format!("{} [xml]", self.case),
        }
    }
}

/// Everything a conformance run needs, built from a suite plan.
pub struct ConformPlan {
    pub suite_name: String,
    pub target: TargetPlan,
    /// Site, unit and group of a remote target (the embedded one takes the simulator's).
    pub placement: Placement,
    pub credentials: Vec<Credential>,
    pub contracts: Contracts,
    pub requests: BTreeMap<String, RequestData>,
    pub cases: Vec<CaseSpec>,
    pub out_dir: PathBuf,
    pub secrets: Vec<String>,
    /// Things worth saying before the run (printed unless quiet).
    pub notes: Vec<String>,
}

impl ConformPlan {
    /// The cases `only` selects (comma-separated `*` patterns matched against the operation or
    /// the case id), with the run plan's target, agents and compiled contracts.
    pub fn build(plan: &SuitePlan, only: Option<&str>) -> Result<ConformPlan, String> {
        let mut run = RunPlan::build(plan).map_err(|e| e.to_string())?;
        if let TargetPlan::Embedded(config) = &mut run.target {
            // The only engagements are the ones the cases create: built-in customers would be
            // offered to the fresh agents first.
            config.arrival_rate = 0.0;
        }
        let suite = &plan.suite.suite;
        let patterns: Vec<&str> = only
            .map(|o| {
                o.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let select = |op: &str, id: &str| {
            patterns.is_empty()
                || patterns
                    .iter()
                    .any(|p| crate::cli::glob(p, op) || crate::cli::glob(p, id))
        };
        let cases = case::expand(&suite.contracts, &select);
        if cases.is_empty() {
            return Err(match only {
                Some(o) => format!("`--only {o}` matches no case of the suite"),
                None => "the suite has no contracts to check".into(),
            });
        }
        let needs_agents = cases
            .iter()
            .any(|c| c.needs >= crate::suite::model::Needs::Session);
        if needs_agents && run.credentials.len() < 2 {
            return Err(format!(
                "conformance needs at least two agents in the pool (a shared one and fresh ones \
                 for engagements); the pool has {}",
                run.credentials.len()
            ));
        }
        if cases.iter().any(|c| c.needs.conference()) && run.credentials.len() < 3 {
            return Err(format!(
                "conference cases need at least three agents in the pool (a shared one, an owner \
                 and a guest); the pool has {}",
                run.credentials.len()
            ));
        }
        let placement = match &suite.target {
            Target::Remote(t) => Placement {
                site_id: t.site_id.clone(),
                business_unit_id: t.business_unit_id.clone().unwrap_or_default(),
                agent_group_id: t.agent_group_id.clone().unwrap_or_default(),
            },
            Target::Embedded => Placement {
                site_id: String::new(),
                business_unit_id: String::new(),
                agent_group_id: String::new(),
            },
        };
        let bare: Vec<&str> = suite
            .contracts
            .iter()
            .filter(|(op, c)| {
                c.request.is_none()
                    && cases.iter().any(|s| s.op.name == op.as_str())
                    && crate::aeapi::ops::find(op).is_some_and(|o| !o.required.is_empty())
            })
            .map(|(op, _)| op.as_str())
            .collect();
        let notes = if bare.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "no `request:` for {}: their positive cases send no parameters (see \
                 suites/conformance.yaml for request data)",
                bare.join(", ")
            )]
        };
        Ok(ConformPlan {
            notes,
            suite_name: run.suite_name.clone(),
            secrets: run.secrets(),
            target: run.target,
            placement,
            credentials: run.credentials,
            contracts: run.contracts,
            requests: suite
                .contracts
                .iter()
                .map(|(op, c)| (op.clone(), c.request.clone().unwrap_or_default()))
                .collect(),
            cases,
            out_dir: plan.out_dir.clone(),
        })
    }
}

/// How the command talks to the terminal.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub quiet: bool,
    /// `-v`: a line on stderr as each case finishes.
    pub verbose: bool,
}

/// `conform`: plan, run, report, exit code.
pub fn execute(plan: &SuitePlan, only: Option<&str>, io: Io<'_>) -> Exit {
    match ConformPlan::build(plan, only) {
        Ok(cp) => execute_plan(cp, io),
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            Exit::Usage
        }
    }
}

/// Runs a built plan (tests use it to point a plan at a chosen target).
pub fn execute_plan(plan: ConformPlan, io: Io<'_>) -> Exit {
    let runtime = match crate::runner::command::runtime(io.err) {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    let out_dir = plan.out_dir.clone();
    let suite_name = plan.suite_name.clone();
    let target = plan.target.label();
    if !io.quiet {
        for n in &plan.notes {
            let _ = writeln!(io.err, "note: {n}");
        }
        let _ = writeln!(
            io.err,
            "conform: {} cases against {target}",
            plan.cases.len()
        );
    }
    let started = time::OffsetDateTime::now_utc();
    let progress = Progress {
        err: (!io.quiet).then_some(&mut *io.err),
        verbose: io.verbose,
    };
    let result = runtime.block_on(run(plan, progress));
    runtime.shutdown_timeout(Duration::from_secs(2));
    let mut meta = report::Meta {
        suite: suite_name,
        target,
        started,
        harness_error: None,
    };
    let (outcomes, secrets) = match result {
        Ok(r) => r,
        Err(RunFailure { message, secrets }) => {
            // Reports still say why, so CI shows an error rather than nothing.
            let message = secrets.mask(&message).into_owned();
            let _ = writeln!(io.err, "error: {message}");
            meta.harness_error = Some(message);
            let written = std::fs::create_dir_all(&out_dir)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    report::write(&out_dir, &meta, &[], &secrets).map_err(|e| e.to_string())
                });
            if let Err(e) = written {
                let _ = writeln!(io.err, "error: {e}");
            }
            return Exit::Harness;
        }
    };
    if let Err(exit) = crate::runner::command::report_dir(&out_dir, io.err) {
        return exit;
    }
    if !io.quiet {
        let _ = write!(io.out, "{}", secrets.mask(&report::table(&outcomes)));
    }
    if let Err(e) = report::write(&out_dir, &meta, &outcomes, &secrets) {
        let _ = writeln!(io.err, "error: {e}");
        return Exit::Harness;
    }
    if !io.quiet {
        let _ = writeln!(io.err, "reports: {}", out_dir.display());
    }
    let passed = outcomes
        .iter()
        .all(|o| matches!(o.verdict, Verdict::Passed | Verdict::Skipped(_)));
    if passed { Exit::Passed } else { Exit::Failed }
}

/// Why the run could not happen at all (exit code 3).
struct RunFailure {
    message: String,
    secrets: Secrets,
}

type RunOk = (Vec<CaseOutcome>, Secrets);

/// Where the run reports as it goes: long waits always (unless quiet), each case with `-v`.
struct Progress<'a> {
    err: Option<&'a mut dyn Write>,
    verbose: bool,
}

impl Progress<'_> {
    fn say(&mut self, line: &str) {
        if let Some(w) = self.err.as_mut() {
            let _ = writeln!(w, "{line}");
        }
    }

    /// Notes a wait longer than a few seconds before a waiting case.
    fn wait(&mut self, spec: &CaseSpec, world: &World) {
        let secs = match spec.wait {
            Wait::None => return,
            Wait::TokenExpiry => world.expired_deadline().map_or(0, |d| {
                d.saturating_duration_since(std::time::Instant::now())
                    .as_secs()
            }),
            Wait::AcceptWindow => (world.accept_window + world.accept_margin).as_secs(),
        };
        if secs > 5 {
            let what = match spec.wait {
                Wait::TokenExpiry => "for the token to expire",
                _ => "for the accept window to pass",
            };
            self.say(&format!(
                "note: {}: waiting up to {secs} s {what} (`skip: remote` leaves such cases out)",
                spec.id()
            ));
        }
    }

    fn done(&mut self, i: usize, n: usize, o: &CaseOutcome) {
        if self.verbose {
            let latency = o.latency.map_or(String::new(), |l| {
                format!(" ({:.1} ms)", l.as_secs_f64() * 1e3)
            });
            self.say(&format!(
                "[{}/{n}] {} / {}: {}{latency}",
                i + 1,
                o.op,
                o.case_label(),
                o.verdict.label()
            ));
        }
    }
}

async fn run(plan: ConformPlan, mut progress: Progress<'_>) -> Result<RunOk, RunFailure> {
    let mut secrets = Secrets::new(plan.secrets.clone());
    let fail = |message: String, secrets: &Secrets| RunFailure {
        message,
        secrets: secrets.clone(),
    };
    let (target, placement, window, margin, sim, remote) = match &plan.target {
        TargetPlan::Embedded(config) => {
            let handle = crate::sim::start((**config).clone(), ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| fail(format!("cannot start the simulator: {e}"), &secrets))?;
            let placement = Placement {
                site_id: config.site_id.clone(),
                business_unit_id: config.business_unit.clone(),
                agent_group_id: config.agent_group.clone(),
            };
            let margin = config.reaper_interval.0 * 2 + Duration::from_millis(100);
            let target = ResolvedTarget {
                site_id: config.site_id.clone(),
                ..ResolvedTarget::embedded(&handle)
            };
            let window = config.accept_window.0;
            (target, placement, window, margin, Some(handle), false)
        }
        TargetPlan::Remote(t) => (
            t.clone(),
            plan.placement.clone(),
            world::REMOTE_ACCEPT_WINDOW,
            world::WAIT_MARGIN,
            None,
            true,
        ),
    };
    secrets.push(target.client_secret.clone());
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(target.insecure_tls)
        .build()
        .map_err(|e| fail(format!("could not build the HTTP client: {e}"), &secrets))?;
    let mut world = World::new(
        http,
        target.clone(),
        placement,
        plan.credentials.clone(),
        window,
        margin,
    );
    secrets.push(world.basic_auth());
    // The target must answer before any case runs: a target that is down is exit code 3.
    if let (Err(e @ TokenError::Transport { .. }), _) = world.tokens.get().await {
        let message = format!("the target at {} is unreachable: {e}", target.auth_base);
        return Err(fail(message, &secrets));
    }
    if plan.cases.iter().any(|c| c.wait == Wait::TokenExpiry) {
        let _ = world.prepare_expired().await;
    }
    let mut outcomes = Vec::with_capacity(plan.cases.len());
    let n = plan.cases.len();
    let mut noted = Vec::new();
    for (i, spec) in plan.cases.iter().enumerate() {
        if !noted.contains(&spec.wait) && spec.skip.is_none() {
            noted.push(spec.wait);
            progress.wait(spec, &world);
        }
        let request = plan.requests.get(spec.op.name).cloned().unwrap_or_default();
        let o = engine::run_case(&mut world, &plan.contracts, &request, spec, remote).await;
        progress.done(i, n, &o);
        outcomes.push(o);
    }
    for t in &world.seen_tokens {
        secrets.push(t.clone());
    }
    if let Some(h) = sim {
        h.shutdown().await;
    }
    Ok((outcomes, secrets))
}
