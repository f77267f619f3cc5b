//! Semantic checks of a suite, run over the span tree so every problem points at its own key or
//! value and all of them are reported at once, even when serde_yaml stopped at a type error.
//!
//! Besides the problems, the checks produce what loading keeps: parsed thresholds, compiled
//! JSON Schemas and the resolved agent pool.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::agents;
use super::error::{Span, SuiteError, SuiteErrorKind};
use super::limits;
use super::model::AgentCredential;
use super::spans::{self, Node};
use super::threshold::{self, Threshold};
use super::values::{
    Distribution, HumanDuration, Percent, Range as CountRange, Rate, SecretRef, ValueError,
};
use crate::aeapi::ops;

mod conform;

/// What the checks found: problems, plus everything that parsed.
#[derive(Default)]
pub struct Checked {
    pub errors: Vec<SuiteError>,
    /// Extra files the errors point into (agents CSVs), by the path shown.
    pub sources: BTreeMap<PathBuf, String>,
    /// Byte ranges per file to hide when a line is shown (literal secrets).
    pub masks: Vec<Span>,
    pub thresholds: Vec<Threshold>,
    pub schemas: BTreeMap<String, Arc<jsonschema::Validator>>,
    /// The same schemas as JSON documents (the XML mapping coerces values by them).
    pub schema_docs: BTreeMap<String, Arc<serde_json::Value>>,
    /// `None` when the pool could not be read.
    pub agents: Option<Vec<AgentCredential>>,
    /// An agent count was beyond the limit: no pool was generated for it.
    pub too_many: bool,
}

/// Runs every semantic check on the suite at `path` (whose text is `src`, tree `root`).
pub fn check(path: &Path, src: &str, root: &Node) -> Checked {
    let mut c = Ctx {
        path,
        dir: path.parent().unwrap_or(Path::new("")),
        src,
        out: Checked::default(),
    };
    c.keys(root);
    c.personas(root);
    c.contracts(root);
    let peak = c.load(root);
    c.thresholds(root);
    c.target(root);
    c.agents(root, peak);
    c.out
}

struct Ctx<'a> {
    path: &'a Path,
    dir: &'a Path,
    src: &'a str,
    out: Checked,
}

