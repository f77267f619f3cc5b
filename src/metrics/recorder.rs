//! The concurrent recorder the runner calls from every agent task.
//!
//! Cheap at ~40k req/s on two cores: each OS thread is pinned (round robin, on first use) to one
//! of `SHARDS` shards, each a `Mutex<RunData>` held only for a few map look-ups and histogram
//! increments, so threads almost never contend. `snapshot` merges the shards exactly.
//! Time-series latency is kept per bucket; a shard packs (compresses) a bucket's histograms when
//! it moves on to the next, so an hour-long run holds kilobytes per bucket, not megabytes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::data::{Bucket, CheckStats, MAX_EXAMPLES, RunData, Stats, StatusClass};
use super::hdr::{self, Packed};
use super::{CheckOutcome, Direction, EngagementEnd, ErrorKind, Observer, Sample};

/// Number of shards; more than the worker threads we expect, so threads rarely share one.
const SHARDS: usize = 16;
/// Time-series buckets kept (72 h at 1 s); later samples land in the last one, so a bogus
/// timestamp cannot allocate without bound.
const MAX_BUCKETS: usize = 1 << 18;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// Thread-safe, cheaply cloneable handle to a run's measurements (an `Arc` inside).
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    interval: Duration,
    shards: Vec<Mutex<Shard>>,
    /// Active-agent gauge per bucket (highest value set in the bucket).
    agents: Mutex<Vec<Option<u64>>>,
    /// Sees everything recorded, as it is recorded (`--metrics-listen`, `--dashboard`).
    observer: Option<Arc<dyn Observer>>,
}

struct Shard {
    data: RunData,
    /// Bucket whose per-operation histograms are still open (unpacked).
    open_idx: usize,
    /// Raw and corrected histograms per operation.
    open: BTreeMap<String, (Histogram<u64>, Histogram<u64>)>,
}

impl Shard {
    fn bucket(&mut self, idx: usize) -> &mut Bucket {
        if self.data.series.len() <= idx {
            self.data.series.resize_with(idx + 1, Bucket::default);
        }
        &mut self.data.series[idx]
    }

    /// Packs the open histograms into their bucket.
    fn close_open(&mut self) {
        let open = std::mem::take(&mut self.open);
        let idx = self.open_idx;
        let bucket = self.bucket(idx);
        for (op, (raw, corrected)) in open {
            for (map, h) in [
                (&mut bucket.latency, &raw),
                (&mut bucket.corrected, &corrected),
            ] {
                let packed = Packed::pack(h);
                match map.get_mut(&op) {
                    Some(p) => p.merge(&packed),
                    None => {
                        map.insert(op.clone(), packed);
                    }
                }
            }
        }
    }

    /// The open (raw, corrected) histograms for `op` in bucket `idx`; a sample late for an
    /// already packed bucket goes to the open one (a skew of at most one request's completion
    /// order).
    fn open_histogram(&mut self, idx: usize, op: &str) -> &mut (Histogram<u64>, Histogram<u64>) {
        if idx > self.open_idx {
            self.close_open();
            self.open_idx = idx;
        }
        if !self.open.contains_key(op) {
            self.open
                .insert(op.to_owned(), (hdr::new_histogram(), hdr::new_histogram()));
        }
        // Just inserted if absent.
        self.open
            .get_mut(op)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }
}

fn stats_for<'a>(map: &'a mut BTreeMap<String, Stats>, key: &str) -> &'a mut Stats {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), Stats::default());
    }
    map.get_mut(key)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

