//! `RunData`: everything a run measured, as an owned, serialisable, exactly mergeable value.
//!
//! The recorder fills one `RunData` per shard and merges them at snapshot; `RunData::merge` is
//! the same operation the `merge` command uses on shards from several machines. Merging only adds
//! (histogram `add`, counts summed, examples concatenated and capped), so it is associative and
//! exact.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::hdr::{Hdr, Packed};

/// How many example exchanges are kept per (check, operation).
pub const MAX_EXAMPLES: usize = 5;

/// Why a request counted as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// An unexpected HTTP status.
    Status,
    /// The body did not match the operation's schema.
    Schema,
    /// Slower than the operation's `within` budget.
    Budget,
    /// Could not connect to the target.
    Connect,
    /// The connection was reset mid-exchange.
    Reset,
    /// No response in time (client timeout).
    Timeout,
    /// Garbage or undecodable body.
    Body,
    /// The target rejected an expired token.
    TokenExpired,
    Other,
}

impl ErrorKind {
    /// All kinds, in report order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Status,
        ErrorKind::Schema,
        ErrorKind::Budget,
        ErrorKind::Connect,
        ErrorKind::Reset,
        ErrorKind::Timeout,
        ErrorKind::Body,
        ErrorKind::TokenExpired,
        ErrorKind::Other,
    ];

    /// The snake_case name used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Status => "status",
            ErrorKind::Schema => "schema",
            ErrorKind::Budget => "budget",
            ErrorKind::Connect => "connect",
            ErrorKind::Reset => "reset",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Body => "body",
            ErrorKind::TokenExpired => "token_expired",
            ErrorKind::Other => "other",
        }
    }

    /// Transport-level kinds: no HTTP response was received.
    pub fn is_transport(self) -> bool {
        matches!(
            self,
            ErrorKind::Connect | ErrorKind::Reset | ErrorKind::Timeout
        )
    }
}

/// HTTP status class of a response, or `Transport` when there was none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatusClass {
    #[serde(rename = "1xx")]
    Informational,
    #[serde(rename = "2xx")]
    Success,
    #[serde(rename = "3xx")]
    Redirect,
    #[serde(rename = "4xx")]
    ClientError,
    #[serde(rename = "5xx")]
    ServerError,
    #[serde(rename = "transport")]
    Transport,
}

impl StatusClass {
    /// The class of `status` (`None` = transport failure; out-of-range codes count as 5xx).
    pub fn of(status: Option<u16>) -> StatusClass {
        match status {
            None => StatusClass::Transport,
            Some(100..=199) => StatusClass::Informational,
            Some(200..=299) => StatusClass::Success,
            Some(300..=399) => StatusClass::Redirect,
            Some(400..=499) => StatusClass::ClientError,
            Some(_) => StatusClass::ServerError,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirect => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
            StatusClass::Transport => "transport",
        }
    }
}

/// Direction of a chat message delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    CustomerToAgent,
    AgentToCustomer,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::CustomerToAgent => "customer_to_agent",
            Direction::AgentToCustomer => "agent_to_customer",
        }
    }
}

/// How an engagement offered to or handled by an agent ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementEnd {
    Accepted,
    Denied,
    /// The offer expired before the agent answered.
    Missed,
    Closed,
    Transferred,
    /// The customer left.
    Abandoned,
}

impl EngagementEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            EngagementEnd::Accepted => "accepted",
            EngagementEnd::Denied => "denied",
            EngagementEnd::Missed => "missed",
            EngagementEnd::Closed => "closed",
            EngagementEnd::Transferred => "transferred",
            EngagementEnd::Abandoned => "abandoned",
        }
    }
}

/// One request/response as reported in a check failure. Secrets are masked by the writers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// e.g. `POST /engagementAPI/v2/agent/acceptEngagement`
    pub request_line: String,
    pub status: Option<u16>,
    /// What was wrong, in words.
    pub detail: String,
    /// The start of the response body.
    pub response_excerpt: String,
}

/// Raw and coordinated-omission-corrected latency (µs) of the same samples.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    pub raw: Hdr,
    pub corrected: Hdr,
}

impl Latency {
    pub fn merge(&mut self, other: &Latency) {
        self.raw.merge(&other.raw);
        self.corrected.merge(&other.corrected);
    }
}