impl Ctx<'_> {
    fn error(&mut self, range: Range<usize>, kind: SuiteErrorKind) {
        self.out.errors.push(SuiteError {
            span: Some(Span {
                file: self.path.to_path_buf(),
                range,
            }),
            kind,
        });
    }

    /// Parses a scalar with `T::from_str`; a failure is a `BadValue` at the value.
    fn value<T: FromStr<Err = ValueError>>(
        &mut self,
        node: &Node,
        what: &'static str,
        path: &str,
    ) -> Option<T> {
        let text = node.text()?;
        match text.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(
                    node.span.clone(),
                    SuiteErrorKind::BadValue {
                        what,
                        path: path.to_string(),
                        message: e.to_string(),
                    },
                );
                None
            }
        }
    }

    fn operation(&mut self, name: &str, span: Range<usize>) -> bool {
        if ops::find(name).is_some() {
            return true;
        }
        self.error(
            span,
            SuiteErrorKind::UnknownOperation {
                name: name.to_string(),
                suggestion: super::did_you_mean(name, ops::names()),
            },
        );
        false
    }

    fn secret(&mut self, node: &Node, path: &str) -> Option<SecretRef> {
        let s = self.value::<SecretRef>(node, "secret", path);
        if s.is_none() && node.text().is_some() {
            self.out.masks.push(Span {
                file: self.path.to_path_buf(),
                range: node.span.clone(),
            });
        }
        s
    }

    /// Unknown keys everywhere (serde_yaml reports only the first), with "did you mean".
    fn keys(&mut self, root: &Node) {
        self.known(root, keys::TOP, "top-level key");
        if let Some(t) = self.known_at(root, "target", keys::TARGET, "target field") {
            self.known_at(t, "tls", keys::TLS, "tls field");
        }
        if let Some(a) = self.known_at(root, "agents", keys::POOL, "agents field") {
            for item in a.items() {
                self.known(item, keys::AGENT, "agent field");
            }
        }
        for p in root.get("personas").map(Node::entries).unwrap_or_default() {
            self.known(&p.node, keys::PERSONA, "persona field");
        }
        for c in root.get("contracts").map(Node::entries).unwrap_or_default() {
            self.known(&c.node, keys::CONTRACT, "contract field");
            self.known_at(&c.node, "request", keys::REQUEST, "request field");
            for case in c.node.get("cases").map(Node::items).unwrap_or_default() {
                self.known(case, keys::CASE, "case field");
            }
        }
        self.known_at(root, "baseline", keys::BASELINE, "baseline field");
        self.known_at(root, "drift", keys::DRIFT, "drift field");
        if let Some(l) = self.known_at(root, "load", keys::LOAD, "load field") {
            for step in l.get("steps").map(Node::items).unwrap_or_default() {
                self.known(step, keys::STEP, "step field");
            }
            self.known_at(l, "customers", keys::CUSTOMERS, "customers field");
        }
    }

    /// [`Self::known`] on `map`'s `key`, when it has one; that value.
    fn known_at<'n>(
        &mut self,
        map: &'n Node,
        key: &str,
        expected: &[&str],
        context: &str,
    ) -> Option<&'n Node> {
        let node = map.get(key)?;
        self.known(node, expected, context);
        Some(node)
    }

    fn known(&mut self, map: &Node, expected: &[&str], context: &str) {
        for e in map.entries() {
            if !expected.contains(&e.key.as_str()) {
                self.error(
                    e.key_span.clone(),
                    SuiteErrorKind::UnknownKey {
                        context: context.to_string(),
                        key: e.key.clone(),
                        suggestion: super::did_you_mean(&e.key, expected.iter().copied()),
                        expected: expected.iter().map(|k| k.to_string()).collect(),
                    },
                );
            }
        }
    }

    fn personas(&mut self, root: &Node) {
        let Some(entry) = root.entry("personas") else {
            return;
        };
        // Only judge the sum when every weight is a readable number (serde reports the rest).
        let mut total: Option<u64> = Some(0);
        for p in entry.node.entries() {
            let base = format!("personas.{}", p.key);
            let node = &p.node;
            let weight = node
                .get("weight")
                .and_then(Node::text)
                .and_then(|w| w.parse::<u64>().ok());
            total = total.zip(weight).map(|(t, w)| t + w);
            for key in ["think", "typing", "reply"] {
                if let Some(n) = node.get(key) {
                    self.value::<Distribution>(n, "distribution", &format!("{base}.{key}"));
                }
            }
            if let Some(n) = node.get("messages") {
                self.value::<CountRange>(n, "range", &format!("{base}.messages"));
            }
            for key in ["deny", "transfer", "conference", "escalate"] {
                if let Some(n) = node.get(key) {
                    self.value::<Percent>(n, "percentage", &format!("{base}.{key}"));
                }
            }
            if let Some(periodic) = node.get("periodic") {
                for e in periodic.entries() {
                    self.operation(&e.key, e.key_span.clone());
                    let path = format!("{base}.periodic.{}", e.key);
                    self.value::<HumanDuration>(&e.node, "duration", &path);
                }
            }
        }
        if total == Some(0) && !entry.node.entries().is_empty() {
            self.error(entry.key_span.clone(), SuiteErrorKind::ZeroWeight);
        }
    }

    fn contracts(&mut self, root: &Node) {
        let Some(contracts) = root.get("contracts") else {
            return;
        };
        for e in contracts.entries() {
            self.conform_cases(&e.key, &e.node);
            let known = self.operation(&e.key, e.key_span.clone());
            if let Some(n) = e.node.get("within") {
                self.value::<HumanDuration>(n, "duration", &format!("contracts.{}.within", e.key));
            }
            let Some(schema) = e.node.get("schema") else {
                continue;
            };
            let json = match schema.str() {
                Some(file) => match self.schema_file(file, schema.span.clone()) {
                    Some(j) => j,
                    None => continue,
                },
                None => to_json(schema),
            };
            match jsonschema::validator_for(&json) {
                Ok(v) if known => {
                    self.out.schemas.insert(e.key.clone(), Arc::new(v));
                    self.out.schema_docs.insert(e.key.clone(), Arc::new(json));
                }
                Ok(_) => {}
                Err(err) => {
                    // The schema is the instance the meta-schema rejected: point into it.
                    let at = if schema.str().is_some() {
                        schema
                    } else {
                        pointer(schema, err.instance_path().as_str())
                    };
                    self.error(
                        at.span.clone(),
                        SuiteErrorKind::Schema {
                            op: e.key.clone(),
                            message: err.to_string(),
                        },
                    );
                }
            }
        }
    }

    /// Reads `file`, named relative to the suite; an error (at `span`) when it cannot be read.
    fn read_relative(
        &mut self,
        file: &str,
        span: Range<usize>,
        what: &'static str,
    ) -> Option<(PathBuf, String)> {
        let full = self.dir.join(file);
        match super::input::read_text(&full) {
            Ok(text) => Some((full, text)),
            Err(e) => {
                let path = full.display().to_string();
                let message = e.to_string();
                self.error(
                    span,
                    SuiteErrorKind::FileRead {
                        what,
                        path,
                        message,
                    },
                );
                None
            }
        }
    }

    /// Reads a schema file named relative to the suite.
    fn schema_file(&mut self, file: &str, span: Range<usize>) -> Option<serde_json::Value> {
        let (full, text) = self.read_relative(file, span.clone(), "schema file")?;
        let shown = full.display().to_string();
        match serde_json::from_str(&text) {
            Ok(j) => Some(j),
            Err(e) => {
                self.error(
                    span,
                    SuiteErrorKind::FileRead {
                        what: "schema file",
                        path: shown,
                        message: format!("not JSON: {e}"),
                    },
                );
                None
            }
        }
    }

    /// Checks `load` and returns the most agents the run will have online at once.
    fn load(&mut self, root: &Node) -> u32 {
        let Some(load) = root.get("load") else {
            return super::model::Load::default().peak_agents();
        };
        let mut agents = self.agent_count(load, "load.agents").unwrap_or(10);
        let ramp = load
            .get("ramp")
            .and_then(|n| self.run_length(n, "load.ramp", true));
        if let Some(n) = load.get("duration") {
            self.run_length(n, "load.duration", false);
        }
        let mut total = ramp.unwrap_or_default();
        if let Some(n) = load.get("arrival_rate") {
            self.value::<Rate>(n, "rate", "load.arrival_rate");
        }
        let steps = load.get("steps").map(Node::items).unwrap_or_default();
        if !steps.is_empty() {
            agents = 0;
        }
        for (i, step) in steps.iter().enumerate() {
            let base = format!("load.steps[{i}]");
            agents = agents.max(
                self.agent_count(step, &format!("{base}.agents"))
                    .unwrap_or(0),
            );
            if let Some(n) = step.get("duration")
                && let Some(d) = self.run_length(n, &format!("{base}.duration"), false)
            {
                total += d + ramp.unwrap_or_default();
            }
            if let Some(n) = step.get("arrival_rate") {
                self.value::<Rate>(n, "rate", &format!("{base}.arrival_rate"));
            }
            if let Some(mix) = step.get("personas") {
                self.persona_mix(root, mix, &format!("{base}.personas"));
            }
        }
        if let Some(e) = load.entry("steps")
            && total > limits::MAX_RUN
        {
            self.error(
                e.key_span.clone(),
                SuiteErrorKind::BadValue {
                    what: "duration",
                    path: "load.steps".into(),
                    message: format!(
                        "the steps, each with its ramp, add up to {}",
                        limits::LimitError::TooLong(total)
                    ),
                },
            );
        }
        agents
    }

    /// A step's persona mix: every name must be a persona, and the weights must not add to 0.
    fn persona_mix(&mut self, root: &Node, mix: &Node, path: &str) {
        let known: Vec<&str> = root
            .get("personas")
            .map(|p| p.entries().iter().map(|e| e.key.as_str()).collect())
            .unwrap_or_default();
        let mut total: Option<u64> = Some(0);
        for e in mix.entries() {
            if !known.contains(&e.key.as_str()) {
                self.error(
                    e.key_span.clone(),
                    SuiteErrorKind::UnknownPersona {
                        name: e.key.clone(),
                        suggestion: super::did_you_mean(&e.key, known.iter().copied()),
                    },
                );
            }
            let w = e.node.text().and_then(|w| w.parse::<u64>().ok());
            total = total.zip(w).map(|(t, w)| t + w);
        }
        if total == Some(0) && !mix.entries().is_empty() {
            self.error(
                mix.span.clone(),
                SuiteErrorKind::BadValue {
                    what: "persona mix",
                    path: path.to_string(),
                    message: "the weights add up to 0".into(),
                },
            );
        }
    }

    fn agent_count(&mut self, node: &Node, path: &str) -> Option<u32> {
        let n = node.get("agents")?;
        let count = self.within_fleet(n, path)?;
        if count == 0 {
            self.error(
                n.span.clone(),
                SuiteErrorKind::ZeroAgents {
                    path: path.to_string(),
                },
            );
        }
        Some(count)
    }

    /// A count of agents (`None` when not a number, or beyond [`limits::MAX_AGENTS`]: an error,
    /// and nothing is generated for it).
    fn within_fleet(&mut self, n: &Node, path: &str) -> Option<u32> {
        let text = n.text()?;
        let count = text.parse::<u64>().ok()?;
        if limits::agents(path, count).is_err() {
            self.error(
                n.span.clone(),
                SuiteErrorKind::TooManyAgents {
                    path: path.to_string(),
                    count,
                    limit: limits::MAX_AGENTS,
                },
            );
            self.out.too_many = true;
            return None;
        }
        u32::try_from(count).ok()
    }

    /// A run's duration at `n` (above 0, at most [`limits::MAX_RUN`]); `None` if invalid.
    fn run_length(&mut self, n: &Node, path: &str, ramp: bool) -> Option<Duration> {
        let d = self.value::<HumanDuration>(n, "duration", path)?.0;
        let checked = if ramp {
            limits::ramp(d)
        } else {
            limits::run_length(d)
        };
        match checked {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    n.span.clone(),
                    SuiteErrorKind::BadValue {
                        what: "duration",
                        path: path.to_string(),
                        message: e.to_string(),
                    },
                );
                None
            }
        }
    }

    fn thresholds(&mut self, root: &Node) {
        for n in root.get("thresholds").map(Node::items).unwrap_or_default() {
            let Some(rule) = n.str() else { continue };
            match threshold::parse_spanned(rule) {
                Ok(t) => self.out.thresholds.push(t),
                Err(e) => {
                    let span = spans::sub_span(self.src, &n.span, rule, e.span.clone());
                    self.error(
                        span,
                        SuiteErrorKind::Threshold {
                            message: e.to_string(),
                        },
                    );
                }
            }
        }
    }

    fn target(&mut self, root: &Node) {
        let Some(target) = root.get("target") else {
            return;
        };
        for key in ["client_id", "client_secret"] {
            if let Some(n) = target.get(key) {
                self.secret(n, &format!("target.{key}"));
            }
        }
        if let Some(n) = target.get("tls").and_then(|t| t.get("ca_cert"))
            && let Some(file) = n.str()
        {
            let full = self.dir.join(file);
            // Read (bounded) only to refuse what a run could not read: it is parsed at run time.
            if let Err(e) = super::input::read_bounded(&full) {
                self.error(
                    n.span.clone(),
                    SuiteErrorKind::FileRead {
                        what: "CA certificate",
                        path: full.display().to_string(),
                        message: e.to_string(),
                    },
                );
            }
        }
    }

    /// Resolves the pool; the default (no `agents:`) is `agent1..agentN` for the peak load.
    fn agents(&mut self, root: &Node, peak: u32) {
        let Some(entry) = root.entry("agents") else {
            if !self.out.too_many {
                let dev = SecretRef::literal_dev(agents::DEV_AGENT_PASSWORD);
                self.out.agents = Some(agents::pattern("agent", 1, peak, &dev));
            }
            return;
        };
        let pool = &entry.node;
        let resolved = if matches!(pool.value, spans::Value::Seq(_)) {
            let mut list = Vec::new();
            for (i, item) in pool.items().iter().enumerate() {
                let user = item.get("username").and_then(Node::text);
                let pw = item
                    .get("password")
                    .and_then(|n| self.secret(n, &format!("agents[{i}].password")));
                if let (Some(u), Some(p)) = (user, pw) {
                    list.push(AgentCredential {
                        username: u.to_string(),
                        password: p,
                    });
                }
            }
            Some(list)
        } else {
            let password = pool
                .get("password")
                .and_then(|n| self.secret(n, "agents.password"));
            if let Some(csv) = pool.get("csv") {
                csv.text()
                    .and_then(|f| self.csv(f, csv.span.clone(), password.as_ref()))
            } else {
                let prefix = pool.get("prefix").and_then(Node::text);
                let count = pool
                    .get("count")
                    .and_then(|n| self.within_fleet(n, "agents.count"));
                let start = pool
                    .get("start")
                    .and_then(Node::text)
                    .and_then(|c| c.parse().ok());
                match (prefix, count, password) {
                    (Some(pre), Some(n), Some(pw)) => {
                        Some(agents::pattern(pre, start.unwrap_or(1), n, &pw))
                    }
                    _ => None,
                }
            }
        };
        if let Some(list) = &resolved
            && list.len() < peak as usize
        {
            self.error(
                entry.key_span.clone(),
                SuiteErrorKind::PoolTooSmall {
                    pool: list.len(),
                    agents: peak,
                },
            );
        }
        self.out.agents = resolved;
    }

    fn csv(
        &mut self,
        file: &str,
        span: Range<usize>,
        password: Option<&SecretRef>,
    ) -> Option<Vec<AgentCredential>> {
        let (full, text) = self.read_relative(file, span, "agents CSV")?;
        let shown = full.display().to_string();
        match agents::parse_csv(&text, password) {
            Ok(list) => Some(list),
            Err(problems) => {
                for p in problems {
                    let at = Span {
                        file: full.clone(),
                        range: p.line,
                    };
                    if let Some(mask) = p.mask {
                        self.out.masks.push(Span {
                            file: full.clone(),
                            range: mask,
                        });
                    }
                    self.out.errors.push(SuiteError {
                        span: Some(at),
                        kind: SuiteErrorKind::Csv {
                            path: shown.clone(),
                            message: p.message,
                        },
                    });
                }
                self.out.sources.insert(full, text);
                None
            }
        }
    }
}

