//! `aeapi-harness replay FILE.har`: re-issues a recorded agent-desktop session's AEAPI calls
//! against a target, in their recorded order, and compares every answer with the recorded one.
//!
//! Flow: [`load`] reads the HAR with `har` (its size limit and per-entry errors) and keeps the
//! answered AEAPI calls (`import::calls`), sorted by start; `engine` re-issues them with fresh
//! tokens (credentials from the environment, never from the recording), substituting the ids
//! the target hands back for the recorded ones, and compares status, content type and shape
//! (`import::drift` over `import::schema`'s inferred schemas); `report` renders the table,
//! `junit.xml` (a case per operation) and `replay.json` through the report family, secrets
//! masked. The command (`app::replay`) maps the result to an exit code. Against the embedded
//! simulator the result is a fidelity report: where the sandbox differs from the recording.

pub mod compare;
pub mod engine;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::aeapi::ops::Operation;
use crate::har::{self, Body};
use crate::import::ImportError;
use crate::import::calls::{self, Secrets as RecordedSecrets};
use crate::runner::plan::TargetPlan;

/// A recorded request body.
#[derive(Debug, Clone, PartialEq)]
pub enum StepBody {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// One recorded AEAPI call to re-issue.
#[derive(Debug, Clone)]
pub struct Step {
    /// Position in `log.entries`.
    pub entry: usize,
    pub op: &'static Operation,
    /// Start, ms since the epoch (for `--timing recorded`).
    pub started_ms: f64,
    pub time_ms: f64,
    pub query: Vec<(String, String)>,
    pub body: StepBody,
    /// The bearer token the recorded request carried (a secret: only ever a map key).
    pub bearer: Option<String>,
    /// Whether it carried `Authorization: Basic` (the token call).
    pub basic: bool,
    pub status: u16,
    /// The recorded answer (XML mapped to JSON as the checks do).
    pub response: Option<Value>,
    /// The recorded `Content-Type` (HAR `content.mimeType`).
    pub mime: String,
}

/// A recording, ready to replay.
pub struct Recorded {
    pub file: PathBuf,
    pub creator: String,
    pub entries: usize,
    /// Answered AEAPI calls, by start time (ties: entry order).
    pub steps: Vec<Step>,
    /// Entries that are not AEAPI calls.
    pub left_out: usize,
    /// AEAPI calls without an answer (status 0), not replayed.
    pub unanswered: Vec<usize>,
    /// Agent user names, in order of first appearance.
    pub usernames: Vec<String>,
    /// Every secret the recording carried (values only to prove none reaches an output).
    pub secrets: RecordedSecrets,
}

impl Recorded {
    /// Whether the recording drove customers through the customer-side calls.
    pub fn has_customer_calls(&self) -> bool {
        self.steps.iter().any(|s| {
            crate::aeapi::ops::CUSTOMER_OPERATIONS
                .iter()
                .any(|op| op.name == s.op.name)
        })
    }
}

/// Reads a recording (bad input names the file and the entry).
pub fn load(file: &Path, bytes: &[u8]) -> Result<Recorded, ImportError> {
    let rec = har::parse(file, bytes)?;
    let mut out = Recorded {
        file: file.to_path_buf(),
        creator: rec.creator.clone(),
        entries: rec.len(),
        steps: Vec::new(),
        left_out: 0,
        unanswered: Vec::new(),
        usernames: Vec::new(),
        secrets: RecordedSecrets::default(),
    };
    let mut secrets = RecordedSecrets::default();
    out.left_out = crate::import::each_call(file, &rec, &mut secrets, |x, call| {
        if call.status == 0 {
            out.unanswered.push(call.entry);
            return;
        }
        if let Some(u) = crate::import::agent_user(&call).filter(|u| !u.is_empty())
            && !out.usernames.contains(&u)
        {
            out.usernames.push(u);
        }
        out.steps.push(step(x, call));
    })?;
    out.secrets = secrets;
    if out.steps.is_empty() {
        return Err(ImportError::NoCalls {
            file: file.to_path_buf(),
            entries: rec.len(),
        });
    }
    out.steps.sort_by(|a, b| {
        a.started_ms
            .total_cmp(&b.started_ms)
            .then(a.entry.cmp(&b.entry))
    });
    Ok(out)
}

fn step(x: &har::Exchange, call: calls::Call) -> Step {
    let auth = x
        .request_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim());
    let scheme = |s: &str| {
        auth.and_then(|a| a.split_once(' '))
            .filter(|(sch, _)| sch.eq_ignore_ascii_case(s))
            .map(|(_, v)| v.trim().to_string())
    };
    let form = x.request_mime.contains("x-www-form-urlencoded")
        || matches!(&x.request_body, Some(Body::Text(t)) if !t.trim_start().starts_with(['{', '[']));
    let body = match call.request {
        None => StepBody::None,
        Some(Value::Object(m)) if form => StepBody::Form(
            m.into_iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k, v)
                })
                .collect(),
        ),
        Some(v) => StepBody::Json(v),
    };
    Step {
        entry: call.entry,
        op: call.op,
        started_ms: call.started_ms,
        time_ms: call.time_ms,
        query: call.query,
        body,
        bearer: scheme("bearer"),
        basic: scheme("basic").is_some(),
        status: call.status,
        response: call.response,
        mime: x.response_mime.clone(),
    }
}

/// How calls are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timing {
    /// Each call as soon as the previous one is answered.
    #[default]
    Fast,
    /// Each call at its recorded offset from the first (later when the target is slower).
    Recorded,
}

/// Credentials for the replay (from the environment, never from the recording).
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    /// For `login` bodies and password-grant token calls.
    pub agent_password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Everything a replay needs, every decision made once.
pub struct ReplayPlan {
    pub target: TargetPlan,
    pub credentials: Credentials,
    pub timing: Timing,
    pub out_dir: PathBuf,
    /// The longest wait for an offer a recorded long-poll brought (default 30 s).
    pub offer_wait: Duration,
    /// The bound of a request that is not a long-poll (default 10 s).
    pub request_timeout: Duration,
}

/// How long a replay waits for the offer a recorded long-poll brought.
pub const OFFER_WAIT: Duration = Duration::from_secs(30);

/// The embedded simulator a replay starts: an agent directory of the recorded user names with
/// `password`; when the recording has no customer-side calls, simulated customers arriving once
/// a second who wait for the agent to close (else the replayed customers are the only ones);
/// and long-polls held 250 ms (calls are re-issued one at a time, so a held poll only slows
/// the replay down).
pub fn embedded_config(
    usernames: &[String],
    password: &str,
    customers_recorded: bool,
) -> crate::sim::SimConfig {
    let mut c = crate::sim::SimConfig::default();
    let names: Vec<String> = if usernames.is_empty() {
        vec!["agent1".to_string()]
    } else {
        usernames.to_vec()
    };
    c.set_agents(names.into_iter().map(|u| (u, password.to_string())));
    c.arrival_rate = if customers_recorded { 0.0 } else { 1.0 };
    c.customers.close_after_lines = false;
    c.long_poll_hold = crate::values::HumanDuration(Duration::from_millis(250));
    c
}
