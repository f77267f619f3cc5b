//! The live page's data: one [`Point`] per interval (the monitor's `tick`), and the state the
//! page polls (`/api/live?since=N`: the points after N, totals, thresholds, the verdict).
//!
//! Percentiles are exact per interval (the HDR histograms each cell fills between two ticks,
//! then resets), unlike `histogram_quantile` over Prometheus buckets. The timeline keeps the
//! last [`MAX_POINTS`] points (an hour at 1 s); the page asks only for what it has not seen.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram as Hdr;
use serde::Serialize;

use super::{Dual, EngagementEvent, Finish, Monitor, RunInfo, ThresholdState};
use crate::metrics::{Direction, hdr, us_to_ms};

/// Points kept; older ones are dropped (the page keeps what it already fetched).
pub const MAX_POINTS: usize = 3600;

/// p50/p95/p99 (ms) of the values recorded in one interval, and how many there were.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pct {
    pub n: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Pct {
    fn of(h: &Hdr<u64>) -> Option<Pct> {
        (!h.is_empty()).then(|| Pct {
            n: h.len(),
            p50: us_to_ms(h.value_at_quantile(0.5)),
            p95: us_to_ms(h.value_at_quantile(0.95)),
            p99: us_to_ms(h.value_at_quantile(0.99)),
        })
    }
}

/// One interval of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Seconds since the run started, at the end of the interval.
    pub t: f64,
    /// Requests and errors counted so far (cumulative).
    pub requests: u64,
    pub errors: u64,
    /// Per second over the interval.
    pub rps: f64,
    pub eps: f64,
    pub agents: u64,
    /// Engagement events so far, by event (cumulative).
    pub engagements: BTreeMap<&'static str, u64>,
    /// Latency percentiles of the operations that completed requests in the interval.
    pub ops: BTreeMap<String, Pct>,
    /// Long-poll holds ended in the interval (every persona).
    pub hold: Option<Pct>,
    /// Delivery time of lines first seen in the interval, by direction.
    pub delivery: BTreeMap<&'static str, Pct>,
}

/// The points so far and what the next one is measured against.
pub struct Timeline {
    interval: Duration,
    points: VecDeque<Point>,
    /// Points dropped from the front (the index of `points[0]`).
    dropped: usize,
    last: Option<(Instant, u64, u64)>,
}

impl Timeline {
    pub fn new(interval: Duration) -> Timeline {
        Timeline {
            interval: interval.max(Duration::from_millis(10)),
            points: VecDeque::new(),
            dropped: 0,
            last: None,
        }
    }

    /// How often the monitor should tick.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn push(&mut self, p: Point) {
        if self.points.len() >= MAX_POINTS {
            self.points.pop_front();
            self.dropped += 1;
        }
        self.points.push_back(p);
    }

    /// Index of the next point, and the points from index `since` on.
    fn since(&self, since: usize) -> (usize, Vec<Point>) {
        let next = self.dropped + self.points.len();
        let skip = since.saturating_sub(self.dropped);
        (next, self.points.iter().skip(skip).cloned().collect())
    }
}

/// Takes (and resets) an interval histogram.
fn drain(into: &mut Hdr<u64>, from: &std::sync::Mutex<Hdr<u64>>) {
    if let Ok(mut h) = from.lock() {
        hdr::add(into, &h);
        h.reset();
    }
}

fn drain_dual(d: &Dual) -> Option<Pct> {
    let mut h = hdr::new_histogram();
    drain(&mut h, &d.interval);
    Pct::of(&h)
}

/// Per-operation totals for the page's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpTotal {
    pub op: String,
    pub requests: u64,
    pub errors: u64,
}