/// The keys each mapping of the model accepts, in the model's field order (a test keeps them
/// equal to what serde_yaml expects).
mod keys {
    pub const TOP: &[&str] = &[
        "name",
        "description",
        "target",
        "agents",
        "personas",
        "contracts",
        "load",
        "thresholds",
        "simulator",
        "baseline",
        "drift",
    ];
    pub const BASELINE: &[&str] = &["tolerance", "floor"];
    pub const DRIFT: &[&str] = &["added_fields"];
    pub const TARGET: &[&str] = &[
        "api",
        "auth",
        "client_id",
        "client_secret",
        "grant",
        "site_id",
        "business_unit_id",
        "agent_group_id",
        "output",
        "tls",
    ];
    pub const TLS: &[&str] = &["insecure", "ca_cert"];
    pub const POOL: &[&str] = &["csv", "password", "prefix", "count", "start"];
    pub const AGENT: &[&str] = &["username", "password"];
    pub const PERSONA: &[&str] = &[
        "weight",
        "max_chats",
        "think",
        "typing",
        "reply",
        "messages",
        "deny",
        "transfer",
        "conference",
        "escalate",
        "disposition",
        "periodic",
    ];
    pub const CONTRACT: &[&str] = &[
        "status", "schema", "within", "needs", "request", "cases", "xml",
    ];
    pub const REQUEST: &[&str] = &["query", "body", "form", "headers"];
    pub const CASE: &[&str] = &[
        "name", "omit", "set", "token", "site", "foreign", "late", "status", "message", "skip",
    ];
    pub const LOAD: &[&str] = &[
        "agents",
        "ramp",
        "duration",
        "steps",
        "arrival_rate",
        "seed",
        "customers",
        "timeout",
        "max_body",
        "schema_sample",
        "clients",
    ];
    pub const CUSTOMERS: &[&str] = &["rate", "lines", "think", "patience"];
    pub const STEP: &[&str] = &["agents", "duration", "arrival_rate", "personas"];
}

