//! `aeapi-harness conform`: every contract of a suite checked once, one case at a time.
//!
//! A suite's contracts become cases (`case`): a positive case per operation (its `request`,
//! judged by the contract's status, schema and budget, in JSON and in XML) and the negative
//! cases the contract lists (a parameter missing, an unknown id, another agent's engagement, no
//! or an expired token, a site outside the token, a late accept). The engine (`engine`) runs
//! them in dependency order against a world (`world`) it sets up through the API itself: a
//! token, a logged-in agent, engagements created through the customer-side calls and offered to
//! fresh agents. Results go to `junit.xml` and `conform.json` (`report`), secrets masked by the
//! writers; the command (`app::conform`) prints the table and maps the outcome to an exit code.

pub mod case;
pub mod engine;
pub mod report;
pub mod snapshot;
pub mod world;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::aeapi::client::Observed;
use crate::aeapi::token::TokenError;
use crate::check::{Contracts, Failure};
use crate::report::Secrets;
use crate::runner::RunError;
use crate::runner::credential::Credential;
use crate::runner::plan::{RunPlan, TargetPlan};
use crate::suite::Suite;
use crate::suite::model::{OutputFormat, RequestData};
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
    /// The response's content type and the schema inferred from its body (for
    /// `--snapshot`/`--against`).
    pub observed: Observation,
}

/// What a case's response looked like, values left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub content_type: Option<String>,
    /// The schema of the decoded body (`import::schema`), when it had one.
    pub schema: Option<serde_json::Value>,
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
            observed: Observation::default(),
        }
    }

    pub fn fill(&mut self, obs: &Observed) {
        self.latency = Some(obs.latency);
        self.request_line = obs.request_line();
        self.actual = obs.status;
        self.excerpt = obs.excerpt();
        self.observed = Observation {
            content_type: obs.content_type.clone(),
            schema: obs.body.as_ref().map(crate::import::drift::schema_of),
        };
    }

    /// `positive`, or `positive [xml]`.
    pub fn case_label(&self) -> String {
        match self.format {
            OutputFormat::Json => self.case.clone(),
            OutputFormat::Xml => format!("{} [xml]", self.case),
        }
    }
}

/// Everything a conformance run needs, built from the resolved plan.
pub struct ConformPlan {
    pub suite_name: String,
    pub target: TargetPlan,
    /// Site, unit and group of the target (an embedded one's are the simulator's own).
    pub placement: Placement,
    pub credentials: Vec<Credential>,
    pub contracts: Contracts,
    pub requests: BTreeMap<String, RequestData>,
    pub cases: Vec<CaseSpec>,
    pub out_dir: PathBuf,
    pub secrets: Vec<String>,
    /// Things worth saying before the run (printed unless quiet).
    pub notes: Vec<String>,
    /// The whole run's bound: past it, the cases not yet run are errors and the run ends
    /// (default [`DEFAULT_TIME_BOUND`]; `conform --max-time`).
    pub time_bound: Duration,
    /// Each request's bound, connect to last byte (`load.timeout`, default 10 s).
    pub request_timeout: Duration,
    /// The response body cap (`load.max_body`, default 16 MiB).
    pub body_limit: usize,
}

impl ConformPlan {
    /// The world's placement, accept window and wait margin, and whether the target is remote:
    /// an embedded simulator's own settings, or a remote target's defaults.
    fn world_settings(&self) -> (Placement, Duration, Duration, bool) {
        match &self.target {
            TargetPlan::Embedded(config) => (
                Placement::of_simulator(config),
                config.accept_window.0,
                config.reaper_interval.0 * 2 + Duration::from_millis(100),
                false,
            ),
            TargetPlan::Remote(_) => (
                self.placement.clone(),
                world::REMOTE_ACCEPT_WINDOW,
                world::WAIT_MARGIN,
                true,
            ),
        }
    }
}

/// How long a whole `conform` run may take by default: 10 minutes (the shipped suite takes
/// about a minute against the embedded simulator).
pub const DEFAULT_TIME_BOUND: Duration = Duration::from_secs(600);

/// Why a conformance plan cannot be built (a usage error, exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConformError {
    #[error(transparent)]
    Plan(#[from] RunError),
    #[error("`--only {0}` matches no case of the suite")]
    NoMatch(String),
    #[error("the suite has no contracts to check")]
    NoContracts,
    #[error(
        "conformance needs at least two agents in the pool (a shared one and fresh ones for \
         engagements); the pool has {0}"
    )]
    TwoAgents(usize),
    #[error(
        "conference cases need at least three agents in the pool (a shared one, an owner and a \
         guest); the pool has {0}"
    )]
    ThreeAgents(usize),
}

