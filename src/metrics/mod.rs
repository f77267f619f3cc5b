//! HDR latency recording (µs, raw and coordinated-omission corrected) and exact merges.
//!
//! The runner holds one [`Recorder`] (cheap to clone, `Send + Sync`) and calls it from every
//! agent task: [`Recorder::record`] per request, [`Recorder::record_check`] per evaluated check,
//! plus poll holds, deliveries, engagement ends and the active-agent gauge. At the end,
//! [`Recorder::snapshot`] yields a [`RunData`] that the report writers read and that
//! [`RunData::merge`] combines exactly across shards.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use aeapi_harness::metrics::{CheckOutcome, ErrorKind, Recorder, Sample};
//!
//! let recorder = Recorder::new(Instant::now(), Duration::from_secs(1));
//! let at = Instant::now();
//! recorder.record(&Sample {
//!     op: "acceptEngagement",
//!     persona: "agent",
//!     status: Some(200),
//!     latency: at.elapsed(),
//!     error: None,
//!     expected_interval: Some(Duration::from_millis(500)),
//!     at,
//! });
//! recorder.record_check(&CheckOutcome {
//!     check: "status",
//!     op: "acceptEngagement",
//!     persona: "agent",
//!     passed: true,
//!     example: None,
//! });
//! let data = recorder.snapshot();
//! assert_eq!(data.ops["acceptEngagement"].count, 1);
//! assert_eq!(data.ops["acceptEngagement"].errors_of(ErrorKind::Status), 0);
//! ```

mod data;
pub mod hdr;
mod observer;
mod recorder;

use std::time::{Duration, Instant};

pub use data::{
    Bucket, CheckStats, Direction, EngagementEnd, ErrorKind, Exchange, HOLD_OPS, Latency,
    MAX_EXAMPLES, RunData, Stats, StatusClass,
};
pub use hdr::{Hdr, Packed};
pub use observer::Observer;
pub use recorder::Recorder;

/// One request/response, or a transport failure.
#[derive(Debug, Clone)]
pub struct Sample<'a> {
    /// Operation name, e.g. `acceptEngagement`.
    pub op: &'a str,
    pub persona: &'a str,
    /// `None` = no response (transport error).
    pub status: Option<u16>,
    /// Time from sending the request to the response (or failure).
    pub latency: Duration,
    /// Why it counts as an error, if it does.
    pub error: Option<ErrorKind>,
    /// The pacing the agent intended for this call, for coordinated-omission correction;
    /// `None` = no correction. Leave it `None` for long-polls: their hold time is not a stall
    /// (record it with `Recorder::record_poll_hold`), and correcting a 25 s hold at a 10 ms
    /// pace would add 2,500 synthetic values per poll.
    pub expected_interval: Option<Duration>,
    /// When the request started.
    pub at: Instant,
}

/// One evaluated check.
#[derive(Debug, Clone)]
pub struct CheckOutcome<'a> {
    /// `status`, `schema`, `within`, `accepted_within_window`, `polled_within_window`,
    /// `token_fresh`, …
    pub check: &'a str,
    pub op: &'a str,
    pub persona: &'a str,
    pub passed: bool,
    /// The offending exchange; kept only for the first few violations per (check, op).
    pub example: Option<Exchange>,
}