/// An inline schema as JSON: YAML strings stay strings, other scalars become booleans or numbers.
fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &n.value {
        spans::Value::Scalar {
            text,
            is_string: true,
        } => J::String(text.clone()),
        spans::Value::Scalar { text, .. } => match text.as_str() {
            "true" => J::Bool(true),
            "false" => J::Bool(false),
            t => t
                .parse::<i64>()
                .map(J::from)
                .or_else(|_| t.parse::<f64>().map(J::from))
                .unwrap_or_else(|_| J::String(t.to_string())),
        },
        spans::Value::Map(m) => J::Object(
            m.iter()
                .map(|e| (e.key.clone(), to_json(&e.node)))
                .collect(),
        ),
        spans::Value::Seq(s) => J::Array(s.iter().map(to_json).collect()),
        spans::Value::Other => J::Null,
    }
}

/// The node a JSON pointer (`/properties/id/type`) names within `n`, or `n` itself.
fn pointer<'a>(n: &'a Node, ptr: &str) -> &'a Node {
    let mut at = n;
    for seg in ptr.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        let next = match seg.parse::<usize>() {
            Ok(i) if !at.items().is_empty() => at.items().get(i),
            _ => at.get(&seg),
        };
        match next {
            Some(x) => at = x,
            None => break,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::keys;

    /// The key lists must be exactly what serde_yaml's "expected one of" lists say.
    #[test]
    fn key_lists_match_the_model() {
        let cases: [(&str, &[&str]); 14] = [
            ("bogus: 1", keys::TOP),
            ("name: x\ntarget: {bogus: 1}", keys::TARGET),
            (
                "name: x\ntarget: {api: a, auth: b, client_id: \"${A}\", client_secret: \"${B}\", site_id: s, tls: {bogus: 1}}",
                keys::TLS,
            ),
            ("name: x\nagents: {bogus: 1}", keys::POOL),
            ("name: x\nagents: [{bogus: 1}]", keys::AGENT),
            ("name: x\npersonas: {a: {bogus: 1}}", keys::PERSONA),
            ("name: x\ncontracts: {login: {bogus: 1}}", keys::CONTRACT),
            (
                "name: x\ncontracts: {login: {request: {bogus: 1}}}",
                keys::REQUEST,
            ),
            (
                "name: x\ncontracts: {login: {cases: [{bogus: 1}]}}",
                keys::CASE,
            ),
            ("name: x\nload: {bogus: 1}", keys::LOAD),
            ("name: x\nload: {steps: [{bogus: 1}]}", keys::STEP),
            (
                "name: x\nload: {customers: {rate: 1/s, bogus: 1}}",
                keys::CUSTOMERS,
            ),
            ("name: x\nbaseline: {bogus: 1}", keys::BASELINE),
            ("name: x\ndrift: {bogus: 1}", keys::DRIFT),
        ];
        for (yaml, want) in cases {
            let msg = match serde_yaml::from_str::<crate::suite::Suite>(yaml) {
                Ok(_) => panic!("{yaml} parsed"),
                Err(e) => e.to_string(),
            };
            let list = msg.split(", expected ").nth(1).unwrap_or_default();
            let got: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
            assert_eq!(got, want, "{yaml}: {msg}");
        }
    }
}