/// Counts and latency of one operation (or one persona).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Requests made, including failed ones.
    pub count: u64,
    /// Requests that counted as errors, by kind (a request counts once, under its kind).
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Responses by HTTP status code.
    pub statuses: BTreeMap<u16, u64>,
    pub latency: Latency,
    /// The same latency split by status class.
    pub by_class: BTreeMap<StatusClass, Latency>,
}

impl Stats {
    /// Total requests that counted as errors.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Errors of one kind.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors.get(&kind).copied().unwrap_or(0)
    }

    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        add_counts(&mut self.errors, &other.errors);
        add_counts(&mut self.statuses, &other.statuses);
        self.latency.merge(&other.latency);
        for (class, lat) in &other.by_class {
            self.by_class.entry(*class).or_default().merge(lat);
        }
    }
}

/// Pass/fail counts of one check on one operation, with the first few violations.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckStats {
    pub passed: u64,
    pub failed: u64,
    /// At most `MAX_EXAMPLES` violating exchanges, the earliest recorded first.
    pub examples: Vec<Exchange>,
}

impl CheckStats {
    /// Evaluations (passed + failed).
    pub fn total(&self) -> u64 {
        self.passed + self.failed
    }

    pub fn merge(&mut self, other: &CheckStats) {
        self.passed += other.passed;
        self.failed += other.failed;
        for ex in &other.examples {
            if self.examples.len() >= MAX_EXAMPLES {
                break;
            }
            self.examples.push(ex.clone());
        }
    }
}

/// Operations whose time is a long-poll hold (the server waits until something is pending):
/// counted in the totals, but kept out of all-operation latency figures.
pub const HOLD_OPS: &[&str] = &["messages.get"];

/// One time-series bucket (`RunData::interval_us` wide), indexed from the run start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Bucket {
    /// Requests completed in this bucket.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// Highest active-agent count reported in the bucket (carried forward when none was).
    pub active_agents: u64,
    /// Engagement ends counted in the bucket.
    pub engagements: u64,
    /// Raw latency per operation of the requests completed in the bucket (compressed).
    pub latency: BTreeMap<String, Packed>,
    /// The same, coordinated-omission corrected (absent from files of older versions).
    #[serde(default)]
    pub corrected: BTreeMap<String, Packed>,
}

impl Bucket {
    pub fn merge(&mut self, other: &Bucket) {
        self.requests += other.requests;
        self.errors += other.errors;
        // Shards drive disjoint agent populations, so their gauges add up.
        self.active_agents += other.active_agents;
        self.engagements += other.engagements;
        for (mine, theirs) in [
            (&mut self.latency, &other.latency),
            (&mut self.corrected, &other.corrected),
        ] {
            for (op, h) in theirs {
                match mine.get_mut(op) {
                    Some(m) => m.merge(h),
                    None => {
                        mine.insert(op.clone(), h.clone());
                    }
                }
            }
        }
    }
}

/// Everything one run measured. Latencies are µs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Width of a time-series bucket in µs.
    pub interval_us: u64,
    /// Per operation name.
    pub ops: BTreeMap<String, Stats>,
    /// Per persona name (all its operations).
    pub personas: BTreeMap<String, Stats>,
    /// check name → operation → counts.
    pub checks: BTreeMap<String, BTreeMap<String, CheckStats>>,
    /// persona → check name → violations (failed checks) of that persona's agents.
    #[serde(default)]
    pub violations_by_persona: BTreeMap<String, BTreeMap<String, u64>>,
    /// Long-poll hold time per persona (kept apart: a 25 s poll is not a slow request).
    pub poll_hold: BTreeMap<String, Hdr>,
    /// Message delivery latency by direction.
    pub delivery: BTreeMap<Direction, Hdr>,
    /// Engagements by how they ended.
    pub engagements: BTreeMap<EngagementEnd, u64>,
    /// Time series, bucket 0 starting at the run start.
    pub series: Vec<Bucket>,
}

impl Default for RunData {
    fn default() -> Self {
        RunData::new(Duration::from_secs(1))
    }
}