impl ConformPlan {
    /// [`ConformPlan::new`] from a suite plan, resolved here.
    pub fn build(plan: &SuitePlan, only: Option<&str>) -> Result<ConformPlan, ConformError> {
        ConformPlan::new(RunPlan::build(plan)?, only)
    }

    /// The cases `only` selects (comma-separated `*` patterns matched against the operation or
    /// the case id), with the resolved plan's target, agents and compiled contracts.
    pub fn new(mut run: RunPlan, only: Option<&str>) -> Result<ConformPlan, ConformError> {
        if let TargetPlan::Embedded(config) = &mut run.target {
            // The only engagements are the ones the cases create: built-in customers would be
            // offered to the fresh agents first.
            config.arrival_rate = 0.0;
        }
        let suite = &run.suite.suite.suite;
        let cases = select(suite, only)?;
        let needs_agents = cases
            .iter()
            .any(|c| c.needs >= crate::suite::model::Needs::Session);
        let pool = run.credentials.len();
        if needs_agents && pool < 2 {
            return Err(ConformError::TwoAgents(pool));
        }
        if cases.iter().any(|c| c.needs.conference()) && pool < 3 {
            return Err(ConformError::ThreeAgents(pool));
        }
        Ok(ConformPlan {
            notes: notes(suite, &cases),
            suite_name: run.suite_name.clone(),
            secrets: run.secrets(),
            requests: suite
                .contracts
                .iter()
                .map(|(op, c)| (op.clone(), c.request.clone().unwrap_or_default()))
                .collect(),
            cases,
            out_dir: run.out_dir.clone(),
            target: run.target,
            placement: run.placement,
            credentials: run.credentials,
            contracts: run.contracts,
            time_bound: DEFAULT_TIME_BOUND,
            request_timeout: run.request_timeout,
            body_limit: run.body_limit,
        })
    }
}

/// The cases of `suite`'s contracts that `only` selects.
fn select(suite: &Suite, only: Option<&str>) -> Result<Vec<CaseSpec>, ConformError> {
    let patterns: Vec<&str> = only
        .map(|o| {
            o.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let select = |op: &str, id: &str| {
        patterns.is_empty() || patterns.iter().any(|p| glob(p, op) || glob(p, id))
    };
    let cases = case::expand(&suite.contracts, &select);
    if cases.is_empty() {
        return Err(match only {
            Some(o) => ConformError::NoMatch(o.to_string()),
            None => ConformError::NoContracts,
        });
    }
    Ok(cases)
}

/// A note for the operations whose positive cases send no parameters though they need some.
fn notes(suite: &Suite, cases: &[CaseSpec]) -> Vec<String> {
    let bare: Vec<&str> = suite
        .contracts
        .iter()
        .filter(|(op, c)| {
            c.request.is_none()
                && cases.iter().any(|s| s.op.name == op.as_str())
                && crate::aeapi::ops::find(op).is_some_and(|o| o.required().next().is_some())
        })
        .map(|(op, _)| op.as_str())
        .collect();
    if bare.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "no `request:` for {}: their positive cases send no parameters (see \
         suites/conformance.yaml for request data)",
        bare.join(", ")
    )]
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

/// Why the run could not happen at all (exit code 3), with the secrets known by then.
pub struct RunFailure {
    pub message: String,
    pub secrets: Secrets,
}

/// Every case's outcome, every secret seen (tokens included), for the writers to mask, and
/// what cut the run short (SIGTERM, Ctrl-C, the time bound), if something did.
pub type RunOk = (Vec<CaseOutcome>, Secrets, Option<String>);

/// Where the run reports as it goes: long waits always (unless quiet), each case with `-v`.
pub struct Progress<'a> {
    pub err: Option<&'a mut dyn Write>,
    pub verbose: bool,
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

/// The cases of a plan, run in order against one world until the end, a signal or the plan's
/// time bound.
struct Cases<'p> {
    plan: &'p ConformPlan,
    remote: bool,
    deadline: tokio::time::Instant,
}

