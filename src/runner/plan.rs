//! The resolved plan, built once from a suite plan (suite + flags): the target (embedded
//! simulator settings or a remote with resolved secrets), where customers and conversations are
//! placed (site, unit, group: the simulator's own for an embedded target), the credential pool,
//! personas, compiled contracts, thresholds, shard and goose's test plan. `run`, `conform` and
//! every `capacity` step execute one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::RunError;
use super::arrivals::Arrivals;
use super::credential::Credential;
use super::customers::CustomerPlan;
use super::persona::PersonaPlan;
use crate::aeapi::token::TokenRequest;
use crate::check::{Contract, Contracts};
use crate::sim::{DEV_CLIENT_ID, DEV_CLIENT_SECRET, SimConfig, SimHandle};
use crate::suite::LoadedSuite;
use crate::suite::model::{Clients, Grant, OutputFormat, RemoteTarget, Suite, Target};
use crate::suite::plan::Plan as SuitePlan;
use crate::suite::values::{Distribution, Range};

/// Where the run goes.
#[derive(Clone)]
pub enum TargetPlan {
    /// Start the simulator in this process with these settings.
    Embedded(Box<SimConfig>),
    Remote(ResolvedTarget),
}

/// A target with its secrets read from the environment.
#[derive(Clone)]
pub struct ResolvedTarget {
    pub api_base: String,
    pub auth_base: String,
    pub client_id: String,
    pub client_secret: String,
    pub password_grant: bool,
    pub site_id: String,
    pub output: OutputFormat,
    pub insecure_tls: bool,
}

impl ResolvedTarget {
    /// The embedded simulator's target (started with `config`), with its development
    /// credentials and its site.
    pub fn embedded(handle: &SimHandle, config: &SimConfig) -> Self {
        ResolvedTarget {
            api_base: handle.api_base.clone(),
            auth_base: handle.auth_base.clone(),
            client_id: DEV_CLIENT_ID.to_string(),
            client_secret: DEV_CLIENT_SECRET.to_string(),
            password_grant: false,
            site_id: config.site_id.clone(),
            output: OutputFormat::Json,
            insecure_tls: false,
        }
    }

    pub fn token_request(&self) -> TokenRequest {
        TokenRequest {
            url: format!(
                "{}/oauth-server/oauth/token",
                self.auth_base.trim_end_matches('/')
            ),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            password_grant: None,
        }
    }

    /// Every secret of this target, for the report writers to mask.
    pub fn secrets(&self) -> Vec<String> {
        vec![self.client_secret.clone()]
    }
}

/// Site, unit and group for customer calls and `${variables}`.
#[derive(Debug, Clone)]
pub struct Placement {
    pub site_id: String,
    pub business_unit_id: String,
    pub agent_group_id: String,
}

impl Placement {
    /// Where the embedded simulator started with `config` puts customers.
    pub fn of_simulator(config: &SimConfig) -> Placement {
        Placement {
            site_id: config.site_id.clone(),
            business_unit_id: config.business_unit.clone(),
            agent_group_id: config.agent_group.clone(),
        }
    }

    /// A remote target's site, unit and group (empty when the suite names none).
    pub fn of_remote(t: &RemoteTarget) -> Placement {
        Placement {
            site_id: t.site_id.clone(),
            business_unit_id: t.business_unit_id.clone().unwrap_or_default(),
            agent_group_id: t.agent_group_id.clone().unwrap_or_default(),
        }
    }
}

impl TargetPlan {
    /// Starts the target: the embedded simulator on 127.0.0.1 (a free port), with its handle
    /// to stop it, or the remote target as resolved.
    pub async fn start(&self) -> std::io::Result<(ResolvedTarget, Option<SimHandle>)> {
        match self {
            TargetPlan::Embedded(config) => {
                let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                let handle = crate::sim::start((**config).clone(), listen).await?;
                Ok((ResolvedTarget::embedded(&handle, config), Some(handle)))
            }
            TargetPlan::Remote(t) => Ok((t.clone(), None)),
        }
    }

    /// The target for people: `embedded simulator`, or the API base URL.
    pub fn label(&self) -> String {
        match self {
            TargetPlan::Embedded(_) => "embedded simulator".to_string(),
            TargetPlan::Remote(t) => t.api_base.clone(),
        }
    }
}

