//! The typed suite model: what a suite YAML file deserialises into.
//!
//! Every struct rejects unknown keys, so a typo is an error with serde_yaml's line and column.
//! Values with their own small languages (durations, distributions, percentages, rates,
//! threshold expressions) are parsed by their own types, so a bad one is reported at its field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::values::{Distribution, HumanDuration, Percent, Range, Rate, SecretRef};

/// A whole suite file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub target: Target,
    #[serde(default)]
    pub agents: AgentPool,
    /// Named behaviours; the map keeps a stable (sorted) order.
    #[serde(default)]
    pub personas: BTreeMap<String, Persona>,
    /// Contracts by operation name (names from `aeapi::ops`).
    #[serde(default)]
    pub contracts: BTreeMap<String, Contract>,
    #[serde(default)]
    pub load: Load,
    /// Gating rules, e.g. `p95(acceptEngagement) < 300ms`.
    #[serde(default)]
    pub thresholds: Vec<String>,
    /// Settings for the embedded simulator (ignored against a URL target).
    #[serde(default)]
    pub simulator: Option<crate::sim::SimConfig>,
    /// How `run --baseline` judges a regression.
    #[serde(default)]
    pub baseline: Option<BaselinePolicy>,
    /// How `conform --against` judges drift from a snapshot.
    #[serde(default)]
    pub drift: Option<DriftPolicy>,
}

/// How `conform --against` judges fields a snapshot did not have.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftPolicy {
    /// `warn` (default): a field added is a warning; `fail`: a drift failure.
    #[serde(default)]
    pub added_fields: AddedFields,
}

/// What a field added since the snapshot is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddedFields {
    #[default]
    Warn,
    Fail,
}

/// How much slower than a baseline run an operation may get (`run --baseline`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinePolicy {
    /// Relative slow-down of p50/p95/p99 allowed (default 10%).
    #[serde(default)]
    pub tolerance: Option<Percent>,
    /// Changes smaller than this never count (default 1ms): sub-millisecond jitter is not a
    /// regression.
    #[serde(default)]
    pub floor: Option<HumanDuration>,
}

/// `embedded` (default) or a remote AEAPI (a mapping). Deserialised by hand in `model_de` so a
/// mistake inside the mapping keeps its line and column.
#[derive(Debug, Clone, Default)]
pub enum Target {
    #[default]
    Embedded,
    Remote(Box<RemoteTarget>),
}

/// A remote AEAPI deployment and the application credentials for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteTarget {
    /// API base, e.g. `https://api.example.com`.
    pub api: String,
    /// Auth base, e.g. `https://auth.example.com`.
    pub auth: String,
    pub client_id: SecretRef,
    pub client_secret: SecretRef,
    #[serde(default)]
    pub grant: Grant,
    pub site_id: String,
    #[serde(default)]
    pub business_unit_id: Option<String>,
    #[serde(default)]
    pub agent_group_id: Option<String>,
    #[serde(default)]
    pub output: OutputFormat,
    #[serde(default)]
    pub tls: Tls,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    #[default]
    ClientCredentials,
    Password,
}

pub use crate::aeapi::client::OutputFormat;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// Accept invalid certificates (staging with self-signed certs).
    #[serde(default)]
    pub insecure: bool,
    /// Extra CA certificate (PEM) to trust (joined to the suite's directory by `suite::load`).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
}

/// The agent credential pool: a list, a CSV file, or a generated pattern (`prefix1..prefixN`).
/// Deserialised by hand in `model_de`. `LoadedSuite::agents` holds the resolved list.
#[derive(Debug, Clone)]
pub enum AgentPool {
    Inline(Vec<AgentCredential>),
    /// A CSV file (written relative to the suite; `suite::load` joins it to the suite's
    /// directory) with a `username` column and an optional `password` column of `${VAR}`
    /// references; `password` is the default for rows without one.
    Csv {
        csv: PathBuf,
        password: Option<SecretRef>,
    },
    Pattern {
        prefix: String,
        count: u32,
        password: SecretRef,
        /// First number (default 1): usernames are `prefix<start>` .. `prefix<start+count-1>`.
        start: Option<u32>,
    },
}

