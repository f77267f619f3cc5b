//! Watching a run while it runs: Prometheus metrics (`/metrics`) and a live page (`/`).
//!
//! The runner holds an `Option<Arc<Monitor>>` (set only with `--metrics-listen` or
//! `--dashboard`) and calls it beside the recorder: [`Monitor::observe`] per response,
//! [`Monitor::observe_checks`] per judged response, and the engagement, poll-hold, delivery and
//! active-agent updates. Those calls are lock-light (a read lock on a small map, atomic counters,
//! two short uncontended mutexes for the histograms), so a monitored run pays well under a
//! microsecond per request; an unmonitored run pays nothing.
//!
//! Two views read the same cells: [`prom`] encodes them in the Prometheus/OpenMetrics text
//! format on each scrape, and [`timeline`] turns them into one point per interval (requests,
//! errors, agents, engagements, p50/p95/p99 per operation, poll hold, delivery time) for the
//! live page, which [`server`] serves with `/api/live` (JSON) and the reports at the end.
//! This module imports only `metrics` (its vocabulary: error kinds, status classes, directions).

pub mod prom;
pub mod server;
pub mod timeline;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram as Hdr;
use parking_lot::RwLock;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::metrics::{
    CheckOutcome, Direction, EngagementEnd, ErrorKind, Observer, RunData, Sample, StatusClass, hdr,
};
use prom::Families;

pub use server::{Background, Listen, ListenError, Server};
pub use timeline::{Point, Timeline};

/// What a monitored run is, for the labels every metric carries and the page's title.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The suite's name.
    pub suite: String,
    /// `I/N` for a sharded run, `1/1` otherwise (so sums over shards read the same either way).
    pub shard: String,
    /// The API base the run targets.
    pub target: String,
}

/// One threshold's state as last judged, for `/metrics` and the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdState {
    /// The rule as written in the suite, e.g. `p95(acceptEngagement) < 300ms`.
    pub source: String,
    /// The measured value for people, e.g. `12.5 ms`, or why it is not measured yet.
    pub measured: String,
    /// The measured value in the rule's unit, when there is one.
    pub value: Option<f64>,
    pub passed: bool,
}

/// A report the run wrote, linked from the page at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportLink {
    /// The file name, e.g. `report.html`; the page links `/reports/<name>`.
    pub name: String,
    /// Where it is on disk (served by the listener while it lingers).
    #[serde(skip)]
    pub path: std::path::PathBuf,
}

/// How the run ended, shown by the page once it is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finish {
    pub passed: bool,
    /// The process's exit code.
    pub exit_code: u8,
    /// One line for people, e.g. `passed: 12 checks, 2 thresholds` or why it failed.
    pub verdict: String,
    /// The report directory.
    pub out_dir: String,
    pub reports: Vec<ReportLink>,
}

/// An engagement event counted by `aeapi_harness_engagements_total{event}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngagementEvent {
    /// An offer reached an agent.
    Offered,
    /// The engagement (or the offer) ended this way.
    Ended(EngagementEnd),
}

impl EngagementEvent {
    /// Every event, in the order the page and the exposition list them.
    pub const ALL: [EngagementEvent; 7] = [
        EngagementEvent::Offered,
        EngagementEvent::Ended(EngagementEnd::Accepted),
        EngagementEvent::Ended(EngagementEnd::Denied),
        EngagementEvent::Ended(EngagementEnd::Missed),
        EngagementEvent::Ended(EngagementEnd::Closed),
        EngagementEvent::Ended(EngagementEnd::Transferred),
        EngagementEvent::Ended(EngagementEnd::Abandoned),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EngagementEvent::Offered => "offered",
            EngagementEvent::Ended(end) => end.as_str(),
        }
    }

    fn index(self) -> usize {
        EngagementEvent::ALL
            .iter()
            .position(|e| *e == self)
            .unwrap_or(0)
    }
}

/// Index of a status class in `StatusClass`'s declaration order.
fn class_index(c: StatusClass) -> usize {
    match c {
        StatusClass::Informational => 0,
        StatusClass::Success => 1,
        StatusClass::Redirect => 2,
        StatusClass::ClientError => 3,
        StatusClass::ServerError => 4,
        StatusClass::Transport => 5,
    }
}

fn kind_index(k: ErrorKind) -> usize {
    ErrorKind::ALL.iter().position(|x| *x == k).unwrap_or(0)
}

/// Time as a histogram value in µs (the HDR histograms' unit), saturating.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .min(hdr::MAX_US)
}