impl RunData {
    /// Empty data with time-series buckets `interval` wide (at least 1 µs).
    pub fn new(interval: Duration) -> RunData {
        RunData {
            interval_us: u64::try_from(interval.as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
            ops: BTreeMap::new(),
            personas: BTreeMap::new(),
            checks: BTreeMap::new(),
            violations_by_persona: BTreeMap::new(),
            poll_hold: BTreeMap::new(),
            delivery: BTreeMap::new(),
            engagements: BTreeMap::new(),
            series: Vec::new(),
        }
    }

    /// Width of a time-series bucket.
    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.interval_us)
    }

    /// Adds everything in `other` (exact: histogram `add`, counts summed). The bucket width of
    /// `self` is kept; shards of one run share it.
    pub fn merge(&mut self, other: &RunData) {
        merge_stats(&mut self.ops, &other.ops);
        merge_stats(&mut self.personas, &other.personas);
        for (check, by_op) in &other.checks {
            let mine = self.checks.entry(check.clone()).or_default();
            for (op, cs) in by_op {
                mine.entry(op.clone()).or_default().merge(cs);
            }
        }
        for (persona, by_check) in &other.violations_by_persona {
            add_counts(
                self.violations_by_persona
                    .entry(persona.clone())
                    .or_default(),
                by_check,
            );
        }
        for (persona, h) in &other.poll_hold {
            self.poll_hold.entry(persona.clone()).or_default().merge(h);
        }
        for (dir, h) in &other.delivery {
            self.delivery.entry(*dir).or_default().merge(h);
        }
        add_counts(&mut self.engagements, &other.engagements);
        if self.series.len() < other.series.len() {
            self.series.resize_with(other.series.len(), Bucket::default);
        }
        for (mine, theirs) in self.series.iter_mut().zip(&other.series) {
            mine.merge(theirs);
        }
    }

    /// All operations together: every count, status and error; the latency of every operation
    /// except the long-poll holds (`HOLD_OPS`), which are waiting, not slowness.
    pub fn total(&self) -> Stats {
        let mut all = Stats::default();
        for (op, s) in &self.ops {
            if HOLD_OPS.contains(&op.as_str()) {
                all.count += s.count;
                add_counts(&mut all.errors, &s.errors);
                add_counts(&mut all.statuses, &s.statuses);
            } else {
                all.merge(s);
            }
        }
        all
    }

    /// Pass/fail counts of one check over every operation.
    pub fn check_total(&self, check: &str) -> CheckStats {
        let mut all = CheckStats::default();
        if let Some(by_op) = self.checks.get(check) {
            for cs in by_op.values() {
                all.passed += cs.passed;
                all.failed += cs.failed;
            }
        }
        all
    }
}

fn merge_stats(dst: &mut BTreeMap<String, Stats>, src: &BTreeMap<String, Stats>) {
    for (k, s) in src {
        match dst.get_mut(k) {
            Some(mine) => mine.merge(s),
            None => {
                dst.insert(k.clone(), s.clone());
            }
        }
    }
}

fn add_counts<K: Ord + Clone>(dst: &mut BTreeMap<K, u64>, src: &BTreeMap<K, u64>) {
    for (k, n) in src {
        *dst.entry(k.clone()).or_insert(0) += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(StatusClass::of(None), StatusClass::Transport);
        assert_eq!(StatusClass::of(Some(204)), StatusClass::Success);
        assert_eq!(StatusClass::of(Some(404)), StatusClass::ClientError);
        assert_eq!(StatusClass::of(Some(503)), StatusClass::ServerError);
        assert_eq!(StatusClass::of(Some(999)).as_str(), "5xx");
    }

    #[test]
    fn examples_are_capped_when_merging() {
        let ex = Exchange {
            request_line: "GET /x".into(),
            status: Some(500),
            detail: "boom".into(),
            response_excerpt: String::new(),
        };
        let mut a = CheckStats {
            passed: 1,
            failed: 4,
            examples: vec![ex.clone(); 4],
        };
        let b = CheckStats {
            passed: 2,
            failed: 3,
            examples: vec![ex; 3],
        };
        a.merge(&b);
        assert_eq!((a.passed, a.failed, a.examples.len()), (3, 7, MAX_EXAMPLES));
    }

    #[test]
    fn run_data_round_trips_through_json() {
        let mut d = RunData::default();
        let s = d.ops.entry("getEngagement".into()).or_default();
        s.count = 3;
        s.errors.insert(ErrorKind::TokenExpired, 1);
        s.latency.raw.record_us(1500);
        d.engagements.insert(EngagementEnd::Accepted, 2);
        d.delivery
            .entry(Direction::AgentToCustomer)
            .or_default()
            .record_us(9);
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains("\"token_expired\":1"));
        let back: RunData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }
}