/// Latency of a histogram value in milliseconds (histograms hold µs).
pub fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(op: &'a str, at: Instant, ms: u64) -> Sample<'a> {
        Sample {
            op,
            persona: "agent",
            status: Some(200),
            latency: Duration::from_millis(ms),
            error: None,
            expected_interval: None,
            at,
        }
    }

    fn within_precision(actual: u64, expected: u64) -> bool {
        // 3 significant figures: 0.1% relative.
        actual.abs_diff(expected) * 1000 <= expected
    }

    #[test]
    fn violations_are_tallied_per_persona_and_merge_exactly() {
        let t0 = Instant::now();
        let check = |r: &Recorder, persona: &str, passed: bool| {
            r.record_check(&CheckOutcome {
                check: "within",
                op: "login",
                persona,
                passed,
                example: None,
            })
        };
        let (a, b) = (
            Recorder::new(t0, Duration::from_secs(1)),
            Recorder::new(t0, Duration::from_secs(1)),
        );
        check(&a, "steady", false);
        check(&a, "steady", true);
        check(&a, "hurried", false);
        check(&b, "steady", false);
        let mut d = a.snapshot();
        d.merge(&b.snapshot());
        assert_eq!(d.violations_by_persona["steady"]["within"], 2);
        assert_eq!(d.violations_by_persona["hurried"]["within"], 1);
        assert_eq!(d.checks["within"]["login"].failed, 3);
        assert_eq!(d.checks["within"]["login"].passed, 1);
    }

    #[test]
    fn totals_count_long_polls_but_keep_their_holds_out_of_latency() {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        r.record(&sample("messages.get", t0, 20_000));
        let mut failed = sample("messages.get", t0, 5);
        failed.status = Some(500);
        failed.error = Some(ErrorKind::Status);
        r.record(&failed);
        r.record(&sample("login", t0, 3));
        let total = r.snapshot().total();
        assert_eq!(total.count, 3);
        assert_eq!(total.errors_of(ErrorKind::Status), 1);
        assert_eq!(total.statuses[&500], 1);
        assert_eq!(total.latency.raw.len(), 1);
        assert!(within_precision(total.latency.raw.max(), 3_000));
    }

    #[test]
    fn percentiles_of_1_to_100_ms() {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        for ms in 1..=100 {
            r.record(&sample("getEngagement", t0, ms));
        }
        let d = r.snapshot();
        let op = &d.ops["getEngagement"];
        assert_eq!(op.count, 100);
        assert_eq!(op.error_count(), 0);
        assert!(within_precision(
            op.latency.raw.value_at_quantile(0.5),
            50_000
        ));
        assert!(within_precision(
            op.latency.raw.value_at_quantile(0.99),
            99_000
        ));
        assert!(within_precision(op.latency.raw.max(), 100_000));
        assert_eq!(op.statuses[&200], 100);
        assert_eq!(op.by_class[&StatusClass::Success].raw.len(), 100);
        assert_eq!(d.personas["agent"].count, 100);
        // All completed within the first two seconds.
        assert_eq!(d.series.iter().map(|b| b.requests).sum::<u64>(), 100);
        assert_eq!(d.series[0].latency["getEngagement"].unpack().len(), 100);
    }

    #[test]
    fn coordinated_omission_correction_exposes_a_stall() {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        let paced = |ms| Sample {
            expected_interval: Some(Duration::from_millis(10)),
            ..sample("sendMessage", t0, ms)
        };
        for _ in 0..100 {
            r.record(&paced(10));
        }
        r.record(&paced(1000));
        let d = r.snapshot();
        let lat = &d.ops["sendMessage"].latency;
        assert_eq!(lat.raw.len(), 101);
        assert!(within_precision(lat.raw.value_at_quantile(0.99), 10_000));
        assert_eq!(lat.corrected.len(), 200);
        assert!(lat.corrected.value_at_quantile(0.99) >= 900_000);
    }

    #[test]
    fn errors_checks_and_gauges() {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        r.record(&Sample {
            status: None,
            error: Some(ErrorKind::Connect),
            ..sample("login", t0, 3)
        });
        r.record(&Sample {
            status: None,
            ..sample("login", t0, 3)
        });
        r.record(&Sample {
            status: Some(503),
            error: Some(ErrorKind::Status),
            ..sample("login", t0, 3)
        });
        for i in 0..8 {
            r.record_check(&CheckOutcome {
                check: "status",
                op: "login",
                persona: "agent",
                passed: i % 4 == 0,
                example: Some(Exchange {
                    request_line: format!("POST /login #{i}"),
                    status: Some(503),
                    detail: "expected 200".into(),
                    response_excerpt: String::new(),
                }),
            });
        }
        r.set_active_agents(7);
        r.set_active_agents(5);
        r.count_engagement(EngagementEnd::Accepted);
        r.record_poll_hold("agent", Duration::from_secs(25));
        r.record_delivery(Direction::CustomerToAgent, Duration::from_millis(40));
        let d = r.snapshot();
        let login = &d.ops["login"];
        assert_eq!(login.count, 3);
        assert_eq!(login.errors_of(ErrorKind::Connect), 1);
        assert_eq!(login.errors_of(ErrorKind::Other), 1);
        assert_eq!(login.errors_of(ErrorKind::Status), 1);
        assert_eq!(login.by_class[&StatusClass::Transport].raw.len(), 2);
        let cs = &d.checks["status"]["login"];
        assert_eq!((cs.passed, cs.failed), (2, 6));
        assert_eq!(cs.examples.len(), MAX_EXAMPLES);
        assert_eq!(cs.examples[0].request_line, "POST /login #1");
        assert_eq!(d.series[0].active_agents, 7);
        assert_eq!(d.series[0].errors, 3);
        assert_eq!(d.engagements[&EngagementEnd::Accepted], 1);
        assert!(within_precision(d.poll_hold["agent"].max(), 25_000_000));
        assert_eq!(d.delivery[&Direction::CustomerToAgent].len(), 1);
    }

    #[test]
    fn merge_of_two_recorders_equals_one_recorder_with_all_samples() {
        let t0 = Instant::now();
        let one = Recorder::new(t0, Duration::from_secs(1));
        let a = Recorder::new(t0, Duration::from_secs(1));
        let b = Recorder::new(t0, Duration::from_secs(1));
        for i in 0..500u64 {
            let at = t0 + Duration::from_millis(i * 10);
            let op = if i % 3 == 0 { "poll" } else { "accept" };
            let s = Sample {
                expected_interval: Some(Duration::from_millis(5)),
                status: Some(if i % 7 == 0 { 500 } else { 200 }),
                error: (i % 7 == 0).then_some(ErrorKind::Status),
                ..sample(op, at, 1 + i % 37)
            };
            one.record(&s);
            if i % 2 == 0 { &a } else { &b }.record(&s);
            let c = CheckOutcome {
                check: "status",
                op,
                persona: "agent",
                passed: i % 7 != 0,
                example: None,
            };
            one.record_check(&c);
            if i % 2 == 0 { &a } else { &b }.record_check(&c);
        }
        let mut merged = a.snapshot();
        merged.merge(&b.snapshot());
        let all = one.snapshot();
        assert_eq!(merged.ops, all.ops);
        assert_eq!(merged.personas, all.personas);
        assert_eq!(merged.checks, all.checks);
        assert_eq!(merged.series.len(), all.series.len());
        for (m, o) in merged.series.iter().zip(&all.series) {
            assert_eq!((m.requests, m.errors), (o.requests, o.errors));
            for (op, h) in &o.latency {
                assert_eq!(m.latency[op].unpack(), h.unpack());
            }
        }
    }

    #[test]
    fn a_timestamp_far_in_the_future_does_not_allocate_without_bound() {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_micros(1));
        r.record(&sample("x", t0 + Duration::from_secs(86_400 * 365), 1));
        let d = r.snapshot();
        assert_eq!(d.series.len(), 1 << 18);
        assert_eq!(d.series[(1 << 18) - 1].requests, 1);
    }

    #[test]
    fn recorder_and_run_data_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Recorder>();
        assert_send_sync::<RunData>();
    }

    #[test]
    fn recorder_is_shared_across_threads() {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let r = r.clone();
                s.spawn(move || {
                    for ms in 1..=250 {
                        r.record(&sample("poll", t0, ms));
                    }
                });
            }
        });
        let d = r.snapshot();
        assert_eq!(d.ops["poll"].count, 1000);
        assert_eq!(d.ops["poll"].latency.raw.len(), 1000);
    }
}