/// The cells of one (persona, operation): Prometheus handles resolved once, plus the totals
/// and the interval histogram the page reads.
struct OpCells {
    persona: String,
    op: String,
    requests: [OnceLock<Counter>; 6],
    errors: [OnceLock<Counter>; ErrorKind::ALL.len()],
    latency: Histogram,
    count: AtomicU64,
    error_count: AtomicU64,
    /// Latency (µs) of the requests completed since the last timeline tick.
    interval: Mutex<Hdr<u64>>,
    /// Check name → (passed, failed) counters.
    checks: RwLock<Vec<(String, Counter, Counter)>>,
}

/// A histogram that feeds both `/metrics` and the page's interval percentiles.
struct Dual {
    prom: Histogram,
    interval: Mutex<Hdr<u64>>,
}

impl Dual {
    fn new(prom: Histogram) -> Dual {
        Dual {
            prom,
            interval: Mutex::new(hdr::new_histogram()),
        }
    }

    fn observe(&self, d: Duration) {
        self.prom.observe(d.as_secs_f64());
        if let Ok(mut h) = self.interval.lock() {
            hdr::record(&mut h, micros(d));
        }
    }
}

/// The live view of one run; see the module docs. Shared as `Arc<Monitor>`.
pub struct Monitor {
    info: RunInfo,
    start: Instant,
    families: Families,
    /// persona → operation → cells. Looked up twice per request: hashed with Fx, not SipHash
    /// (the keys come from the suite and the operation table, not from the target).
    cells: RwLock<FxHashMap<String, FxHashMap<String, Arc<OpCells>>>>,
    /// persona → poll-hold histogram.
    holds: RwLock<FxHashMap<String, Arc<Dual>>>,
    delivery: [Dual; 2],
    engagements: [Counter; 7],
    requests: AtomicU64,
    errors: AtomicU64,
    agents: AtomicU64,
    thresholds: Mutex<Vec<ThresholdState>>,
    timeline: Mutex<Timeline>,
    finish: Mutex<Option<Finish>>,
    judge: Mutex<Option<Judge>>,
}

/// Judges the thresholds on the totals so far (set by the command layer, which knows them).
pub type Judge = Box<dyn Fn(&RunData, Duration) -> Vec<ThresholdState> + Send + Sync>;

impl Monitor {
    /// A monitor for the run `info`, started now; the timeline keeps one point per `interval`.
    pub fn new(info: RunInfo, interval: Duration) -> Arc<Monitor> {
        let families = Families::new(&info);
        let delivery = [Direction::CustomerToAgent, Direction::AgentToCustomer]
            .map(|d| Dual::new(families.delivery(d)));
        let engagements = EngagementEvent::ALL.map(|e| families.engagement(e));
        Arc::new(Monitor {
            info,
            start: Instant::now(),
            families,
            cells: RwLock::new(FxHashMap::default()),
            holds: RwLock::new(FxHashMap::default()),
            delivery,
            engagements,
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            agents: AtomicU64::new(0),
            thresholds: Mutex::new(Vec::new()),
            timeline: Mutex::new(Timeline::new(interval)),
            finish: Mutex::new(None),
            judge: Mutex::new(None),
        })
    }

    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// When the monitor was created (the page's time 0).
    pub fn start(&self) -> Instant {
        self.start
    }

    fn cells(&self, persona: &str, op: &str) -> Arc<OpCells> {
        if let Some(c) = self.cells.read().get(persona).and_then(|m| m.get(op)) {
            return c.clone();
        }
        let mut all = self.cells.write();
        let by_op = all.entry(persona.to_owned()).or_default();
        by_op
            .entry(op.to_owned())
            .or_insert_with(|| {
                Arc::new(OpCells {
                    persona: persona.to_owned(),
                    op: op.to_owned(),
                    requests: Default::default(),
                    errors: Default::default(),
                    latency: self.families.latency(persona, op),
                    count: AtomicU64::new(0),
                    error_count: AtomicU64::new(0),
                    interval: Mutex::new(hdr::new_histogram()),
                    checks: RwLock::new(Vec::new()),
                })
            })
            .clone()
    }