impl Cases<'_> {
    /// Runs every case; once a signal (`stop`) or the deadline cuts the run short, every case
    /// left is an error outcome saying why. Returns the outcomes and what cut the run short.
    async fn run<S>(
        &self,
        world: &mut World,
        stop: &mut S,
        mut interrupted: Option<String>,
        progress: &mut Progress<'_>,
    ) -> (Vec<CaseOutcome>, Option<String>)
    where
        S: std::future::Future<Output = &'static str> + Unpin,
    {
        let (plan, remote, deadline) = (self.plan, self.remote, self.deadline);
        let bound = plan.time_bound.as_secs();
        let mut outcomes = Vec::with_capacity(plan.cases.len());
        let n = plan.cases.len();
        let mut noted = Vec::new();
        for (i, spec) in plan.cases.iter().enumerate() {
            if interrupted.is_none() && tokio::time::Instant::now() >= deadline {
                interrupted = Some(format!("conform exceeded its time bound of {bound} s"));
            }
            if let Some(why) = &interrupted {
                let mut o = CaseOutcome::new(spec);
                o.verdict = Verdict::Error(format!("not run: {why}"));
                outcomes.push(o);
                continue;
            }
            if !noted.contains(&spec.wait) && spec.skip.is_none() {
                noted.push(spec.wait);
                progress.wait(spec, world);
            }
            let request = plan.requests.get(spec.op.name).cloned().unwrap_or_default();
            let case = engine::run_case(world, &plan.contracts, &request, spec, remote);
            let o = tokio::select! {
                o = case => o,
                why = &mut *stop => {
                    interrupted = Some(why.to_string());
                    let mut o = CaseOutcome::new(spec);
                    o.verdict = Verdict::Error(format!("cut short: {why}"));
                    o
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let why = format!("conform exceeded its time bound of {bound} s");
                    let mut o = CaseOutcome::new(spec);
                    o.verdict = Verdict::Error(format!("cut short: {why}"));
                    interrupted = Some(why);
                    o
                }
            };
            progress.done(i, n, &o);
            outcomes.push(o);
        }
        (outcomes, interrupted)
    }
}

/// Runs every case of `plan` in order against its target (the embedded simulator started and
/// stopped here).
pub async fn run(plan: ConformPlan, mut progress: Progress<'_>) -> Result<RunOk, RunFailure> {
    let mut secrets = Secrets::new(plan.secrets.clone());
    let fail = |message: String, secrets: &Secrets| RunFailure {
        message,
        secrets: secrets.clone(),
    };
    let (target, sim) = plan
        .target
        .start()
        .await
        .map_err(|e| fail(format!("cannot start the simulator: {e}"), &secrets))?;
    let (placement, window, margin, remote) = plan.world_settings();
    secrets.push(target.client_secret.clone());
    // From here on a signal or the bound ends the run through its reports.
    let deadline = tokio::time::Instant::now() + plan.time_bound;
    let stop = crate::runner::signal::stop_requested();
    tokio::pin!(stop);
    let bound = plan.time_bound.as_secs();
    let cut = |why: &str| format!("conform cut short: {why} while waiting for the first token");
    let http = crate::aeapi::client::http_client(target.insecure_tls, plan.request_timeout)
        .map_err(|e| fail(format!("could not build the HTTP client: {e}"), &secrets))?;
    let mut world = World::new(
        http,
        target.clone(),
        placement,
        plan.credentials.clone(),
        window,
        margin,
    )
    .with_limits(plan.request_timeout, plan.body_limit);
    secrets.push(world.basic_auth());
    // The target must answer before any case runs: a target that is down is exit code 3.
    let first = tokio::select! {
        r = world.tokens.get() => r.0,
        why = &mut stop => return Err(fail(cut(why), &secrets)),
        _ = tokio::time::sleep_until(deadline) => {
            return Err(fail(format!("conform exceeded its time bound of {bound} s"), &secrets));
        }
    };
    if let Err(e @ (TokenError::Transport { .. } | TokenError::Timeout { .. })) = first {
        let message = format!("the target at {} is unreachable: {e}", target.auth_base);
        return Err(fail(message, &secrets));
    }
    let mut interrupted = None;
    if plan.cases.iter().any(|c| c.wait == Wait::TokenExpiry) {
        tokio::select! {
            _ = world.prepare_expired() => {}
            why = &mut stop => interrupted = Some(why.to_string()),
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    let cases = Cases {
        plan: &plan,
        remote,
        deadline,
    };
    let (outcomes, interrupted) = cases
        .run(&mut world, &mut stop, interrupted, &mut progress)
        .await;
    for t in &world.seen_tokens {
        secrets.push(t.clone());
    }
    if let Some(h) = sim {
        h.shutdown().await;
    }
    Ok((outcomes, secrets, interrupted))
}

#[cfg(test)]
mod tests {
    use super::glob;

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
}