impl Default for AgentPool {
    fn default() -> Self {
        AgentPool::Pattern {
            prefix: "agent".into(),
            count: 10,
            password: SecretRef::literal_dev("agent-password"),
            start: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentCredential {
    pub username: String,
    pub password: SecretRef,
}

/// A named agent behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    /// Share of the fleet, relative to the other personas' weights.
    pub weight: u32,
    #[serde(default = "default_max_chats")]
    pub max_chats: u32,
    /// Pause before answering an offer.
    #[serde(default)]
    pub think: Option<Distribution>,
    /// How long the agent types before a line is sent.
    #[serde(default)]
    pub typing: Option<Distribution>,
    /// Gap between the agent's lines within an engagement.
    #[serde(default)]
    pub reply: Option<Distribution>,
    /// Agent lines per engagement, e.g. `3..6`.
    #[serde(default)]
    pub messages: Option<Range>,
    #[serde(default)]
    pub deny: Option<Percent>,
    #[serde(default)]
    pub transfer: Option<Percent>,
    #[serde(default)]
    pub conference: Option<Percent>,
    #[serde(default)]
    pub escalate: Option<Percent>,
    /// Disposition choice at close.
    #[serde(default)]
    pub disposition: Option<DispositionChoice>,
    /// Periodic calls, e.g. `{summaryData: 30s, verifySession: 20s}`.
    #[serde(default)]
    pub periodic: BTreeMap<String, HumanDuration>,
}

fn default_max_chats() -> u32 {
    1
}

/// How a persona picks a disposition when it closes (deserialised by hand in `model_de`).
#[derive(Debug, Clone)]
pub enum DispositionChoice {
    /// Pick one of the site's dispositions at random.
    Named(String),
    /// Weighted choice among named dispositions.
    Weighted(BTreeMap<String, u32>),
}

/// What an operation must return.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Accepted status codes; default: 200 (and 204 for `messages.get`).
    #[serde(default)]
    pub status: Option<StatusSet>,
    /// JSON Schema inline (YAML) or a path to a `.json` file.
    #[serde(default)]
    pub schema: Option<SchemaSource>,
    /// Latency budget per request.
    #[serde(default)]
    pub within: Option<HumanDuration>,
    /// `conform`: what the request needs first (default: inferred from the variables it uses).
    #[serde(default)]
    pub needs: Option<Needs>,
    /// `conform`: the positive request's parameters (values may name `${variables}`).
    #[serde(default)]
    pub request: Option<RequestData>,
    /// `conform`: negative cases, each a variation of `request` with its own expectation.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// `conform`: also run the positive case with `output=xml` (default true).
    #[serde(default)]
    pub xml: Option<bool>,
}

/// The `${variables}` a conformance request may use, and what each needs to exist.
pub const VARIABLES: &[(&str, Needs)] = &[
    ("basicAuth", Needs::Nothing),
    ("username", Needs::Token),
    ("password", Needs::Token),
    ("siteId", Needs::Token),
    ("businessUnitId", Needs::Token),
    ("agentGroupId", Needs::Token),
    ("registeredId", Needs::Session),
    ("agentId", Needs::Session),
    ("engagementId", Needs::Offer),
    ("customerId", Needs::Offer),
    ("guestId", Needs::Conference),
];

/// The `${name}` references in `text`, in order (an unterminated `${` is returned whole).
pub fn variables_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                out.push(&after[..j]);
                rest = &after[j + 1..];
            }
            None => {
                out.push(after);
                break;
            }
        }
    }
    out
}

/// What a conformance request needs before it can be sent; the engine sets it up. Ordered by
/// how much setup it takes (cases run in that order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Needs {
    /// Nothing, not even a token (`token`, `preLoginStatus`).
    Nothing,
    /// A bearer token.
    Token,
    /// A logged-in agent (`${registeredId}`, `${agentId}`).
    Session,
    /// A fresh agent with an engagement offered, not yet accepted (`${engagementId}`).
    Offer,
    /// A fresh agent holding an accepted engagement.
    Engagement,
    /// A fresh agent who accepted an engagement and closed it with `followUp: true`: the
    /// conversation (`${engagementId}`) waits for that agent's follow-up.
    FollowUp,
    /// A running conference: the owner (a fresh agent holding the engagement) conferenced a
    /// second fresh agent in, who accepted (`${guestId}`); the case acts as the owner.
    Conference,
    /// The same conference; the case acts as the guest (still in screen mode).
    ConferenceGuest,
    /// The same conference, and the owner has asked the guest to take ownership
    /// (transferOwnership); the case acts as the guest, whose ownership offer is pending.
    OwnershipOffer,
}

impl Needs {
    /// Whether the fixture is a conference (it takes two fresh agents).
    pub fn conference(self) -> bool {
        self >= Needs::Conference
    }
}

/// A request's parameters by where they travel. Values are JSON (YAML) values; strings may
/// contain `${variable}`s the engine fills in (see `conform::vars`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestData {
    #[serde(default)]
    pub query: BTreeMap<String, serde_json::Value>,
    /// A JSON body.
    #[serde(default)]
    pub body: BTreeMap<String, serde_json::Value>,
    /// A form-encoded body (the token endpoint).
    #[serde(default)]
    pub form: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl RequestData {
    /// Whether any part of the request carries a parameter named `name`.
    pub fn has(&self, name: &str) -> bool {
        self.query.contains_key(name)
            || self.body.contains_key(name)
            || self.form.contains_key(name)
            || self.headers.contains_key(name)
    }
}