    /// Counts one response (or transport failure) and its latency. It is an error when `error`
    /// is set or there was no response, as the recorder counts it.
    pub fn observe(&self, s: &Sample<'_>) {
        let cells = self.cells(s.persona, s.op);
        let class = StatusClass::of(s.status);
        cells.requests[class_index(class)]
            .get_or_init(|| self.families.request(&cells.persona, &cells.op, class))
            .inc();
        cells.count.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        if s.error.is_some() || s.status.is_none() {
            let kind = s.error.unwrap_or(ErrorKind::Other);
            cells.errors[kind_index(kind)]
                .get_or_init(|| self.families.error(&cells.persona, &cells.op, kind))
                .inc();
            cells.error_count.fetch_add(1, Ordering::Relaxed);
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        cells.latency.observe(s.latency.as_secs_f64());
        if let Ok(mut h) = cells.interval.lock() {
            hdr::record(&mut h, micros(s.latency));
        }
    }

    /// Counts the checks of one response.
    pub fn observe_checks(&self, checks: &[CheckOutcome<'_>]) {
        // The checks of one response share its persona and operation: one look-up serves them,
        // and a counter already made is bumped under the read lock, without cloning it.
        let mut cells: Option<Arc<OpCells>> = None;
        for c in checks {
            let cells = match cells.take() {
                Some(l) if l.persona == c.persona && l.op == c.op => cells.insert(l),
                _ => cells.insert(self.cells(c.persona, c.op)),
            };
            let named = |(name, _, _): &(String, Counter, Counter)| name == c.check;
            let outcome = |(_, pass, fail): &(String, Counter, Counter)| {
                if c.passed { pass } else { fail }.inc();
            };
            if let Some(entry) = cells.checks.read().iter().find(|e| named(e)) {
                outcome(entry);
                continue;
            }
            let mut list = cells.checks.write();
            let at = match list.iter().position(named) {
                Some(at) => at,
                None => {
                    let (pass, fail) = self.families.check(&cells.persona, c.check, &cells.op);
                    list.push((c.check.to_owned(), pass, fail));
                    list.len() - 1
                }
            };
            outcome(&list[at]);
        }
    }

    /// Sets the number of agents logged in.
    pub fn set_active_agents(&self, n: u64) {
        self.agents.store(n, Ordering::Relaxed);
        self.families
            .active_agents
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Counts an engagement event.
    pub fn observe_engagement(&self, e: EngagementEvent) {
        self.engagements[e.index()].inc();
    }

    /// Records how long a long-poll was held.
    pub fn observe_poll_hold(&self, persona: &str, hold: Duration) {
        let found = self.holds.read().get(persona).cloned();
        let dual = match found {
            Some(d) => d,
            None => self
                .holds
                .write()
                .entry(persona.to_owned())
                .or_insert_with(|| Arc::new(Dual::new(self.families.poll_hold(persona))))
                .clone(),
        };
        dual.observe(hold);
    }

    /// Records a chat line's delivery time.
    pub fn observe_delivery(&self, dir: Direction, latency: Duration) {
        let i = match dir {
            Direction::CustomerToAgent => 0,
            Direction::AgentToCustomer => 1,
        };
        self.delivery[i].observe(latency);
    }

    /// Sets how thresholds are judged on the data so far (see [`Observer::progress`]).
    pub fn set_judge(&self, judge: Judge) {
        if let Ok(mut j) = self.judge.lock() {
            *j = Some(judge);
        }
    }

    /// Replaces the thresholds' states (judged on the data so far).
    pub fn set_thresholds(&self, states: Vec<ThresholdState>) {
        for t in &states {
            self.families.threshold(t);
        }
        if let Ok(mut mine) = self.thresholds.lock() {
            *mine = states;
        }
    }

    /// Marks the run finished: the page shows the verdict and links the reports, `/metrics`
    /// says `aeapi_harness_run_finished 1`. Also closes the timeline's last interval.
    pub fn finish(&self, finish: Finish) {
        self.tick();
        self.families.finished.set(1);
        self.families.passed.set(i64::from(finish.passed));
        if let Ok(mut f) = self.finish.lock() {
            *f = Some(finish);
        }
    }

    /// The verdict, once the run is over.
    pub fn finished(&self) -> Option<Finish> {
        self.finish.lock().ok().and_then(|f| f.clone())
    }

    /// Requests and errors counted so far.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }

    /// The Prometheus text exposition (OpenMetrics 1.0) of everything observed so far.
    pub fn exposition(&self) -> String {
        self.families.encode()
    }
}

/// The recorder forwards everything here as it records it.
impl Observer for Monitor {
    fn sample(&self, s: &Sample<'_>) {
        self.observe(s);
    }

    fn checks(&self, checks: &[CheckOutcome<'_>]) {
        self.observe_checks(checks);
    }

    fn poll_hold(&self, persona: &str, hold: Duration) {
        self.observe_poll_hold(persona, hold);
    }

    fn delivery(&self, dir: Direction, latency: Duration) {
        self.observe_delivery(dir, latency);
    }

    fn engagement(&self, end: EngagementEnd) {
        self.observe_engagement(EngagementEvent::Ended(end));
    }

    fn offered(&self) {
        self.observe_engagement(EngagementEvent::Offered);
    }

    fn active_agents(&self, n: u64) {
        self.set_active_agents(n);
    }

    fn progress(&self, totals: &RunData, elapsed: Duration) {
        let states = match self.judge.lock() {
            Ok(j) => j.as_ref().map(|judge| judge(totals, elapsed)),
            Err(_) => None,
        };
        if let Some(states) = states {
            self.set_thresholds(states);
        }
    }
}

#[cfg(test)]
mod tests;