/// Everything a run needs, every decision made once.
pub struct RunPlan {
    /// The suite plan it was resolved from: the suite (its thresholds and baseline policy), the
    /// shard, the report directory.
    pub suite: SuitePlan,
    pub suite_name: String,
    pub target: TargetPlan,
    /// Site, unit and group of the target (the simulator's own when embedded).
    pub placement: Placement,
    pub credentials: Vec<Credential>,
    pub personas: Vec<Arc<PersonaPlan>>,
    pub contracts: Contracts,
    /// (agents, ramp to them, hold) per step.
    pub steps: Vec<(u32, Duration, Duration)>,
    pub seed: u64,
    pub request_timeout: Duration,
    /// The response body cap (`load.max_body`, default 16 MiB).
    pub body_limit: usize,
    pub poll_timeout: Duration,
    /// Extra time past the plan before the run is cut short.
    pub grace: Duration,
    pub out_dir: PathBuf,
    pub show_progress: bool,
    /// Harness-driven customers, if the suite asks for them.
    pub customers: Option<CustomerPlan>,
    /// Arrival-rate changes of a stepped load (`load.steps[i].arrival_rate`), for the embedded
    /// simulator's customers and the harness's own.
    pub arrivals: Arrivals,
    /// One HTTP client (with cookies) per agent instead of one shared pool.
    pub per_agent_clients: bool,
    /// When the load starts: at once, at an instant, or at a rendezvous of the shards.
    pub start: super::rendezvous::Start,
}

/// `load.max_body` in bytes, or the default cap.
pub fn body_limit(max_body: Option<u64>) -> usize {
    max_body.map_or(crate::aeapi::client::DEFAULT_BODY_LIMIT, |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    })
}

const DEFAULT_DURATION: Duration = Duration::from_secs(30);

