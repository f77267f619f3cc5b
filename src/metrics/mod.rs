//! TEMPORARY interface stub (replaced by the metrics work on merge): the recording API the
//! runner calls. Keeps counts only.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Status,
    Schema,
    Budget,
    Connect,
    Reset,
    Timeout,
    Body,
    TokenExpired,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    CustomerToAgent,
    AgentToCustomer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngagementEnd {
    Accepted,
    Denied,
    Missed,
    Closed,
    Transferred,
}

pub struct Sample<'a> {
    pub op: &'a str,
    pub persona: &'a str,
    pub status: Option<u16>,
    pub latency: Duration,
    pub error: Option<ErrorKind>,
    pub expected_interval: Option<Duration>,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct Exchange {
    pub request_line: String,
    pub status: Option<u16>,
    pub detail: String,
    pub response_excerpt: String,
}

pub struct CheckOutcome<'a> {
    pub check: &'a str,
    pub op: &'a str,
    pub persona: &'a str,
    pub passed: bool,
    pub example: Option<Exchange>,
}

#[derive(Debug, Default, Clone)]
pub struct RunData {
    pub requests: u64,
    pub errors: u64,
    pub checks_failed: Vec<(String, String)>,
    pub checks_passed: u64,
    pub engagements: Vec<EngagementEnd>,
}

#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Mutex<RunData>>,
}

impl Recorder {
    pub fn new(_start: Instant, _interval: Duration) -> Self {
        Recorder {
            inner: Arc::new(Mutex::new(RunData::default())),
        }
    }
    pub fn record(&self, s: &Sample<'_>) {
        if let Ok(mut d) = self.inner.lock() {
            d.requests += 1;
            if s.error.is_some() {
                d.errors += 1;
            }
        }
    }
    pub fn record_poll_hold(&self, _persona: &str, _hold: Duration) {}
    pub fn record_delivery(&self, _dir: Direction, _latency: Duration) {}
    pub fn record_check(&self, c: &CheckOutcome<'_>) {
        if let Ok(mut d) = self.inner.lock() {
            if c.passed {
                d.checks_passed += 1;
            } else {
                let detail = c
                    .example
                    .as_ref()
                    .map(|e| e.detail.clone())
                    .unwrap_or_default();
                d.checks_failed
                    .push((format!("{}:{}", c.check, c.op), detail));
            }
        }
    }
    pub fn set_active_agents(&self, _n: u64) {}
    pub fn count_engagement(&self, e: EngagementEnd) {
        if let Ok(mut d) = self.inner.lock() {
            d.engagements.push(e);
        }
    }
    pub fn snapshot(&self) -> RunData {
        self.inner.lock().map(|d| d.clone()).unwrap_or_default()
    }
}