/// One negative conformance case: a variation of the contract's request and what must come
/// back. The variations combine; the expected status defaults by kind (see `conform::case`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Shown in reports; default: derived from the variation (`missing registeredId`).
    #[serde(default)]
    pub name: Option<String>,
    /// Parameters left out (default status 400).
    #[serde(default)]
    pub omit: Vec<String>,
    /// Parameters replaced (e.g. an unknown `registeredId`; default status 401).
    #[serde(default)]
    pub set: BTreeMap<String, serde_json::Value>,
    /// `none` (no bearer token) or `expired` (a token past its `expires_in`); default 401.
    #[serde(default)]
    pub token: Option<TokenCase>,
    /// `outside`: the request's site parameters name a site the token does not cover (403).
    #[serde(default)]
    pub site: Option<SiteCase>,
    /// Another agent's session calls on this fixture's engagement (default 401).
    #[serde(default)]
    pub foreign: bool,
    /// Sent after the accept window has passed (default 422).
    #[serde(default)]
    pub late: bool,
    /// Expected status (overrides the kind's default).
    #[serde(default)]
    pub status: Option<StatusSet>,
    /// Text the response (body or `WWW-Authenticate`) must contain.
    #[serde(default)]
    pub message: Option<String>,
    /// `always`, or `remote` to skip against a remote target (waiting cases).
    #[serde(default)]
    pub skip: Option<Skip>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenCase {
    None,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteCase {
    Outside,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Skip {
    Always,
    Remote,
}

/// One status code or a list (deserialised by hand in `model_de`).
#[derive(Debug, Clone)]
pub enum StatusSet {
    One(u16),
    Many(Vec<u16>),
}

impl StatusSet {
    /// Whether `status` is one of the accepted codes.
    pub fn contains(&self, status: u16) -> bool {
        match self {
            StatusSet::One(s) => *s == status,
            StatusSet::Many(v) => v.contains(&status),
        }
    }
}

/// Where a contract's JSON Schema comes from (deserialised by hand in `model_de`).
#[derive(Debug, Clone)]
pub enum SchemaSource {
    /// A path to a JSON Schema file (written relative to the suite; `suite::load` joins it to
    /// the suite's directory).
    Path(PathBuf),
    /// An inline JSON Schema written in YAML.
    Inline(serde_json::Value),
}

/// The shape of the load.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Concurrent agents (goose users).
    #[serde(default = "default_agents")]
    pub agents: u32,
    /// Time to bring every agent up.
    #[serde(default)]
    pub ramp: Option<HumanDuration>,
    /// Length of the run (excluding ramp), unless `steps` is given.
    #[serde(default)]
    pub duration: Option<HumanDuration>,
    /// A stepped plan instead of a flat one.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Customer arrival rate for the embedded simulator, e.g. `2/s`.
    #[serde(default)]
    pub arrival_rate: Option<Rate>,
    /// Seed for every random choice (personas, think times, the simulator's customers).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Customers driven by the harness itself through the customer-side calls (for a remote
    /// target, or to measure end-to-end delivery time against the simulator).
    #[serde(default)]
    pub customers: Option<Customers>,
    /// Per-request timeout, connect to last byte (default 10s; long-polls get 60s).
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// The largest response body read, in bytes (default 16 MiB); a longer one is a `body`
    /// error naming the limit. Applies to `run` and `conform`.
    #[serde(default)]
    pub max_body: Option<u64>,
    /// Share of responses whose body is checked against its schema (default 100%).
    #[serde(default)]
    pub schema_sample: Option<Percent>,
    /// One HTTP client and pool for the fleet (default), or one per agent with its own cookie
    /// jar (sticky load balancers; ~110 KB per agent).
    #[serde(default)]
    pub clients: Clients,
}

/// How agents share HTTP clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clients {
    #[default]
    Shared,
    PerAgent,
}

fn default_agents() -> u32 {
    10
}

/// The run length when a suite gives neither `duration` nor `steps`.
pub const DEFAULT_DURATION: std::time::Duration = std::time::Duration::from_secs(30);

impl Load {
    /// The flat run's length: `duration`, or [`DEFAULT_DURATION`].
    pub fn effective_duration(&self) -> std::time::Duration {
        self.duration.map_or(DEFAULT_DURATION, |d| d.0)
    }

    /// The most agents online at once: the largest step, or `agents` for a flat run.
    pub fn peak_agents(&self) -> u32 {
        self.steps
            .iter()
            .map(|s| s.agents)
            .max()
            .unwrap_or(self.agents)
    }
}

impl Default for Load {
    fn default() -> Self {
        Load {
            agents: default_agents(),
            ramp: None,
            duration: None,
            steps: Vec::new(),
            arrival_rate: None,
            seed: None,
            customers: None,
            timeout: None,
            max_body: None,
            schema_sample: None,
            clients: Clients::Shared,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub agents: u32,
    pub duration: HumanDuration,
    #[serde(default)]
    pub arrival_rate: Option<Rate>,
    /// The persona mix for this step (persona name → weight), replacing the personas' own
    /// weights; e.g. `{hurried: 1}` for a rush of hurried agents. Names must be personas.
    #[serde(default)]
    pub personas: Option<BTreeMap<String, u32>>,
}

/// Harness-driven customers (`load.customers`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customers {
    /// Arrival rate, e.g. `1/s`.
    pub rate: Rate,
    /// Lines each customer sends, e.g. `2..4`.
    #[serde(default)]
    pub lines: Option<Range>,
    /// Gap between a customer's lines.
    #[serde(default)]
    pub think: Option<Distribution>,
    /// How long a customer waits for an agent before leaving.
    #[serde(default)]
    pub patience: Option<HumanDuration>,
}