impl RunPlan {
    /// Builds the runner's plan from a suite plan (overrides already applied by `suite::plan`).
    /// Secrets are read from the environment here; an unset one is a `RunError::Plan`.
    pub fn build(plan: &SuitePlan) -> Result<RunPlan, RunError> {
        let loaded = &plan.suite;
        let suite = &loaded.suite;
        let load = &suite.load;
        if let Some(i) = load.steps.iter().position(|s| s.personas.is_some()) {
            return Err(RunError::Plan(format!(
                "load.steps[{i}]: a per-step `personas` mix is not supported by `run` yet (goose \
                 fixes each agent's persona at launch); set the mix with the personas' weights"
            )));
        }
        let (steps, arrivals) = steps_and_arrivals(suite);
        if steps.iter().all(|s| s.0 == 0) {
            return Err(RunError::Plan("the load has no agents".into()));
        }
        let credentials = loaded
            .agents
            .iter()
            .map(|a| {
                Ok(Credential {
                    username: a.username.clone(),
                    password: a
                        .password
                        .resolve()
                        .map_err(|e| RunError::Plan(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, RunError>>()?;
        if credentials.is_empty() {
            return Err(RunError::Plan("the agent pool is empty".into()));
        }
        let (target, placement) = match &suite.target {
            Target::Embedded => {
                let mut config = suite.simulator.clone().unwrap_or_default();
                embedded_settings(&mut config, suite, &credentials);
                let placement = Placement::of_simulator(&config);
                (TargetPlan::Embedded(Box::new(config)), placement)
            }
            Target::Remote(t) => (
                TargetPlan::Remote(remote_target(t)?),
                Placement::of_remote(t),
            ),
        };
        Ok(RunPlan {
            suite: plan.clone(),
            suite_name: suite.name.clone(),
            target,
            credentials,
            personas: personas(suite)?,
            contracts: contracts(loaded),
            steps,
            seed: load.seed.unwrap_or(1),
            request_timeout: load.timeout.map_or(Duration::from_secs(10), |t| t.0),
            body_limit: body_limit(load.max_body),
            poll_timeout: Duration::from_secs(60),
            grace: Duration::from_secs(30),
            out_dir: plan.out_dir.clone(),
            show_progress: true,
            customers: customer_plan(suite, &placement),
            placement,
            arrivals,
            per_agent_clients: load.clients == Clients::PerAgent,
            start: super::rendezvous::Start::Now,
        })
    }

    /// The whole planned time (ramps and holds).
    pub fn total_time(&self) -> Duration {
        self.steps.iter().map(|(_, r, h)| *r + *h).sum()
    }

    /// goose's `--test-plan`: "users,timespan;..." (each step moves to `users` over
    /// `timespan`), ending with an immediate stop.
    /// A segment at the agent count of the one before is a hold: an empty one is left out
    /// (goose 0.19 never leaves a zero-length step that changes no user count) and one after a
    /// hold joins it.
    pub fn goose_test_plan(&self) -> String {
        // (agents, seconds, is a hold)
        let mut segments: Vec<(u32, u64, bool)> = Vec::with_capacity(self.steps.len() * 2 + 1);
        let mut push = |agents: u32, secs: u64| {
            let before = segments.last().map_or(0, |s| s.0);
            let hold = agents == before;
            match segments.last_mut() {
                _ if hold && secs == 0 => {}
                Some(last) if hold && last.2 => last.1 += secs,
                _ => segments.push((agents, secs, hold)),
            }
        };
        for (agents, ramp, hold) in &self.steps {
            push(*agents, ceil_secs(*ramp));
            push(*agents, ceil_secs(*hold).max(1));
        }
        let mut parts: Vec<String> = segments
            .iter()
            .map(|(agents, secs, _)| format!("{agents},{secs}s"))
            .collect();
        parts.push("0,0s".to_string());
        parts.join(";")
    }

    /// Every secret the run knows, for the report writers to mask.
    pub fn secrets(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .credentials
            .iter()
            .map(|c| c.password.clone())
            .collect();
        if let TargetPlan::Remote(t) = &self.target {
            s.extend(t.secrets());
        }
        s.push(DEV_CLIENT_SECRET.to_string());
        s.sort();
        s.dedup();
        s
    }
}

/// (agents, ramp, hold) per step, and the arrival-rate changes of a stepped load, at the
/// offsets where goose starts each step (whole seconds, a hold of at least one).
fn steps_and_arrivals(suite: &Suite) -> (Vec<(u32, Duration, Duration)>, Arrivals) {
    let load = &suite.load;
    let ramp = load.ramp.map_or(Duration::ZERO, |r| r.0);
    if load.steps.is_empty() {
        let hold = load.duration.map_or(DEFAULT_DURATION, |d| d.0);
        return (vec![(load.agents, ramp, hold)], Arrivals::default());
    }
    let steps = load
        .steps
        .iter()
        .map(|s| (s.agents, ramp, s.duration.0))
        .collect();
    let mut arrivals = Arrivals::default();
    let mut at = Duration::ZERO;
    for step in &load.steps {
        if let Some(r) = step.arrival_rate {
            arrivals.changes.push((at, r.per_second));
        }
        at += Duration::from_secs(ceil_secs(ramp) + ceil_secs(step.duration.0).max(1));
    }
    (steps, arrivals)
}

/// The suite's personas (one default persona when it names none).
fn personas(suite: &Suite) -> Result<Vec<Arc<PersonaPlan>>, RunError> {
    if suite.personas.is_empty() {
        let p: crate::suite::model::Persona = serde_yaml::from_str("weight: 1")
            .map_err(|e| RunError::Plan(format!("default persona: {e}")))?;
        return Ok(vec![Arc::new(PersonaPlan::from_suite("default", &p))]);
    }
    Ok(suite
        .personas
        .iter()
        .map(|(name, p)| Arc::new(PersonaPlan::from_suite(name, p)))
        .collect())
}

/// Harness-driven customers from `load.customers`, on the target's site, unit and group.
fn customer_plan(suite: &Suite, placement: &Placement) -> Option<CustomerPlan> {
    let c = suite.load.customers.as_ref()?;
    let (site, unit, group) = (
        placement.site_id.clone(),
        placement.business_unit_id.clone(),
        placement.agent_group_id.clone(),
    );
    Some(CustomerPlan {
        rate: c.rate.per_second,
        lines: c.lines.unwrap_or(Range { min: 2, max: 4 }),
        think: c.think.unwrap_or(Distribution::Uniform(
            Duration::from_secs(2),
            Duration::from_secs(5),
        )),
        patience: c.patience.map_or(Duration::from_secs(60), |p| p.0),
        site_id: site,
        business_unit_id: unit,
        agent_group_id: group,
    })
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Applies the suite's load to the embedded simulator: its arrival rate (`load.arrival_rate`
/// wins over the `simulator:` section's), seed, and an agent directory holding exactly the
/// run's pool.
fn embedded_settings(config: &mut SimConfig, suite: &Suite, credentials: &[Credential]) {
    if let Some(rate) = suite.load.arrival_rate {
        config.arrival_rate = rate.per_second;
    }
    if let Some(seed) = suite.load.seed {
        config.seed = seed;
    }
    config.set_agents(
        credentials
            .iter()
            .map(|c| (c.username.clone(), c.password.clone())),
    );
}

fn remote_target(t: &RemoteTarget) -> Result<ResolvedTarget, RunError> {
    let secret = |s: &crate::suite::values::SecretRef| {
        s.resolve().map_err(|e| RunError::Plan(e.to_string()))
    };
    let api = t.api.trim_end_matches('/').to_string();
    Ok(ResolvedTarget {
        api_base: api,
        auth_base: t.auth.trim_end_matches('/').to_string(),
        client_id: secret(&t.client_id)?,
        client_secret: secret(&t.client_secret)?,
        password_grant: t.grant == Grant::Password,
        site_id: t.site_id.clone(),
        output: t.output,
        insecure_tls: t.tls.insecure,
    })
}

/// The suite's contracts with the loader's compiled schemas (compiled once, reused for every
/// response; `conform` judges with the same ones, through `RunPlan`). Schema documents are kept
/// to align XML-mapped bodies with them.
fn contracts(loaded: &LoadedSuite) -> Contracts {
    let sample = loaded.suite.load.schema_sample;
    let mut out = Contracts {
        schema_sample: sample.map_or(1.0, |p| p.fraction()),
        ..Default::default()
    };
    for (op, c) in &loaded.suite.contracts {
        out.by_op.insert(
            op.clone(),
            Contract {
                status: c.status.clone(),
                schema: loaded.schemas.get(op).cloned(),
                schema_doc: loaded.schema_docs.get(op).cloned(),
                within: c.within.map(|w| w.0),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::suite::plan::{Overrides, plan};

    fn build(yaml: &str, over: &Overrides) -> Result<RunPlan, RunError> {
        let loaded = crate::suite::load_str(Path::new("t.yaml"), yaml.to_string())
            .map_err(|e| RunError::Plan(format!("{e:?}")))?;
        let p = plan(loaded, over, "out".into()).map_err(|e| RunError::Plan(e.to_string()))?;
        RunPlan::build(&p)
    }

    #[test]
    fn flat_load_becomes_ramp_hold_stop() {
        let p = build(
            "name: t\nload: {agents: 20, ramp: 5s, duration: 30s}\n",
            &Overrides::default(),
        )
        .expect("plan builds");
        assert_eq!(p.goose_test_plan(), "20,5s;20,30s;0,0s");
        assert_eq!(p.total_time(), Duration::from_secs(35));
        assert_eq!(p.credentials.len(), 20);
        assert_eq!(p.credentials[0].username, "agent1");
        assert_eq!(p.credentials[0].password, "agent-password");
    }

    #[test]
    fn steps_round_partial_seconds_up_and_overrides_apply() {
        let y = "name: t\nload: {agents: 5, ramp: 1.5s, steps: [{agents: 5, duration: 10s}, {agents: 15, duration: 20s}]}\n";
        let p = build(y, &Overrides::default()).expect("plan builds");
        assert_eq!(p.goose_test_plan(), "5,2s;5,10s;15,2s;15,20s;0,0s");
        // No ramp (or a step at the count before it): no empty step, the holds join.
        let y = "name: t\nload: {ramp: 0s, steps: [{agents: 2, duration: 3s}, \
                 {agents: 2, duration: 4s}, {agents: 5, duration: 2s}]}\n";
        let p = build(y, &Overrides::default()).expect("plan builds");
        assert_eq!(p.goose_test_plan(), "2,0s;2,7s;5,0s;5,2s;0,0s");
        let over = Overrides {
            agents: Some(3),
            duration: Some(Duration::from_secs(7)),
            ..Default::default()
        };
        let p = build("name: t\nload: {agents: 5, ramp: 1s}\n", &over).expect("plan builds");
        assert_eq!(p.goose_test_plan(), "3,1s;3,7s;0,0s");
    }

    #[test]
    fn stepped_arrival_rates_change_where_goose_starts_each_step() {
        let y = "name: t\nload: {agents: 2, ramp: 1.5s, arrival_rate: 1/s, steps: [\
                 {agents: 2, duration: 10s}, {agents: 4, duration: 20s, arrival_rate: 3/s}, \
                 {agents: 4, duration: 5s}, {agents: 1, duration: 5s, arrival_rate: 0/s}]}\n";
        let p = build(y, &Overrides::default()).expect("plan builds");
        let a = &p.arrivals;
        // Steps start at 0, 2+10, 12+2+20, 34+2+5 (ramps rounded up as goose runs them).
        assert_eq!(
            a.changes,
            [
                (Duration::from_secs(12), 3.0),
                (Duration::from_secs(41), 0.0)
            ]
        );
        assert_eq!(a.rate_at(1.0, Duration::ZERO), 1.0);
        assert_eq!(a.rate_at(1.0, Duration::from_secs(12)), 3.0);
        assert_eq!(a.rate_at(1.0, Duration::from_secs(40)), 3.0);
        assert_eq!(a.rate_at(1.0, Duration::from_secs(41)), 0.0);
        assert_eq!(a.next_change(Duration::ZERO), Some(Duration::from_secs(12)));
        assert_eq!(
            a.next_change(Duration::from_secs(12)),
            Some(Duration::from_secs(41))
        );
        assert_eq!(a.next_change(Duration::from_secs(41)), None);
        assert!(a.any_positive(0.0));
        assert!(!Arrivals::default().any_positive(0.0));
        let mix = "name: t\npersonas: {p: {weight: 1}}\nload: {steps: [{agents: 2, duration: 5s, \
                   personas: {p: 1}}]}\n";
        let err = build(mix, &Overrides::default()).err().expect("refused");
        assert!(
            err.to_string()
                .starts_with("load.steps[0]: a per-step `personas` mix")
        );
    }

    #[test]
    fn a_schema_file_reaches_the_contract_whatever_the_working_directory() {
        // Relative to the working directory (the crate root under cargo test), as a user types
        // it: the runner once joined the suite's directory to the already resolved path again,
        // lost the document and with it the XML coercion.
        let path = Path::new("tests/fixtures/schema_file/suite.yaml");
        let loaded = crate::suite::load(path).expect("fixture loads");
        let p = plan(loaded, &Overrides::default(), "out".into()).expect("plans");
        let rp = RunPlan::build(&p).expect("builds");
        let login = &rp.contracts.by_op["login"];
        assert!(login.schema.is_some());
        let doc = login.schema_doc.as_deref().expect("the schema document");
        assert_eq!(doc["properties"]["loginAsAvailable"]["type"], "boolean");
    }

    #[test]
    fn remote_target_names_the_unset_variable_not_a_value() {
        let y = "name: t\ntarget: {api: 'http://127.0.0.1:9', auth: 'http://127.0.0.1:9', client_id: '${AEAPI_TEST_UNSET_ID}', client_secret: '${AEAPI_TEST_UNSET_SECRET}', site_id: '306'}\nagents: {prefix: a, count: 2, password: '${AEAPI_TEST_UNSET_PW}'}\nload: {agents: 2}\n";
        let err = build(y, &Overrides::default())
            .err()
            .expect("unset variables fail the plan");
        assert_eq!(
            err.to_string(),
            "environment variable `AEAPI_TEST_UNSET_PW` is not set"
        );
    }

    #[test]
    fn embedded_customers_are_placed_where_the_simulator_config_says() {
        let y = "name: t\nsimulator: {site_id: '999', business_unit: '7', agent_group: '3'}\n\
                 load: {agents: 2, customers: {rate: 1/s}}\n";
        let p = build(y, &Overrides::default()).expect("plan builds");
        assert_eq!(p.placement.site_id, "999");
        assert_eq!(p.placement.business_unit_id, "7");
        assert_eq!(p.placement.agent_group_id, "3");
        let c = p.customers.expect("harness customers");
        assert_eq!(
            (
                c.site_id.as_str(),
                c.business_unit_id.as_str(),
                c.agent_group_id.as_str()
            ),
            ("999", "7", "3")
        );
        // Without a `simulator:` section, the simulator's defaults.
        let p = build("name: t\nload: {agents: 2}\n", &Overrides::default()).expect("builds");
        assert_eq!(
            p.placement.site_id,
            crate::sim::SimConfig::default().site_id
        );
    }
}
