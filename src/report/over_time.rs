//! Percentiles over time for `report.html` (Gatling's signature chart): per operation, p50, p95
//! and p99 of each time-series bucket the run kept, raw and coordinated-omission corrected, with
//! the baseline's whole-run percentiles drawn as flat lines beside them under `--baseline`.
//!
//! Buckets are merged (exactly: histogram addition) into at most [`MAX_POINTS`] points, so an
//! hour-long run draws 600 points per line, not 3,600. Each chart's figure carries its raw p99
//! points as JSON in `data-p99` (seconds, ms) for tools and the browser test.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::chart::{Chart, Series};
use super::markup::escape;
use crate::check::baseline::Delta;
use crate::metrics::{Bucket, HOLD_OPS, Packed, RunData, hdr, us_to_ms};

/// Points per line at most.
pub const MAX_POINTS: usize = 600;

/// (time in s at the end of the point's span, [p50, p95, p99] in ms).
pub type Point = (f64, [f64; 3]);

/// The percentiles of `op` over time, from the histograms `pick` takes from each bucket;
/// spans without a sample are left out.
pub fn points(
    data: &RunData,
    op: &str,
    pick: fn(&Bucket) -> &std::collections::BTreeMap<String, Packed>,
) -> Vec<Point> {
    let secs = data.interval().as_secs_f64();
    let group = data.series.len().div_ceil(MAX_POINTS).max(1);
    let mut out = Vec::new();
    for (g, span) in data.series.chunks(group).enumerate() {
        let mut h: Histogram<u64> = hdr::new_histogram();
        for b in span {
            if let Some(p) = pick(b).get(op) {
                hdr::add(&mut h, &p.unpack());
            }
        }
        if h.is_empty() {
            continue;
        }
        let t = ((g * group + span.len()) as f64) * secs;
        out.push((
            t,
            [0.5, 0.95, 0.99].map(|q| us_to_ms(h.value_at_quantile(q))),
        ));
    }
    out
}

fn line(name: &str, color: &'static str, pts: &[Point], i: usize) -> Series {
    Series {
        name: name.to_owned(),
        color,
        points: pts.iter().map(|(t, p)| (*t, p[i])).collect(),
    }
}

/// The section: one chart per operation that completed requests (long-poll holds excluded:
/// their time is waiting), raw and corrected p50/p95/p99, baseline beside.
pub fn render(h: &mut String, data: &RunData, baseline: &[Delta]) {
    let ops: Vec<&String> = data
        .ops
        .keys()
        .filter(|op| !HOLD_OPS.contains(&op.as_str()))
        .collect();
    if data.series.is_empty() || ops.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Percentiles over time</h2>\n<p>p50, p95 and p99 of each interval per operation: \
         raw (as served) and coordinated-omission corrected (as an evenly paced client would \
         have seen it); flat lines: the baseline run's whole-run percentiles.</p>\n",
    );
    let x_max = data.series.len() as f64 * data.interval().as_secs_f64();
    for op in ops {
        let raw = points(data, op, |b| &b.latency);
        let corrected = points(data, op, |b| &b.corrected);
        let mut lines = vec![
            line("raw p50", "#54aeff", &raw, 0),
            line("raw p95", "#0969da", &raw, 1),
            line("raw p99", "#0a3069", &raw, 2),
            line("corrected p95", "#fb8f44", &corrected, 1),
            line("corrected p99", "#bc4c00", &corrected, 2),
        ];
        for (pct, color) in [("p50", "#d0d7de"), ("p95", "#afb8c1"), ("p99", "#8c959f")] {
            if let Some(d) = baseline.iter().find(|d| d.op == *op && d.percentile == pct) {
                lines.push(Series {
                    name: format!("baseline {pct}"),
                    color,
                    points: vec![(0.0, d.baseline_ms), (x_max, d.baseline_ms)],
                });
            }
        }
        let p99: Vec<String> = raw.iter().map(|(t, p)| format!("[{t},{}]", p[2])).collect();
        let _ = write!(
            h,
            "<figure class=\"pot\" data-op=\"{}\" data-p99=\"[{}]\">",
            escape(op),
            p99.join(",")
        );
        let chart = Chart::linear_x(op, "time (s)", "latency (ms)", 0.0, x_max);
        h.push_str(&chart.render(&lines));
        h.push_str("</figure>\n");
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::metrics::{Recorder, Sample};

    /// `seconds` of 100 requests a second, the last `stalled` of second `stall_at` taking 1 s.
    fn run(seconds: u64, stall_at: u64, stalled: u64) -> RunData {
        let t0 = Instant::now();
        let r = Recorder::new(t0, Duration::from_secs(1));
        for s in 0..seconds {
            for i in 0..100u64 {
                let ms = if s == stall_at && i >= 100 - stalled {
                    1000
                } else {
                    2 + i % 3
                };
                r.record(&Sample {
                    op: "messages.post",
                    persona: "agent",
                    status: Some(200),
                    latency: Duration::from_millis(ms),
                    error: None,
                    expected_interval: Some(Duration::from_millis(10)),
                    at: t0 + Duration::from_millis(s * 1000 + i * 5),
                });
            }
        }
        r.snapshot()
    }

    #[test]
    fn a_stall_shows_in_the_p99_of_its_interval_only() {
        let data = run(10, 5, 2);
        let raw = points(&data, "messages.post", |b| &b.latency);
        assert_eq!(raw.len(), 10);
        // The stalled requests started at 5.49 s and 5.495 s and completed a second later: interval 6..7 s.
        for (i, (t, p)) in raw.iter().enumerate() {
            assert_eq!(*t, (i + 1) as f64);
            if i == 6 {
                assert!((p[2] - 1000.0).abs() < 1.0, "{p:?}");
            } else {
                assert!(p[2] < 5.0, "interval {i}: {p:?}");
            }
            assert!(p[0] < 5.0);
        }
        // The corrected histogram also holds the values the stall hid (1000 ms at a 10 ms pace).
        let corrected = points(&data, "messages.post", |b| &b.corrected);
        assert!(corrected[6].1[1] > 500.0, "{:?}", corrected[6]);
        assert!(corrected[5].1[2] < 5.0);
    }

    #[test]
    fn long_runs_are_merged_into_at_most_max_points() {
        let data = run(1300, 650, 5);
        let raw = points(&data, "messages.post", |b| &b.latency);
        // 1300 buckets in groups of 3: 434 points, the last one a single bucket.
        assert_eq!(raw.len(), 434);
        assert_eq!(raw[0].0, 3.0);
        assert_eq!(raw[433].0, 1300.0);
        let stalled: Vec<f64> = raw.iter().filter(|p| p.1[2] > 500.0).map(|p| p.0).collect();
        // Completed in bucket 651, merged with 652 and 653.
        assert_eq!(stalled, [654.0]);
    }

    #[test]
    fn the_section_has_a_chart_per_operation_and_the_baseline() {
        let data = run(4, 2, 2);
        let mut h = String::new();
        let base = Delta {
            op: "messages.post".into(),
            percentile: "p95".into(),
            baseline_ms: 3.0,
            current_ms: 4.0,
            change: Some(0.33),
            regressed: false,
        };
        render(&mut h, &data, &[base]);
        assert_eq!(h.matches("<figure class=\"pot\"").count(), 1);
        assert!(h.contains("data-op=\"messages.post\""));
        assert!(h.contains("data-p99=\"[[1,"), "{h}");
        // Five percentile lines and the baseline's p95.
        assert_eq!(h.matches("<polyline").count(), 6);
        assert!(h.contains(">baseline p95</text>"));
        assert!(!h.contains(">baseline p50</text>"));
    }
}