/// What `/api/live` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub run: RunInfo,
    /// Seconds since the run started.
    pub elapsed: f64,
    /// Interval between points, seconds.
    pub interval: f64,
    /// Index of the first point in `points`; the next request asks `since = next`.
    pub first: usize,
    pub next: usize,
    pub points: Vec<Point>,
    pub requests: u64,
    pub errors: u64,
    pub agents: u64,
    pub engagements: BTreeMap<&'static str, u64>,
    pub ops: Vec<OpTotal>,
    pub thresholds: Vec<ThresholdState>,
    pub finished: Option<Finish>,
}

impl Monitor {
    fn engagement_counts(&self) -> BTreeMap<&'static str, u64> {
        EngagementEvent::ALL
            .iter()
            .zip(&self.engagements)
            .map(|(e, c)| (e.as_str(), c.get()))
            .collect()
    }

    /// Closes the current interval: appends one point to the timeline.
    pub fn tick(&self) {
        let now = Instant::now();
        let mut ops: BTreeMap<String, Hdr<u64>> = BTreeMap::new();
        for by_op in self.cells.read().values() {
            for cells in by_op.values() {
                let h = ops
                    .entry(cells.op.clone())
                    .or_insert_with(hdr::new_histogram);
                drain(h, &cells.interval);
            }
        }
        let mut hold = hdr::new_histogram();
        for d in self.holds.read().values() {
            drain(&mut hold, &d.interval);
        }
        let delivery = [Direction::CustomerToAgent, Direction::AgentToCustomer]
            .iter()
            .zip(&self.delivery)
            .filter_map(|(dir, d)| Some((dir.as_str(), drain_dual(d)?)))
            .collect();
        let (requests, errors) = self.totals();
        let Ok(mut tl) = self.timeline.lock() else {
            return;
        };
        let (since, r0, e0) = tl.last.unwrap_or((self.start, 0, 0));
        let dt = now.saturating_duration_since(since).as_secs_f64().max(1e-3);
        let point = Point {
            t: now.saturating_duration_since(self.start).as_secs_f64(),
            requests,
            errors,
            rps: requests.saturating_sub(r0) as f64 / dt,
            eps: errors.saturating_sub(e0) as f64 / dt,
            agents: self.agents.load(Ordering::Relaxed),
            engagements: self.engagement_counts(),
            ops: ops
                .into_iter()
                .filter_map(|(op, h)| Some((op, Pct::of(&h)?)))
                .collect(),
            hold: Pct::of(&hold),
            delivery,
        };
        tl.last = Some((now, requests, errors));
        tl.push(point);
    }

    /// How often [`Monitor::tick`] should run.
    pub fn tick_interval(&self) -> Duration {
        self.timeline
            .lock()
            .map(|t| t.interval())
            .unwrap_or(Duration::from_secs(1))
    }

    /// The page's view: the points from index `since` on, and everything else as of now.
    pub fn state(&self, since: usize) -> State {
        let (next, points) = self
            .timeline
            .lock()
            .map(|t| t.since(since))
            .unwrap_or_default();
        let first = next - points.len();
        let mut ops: BTreeMap<String, OpTotal> = BTreeMap::new();
        for by_op in self.cells.read().values() {
            for c in by_op.values() {
                let t = ops.entry(c.op.clone()).or_insert_with(|| OpTotal {
                    op: c.op.clone(),
                    requests: 0,
                    errors: 0,
                });
                t.requests += c.count.load(Ordering::Relaxed);
                t.errors += c.error_count.load(Ordering::Relaxed);
            }
        }
        let (requests, errors) = self.totals();
        State {
            run: self.info.clone(),
            elapsed: self.start.elapsed().as_secs_f64(),
            interval: self.tick_interval().as_secs_f64(),
            first,
            next,
            points,
            requests,
            errors,
            agents: self.agents.load(Ordering::Relaxed),
            engagements: self.engagement_counts(),
            ops: ops.into_values().collect(),
            thresholds: self
                .thresholds
                .lock()
                .map(|t| t.clone())
                .unwrap_or_default(),
            finished: self.finished(),
        }
    }
}