fn record_into(stats: &mut Stats, s: &Sample<'_>, us: u64, interval_us: Option<u64>, err: bool) {
    stats.count += 1;
    if err {
        let kind = s.error.unwrap_or(ErrorKind::Other);
        *stats.errors.entry(kind).or_insert(0) += 1;
    }
    if let Some(code) = s.status {
        *stats.statuses.entry(code).or_insert(0) += 1;
    }
    let class = stats.by_class.entry(StatusClass::of(s.status)).or_default();
    for lat in [&mut stats.latency, class] {
        hdr::record(&mut lat.raw, us);
        match interval_us {
            Some(i) => hdr::record_corrected(&mut lat.corrected, us, i),
            None => hdr::record(&mut lat.corrected, us),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Recorder {
    /// A recorder for a run that started at `start`, with time-series buckets `interval` wide
    /// (1 s is the usual choice; a zero interval is treated as 1 µs).
    pub fn new(start: Instant, interval: Duration) -> Recorder {
        Recorder::with_observer(start, interval, None)
    }

    /// A recorder that also forwards everything it records to `observer`.
    pub fn with_observer(
        start: Instant,
        interval: Duration,
        observer: Option<Arc<dyn Observer>>,
    ) -> Recorder {
        let interval = interval.max(Duration::from_micros(1));
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    data: RunData::new(interval),
                    open_idx: 0,
                    open: BTreeMap::new(),
                })
            })
            .collect();
        Recorder {
            inner: Arc::new(Inner {
                start,
                interval,
                shards,
                agents: Mutex::new(Vec::new()),
                observer,
            }),
        }
    }

    /// The observer everything is forwarded to, if any.
    pub fn observer(&self) -> Option<&Arc<dyn Observer>> {
        self.inner.observer.as_ref()
    }

    /// The run start this recorder measures buckets from.
    pub fn start(&self) -> Instant {
        self.inner.start
    }

    fn bucket_index(&self, at: Instant) -> usize {
        let since = at.saturating_duration_since(self.inner.start);
        let idx = since.as_micros() / self.inner.interval.as_micros().max(1);
        usize::try_from(idx)
            .unwrap_or(usize::MAX)
            .min(MAX_BUCKETS - 1)
    }

    fn shard(&self) -> MutexGuard<'_, Shard> {
        let i = SHARD.with(|i| *i);
        // A panic while holding a shard lock leaves plain counters behind: still usable.
        self.inner.shards[i]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records one request/response (or transport failure).
    ///
    /// It counts as an error when `error` is set, or when `status` is `None` (then as
    /// `ErrorKind::Other` unless a kind is given). The raw histogram gets the latency; the
    /// corrected one also gets the values coordinated omission hid when `expected_interval` is
    /// set. The time-series bucket is that of the request's completion (`at + latency`).
    pub fn record(&self, s: &Sample<'_>) {
        let us = micros(s.latency);
        let interval_us = s.expected_interval.map(micros).filter(|i| *i > 0);
        let err = s.error.is_some() || s.status.is_none();
        let done =
            s.at.checked_add(Duration::from_micros(us.min(hdr::MAX_US)))
                .unwrap_or(s.at);
        let idx = self.bucket_index(done);
        if let Some(o) = &self.inner.observer {
            o.sample(s);
        }
        let mut shard = self.shard();
        record_into(
            stats_for(&mut shard.data.ops, s.op),
            s,
            us,
            interval_us,
            err,
        );
        record_into(
            stats_for(&mut shard.data.personas, s.persona),
            s,
            us,
            interval_us,
            err,
        );
        let (raw, corrected) = shard.open_histogram(idx, s.op);
        hdr::record(raw, us);
        match interval_us {
            Some(i) => hdr::record_corrected(corrected, us, i),
            None => hdr::record(corrected, us),
        }
        let bucket = shard.bucket(idx);
        bucket.requests += 1;
        if err {
            bucket.errors += 1;
        }
    }

    /// Records how long a long-poll was held open by the target.
    pub fn record_poll_hold(&self, persona: &str, hold: Duration) {
        if let Some(o) = &self.inner.observer {
            o.poll_hold(persona, hold);
        }
        let mut shard = self.shard();
        let polls = &mut shard.data.poll_hold;
        match polls.get_mut(persona) {
            Some(h) => h.record_us(micros(hold)),
            None => {
                let mut h = hdr::Hdr::default();
                h.record_us(micros(hold));
                polls.insert(persona.to_owned(), h);
            }
        }
    }

    /// Records a message's end-to-end delivery latency.
    pub fn record_delivery(&self, dir: Direction, latency: Duration) {
        if let Some(o) = &self.inner.observer {
            o.delivery(dir, latency);
        }
        let mut shard = self.shard();
        shard
            .data
            .delivery
            .entry(dir)
            .or_default()
            .record_us(micros(latency));
    }

    /// Records one evaluated check, passed or violated. The example is kept only for the first
    /// `MAX_EXAMPLES` violations per (check, op) in this shard (and after merging).
    pub fn record_check(&self, c: &CheckOutcome<'_>) {
        if let Some(o) = &self.inner.observer {
            o.checks(std::slice::from_ref(c));
        }
        add_check(&mut self.shard().data, c);
    }

    /// Records the outcomes of several checks (those of one response) under one lock.
    pub fn record_checks(&self, checks: &[CheckOutcome<'_>]) {
        if let Some(o) = &self.inner.observer {
            o.checks(checks);
        }
        let mut shard = self.shard();
        for c in checks {
            add_check(&mut shard.data, c);
        }
    }

    /// Sets the number of active agents; each bucket keeps the highest value set in it.
    pub fn set_active_agents(&self, n: u64) {
        if let Some(o) = &self.inner.observer {
            o.active_agents(n);
        }
        let idx = self.bucket_index(Instant::now());
        let mut agents = self
            .inner
            .agents
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if agents.len() <= idx {
            agents.resize(idx + 1, None);
        }
        let slot = &mut agents[idx];
        *slot = Some(slot.map_or(n, |m| m.max(n)));
    }

    /// Counts an engagement by how it ended.
    pub fn count_engagement(&self, handled: EngagementEnd) {
        if let Some(o) = &self.inner.observer {
            o.engagement(handled);
        }
        let idx = self.bucket_index(Instant::now());
        let mut shard = self.shard();
        *shard.data.engagements.entry(handled).or_insert(0) += 1;
        shard.bucket(idx).engagements += 1;
    }

    /// Notes that an offer reached an agent: only the observer counts offers.
    pub fn count_offer(&self) {
        if let Some(o) = &self.inner.observer {
            o.offered();
        }
    }

    /// Everything recorded so far but the time series (cheap enough to take every few
    /// seconds: no bucket is unpacked).
    pub fn totals(&self) -> RunData {
        let mut out = RunData::new(self.inner.interval);
        for shard in &self.inner.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            // Set the series aside (under the lock) so that merging leaves them alone.
            let series = std::mem::take(&mut shard.data.series);
            out.merge(&shard.data);
            shard.data.series = series;
        }
        out
    }

    /// An owned copy of everything recorded so far (shards merged exactly).
    pub fn snapshot(&self) -> RunData {
        let mut out = RunData::new(self.inner.interval);
        for shard in &self.inner.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            out.merge(&shard.data);
            let idx = shard.open_idx;
            let mut open = Bucket::default();
            for (op, (raw, corrected)) in &shard.open {
                open.latency.insert(op.clone(), Packed::pack(raw));
                open.corrected.insert(op.clone(), Packed::pack(corrected));
            }
            if !open.latency.is_empty() {
                if out.series.len() <= idx {
                    out.series.resize_with(idx + 1, Bucket::default);
                }
                out.series[idx].merge(&open);
            }
        }
        let agents = self
            .inner
            .agents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if out.series.len() < agents.len() {
            out.series.resize_with(agents.len(), Bucket::default);
        }
        let mut last = 0;
        for (i, bucket) in out.series.iter_mut().enumerate() {
            if let Some(Some(n)) = agents.get(i) {
                last = *n;
            }
            bucket.active_agents = last;
        }
        out
    }
}

/// Adds one check outcome (the shard's lock is held by the caller).
fn add_check(data: &mut RunData, c: &CheckOutcome<'_>) {
    let checks = &mut data.checks;
    if !checks.contains_key(c.check) {
        checks.insert(c.check.to_owned(), BTreeMap::new());
    }
    let Some(by_op) = checks.get_mut(c.check) else {
        return;
    };
    if !by_op.contains_key(c.op) {
        by_op.insert(c.op.to_owned(), CheckStats::default());
    }
    let Some(cs) = by_op.get_mut(c.op) else {
        return;
    };
    if c.passed {
        cs.passed += 1;
        return;
    }
    cs.failed += 1;
    if cs.examples.len() < MAX_EXAMPLES
        && let Some(ex) = &c.example
    {
        cs.examples.push(ex.clone());
    }
    let by_persona = &mut data.violations_by_persona;
    if !by_persona.contains_key(c.persona) {
        by_persona.insert(c.persona.to_owned(), BTreeMap::new());
    }
    if let Some(by_check) = by_persona.get_mut(c.persona) {
        match by_check.get_mut(c.check) {
            Some(n) => *n += 1,
            None => {
                by_check.insert(c.check.to_owned(), 1);
            }
        }
    }
}
