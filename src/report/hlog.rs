//! `histograms.hlog`: the time series as an HdrHistogram interval log (V2, deflate-compressed).
//!
//! One interval per time-series bucket and operation, tagged `Tag=<operation>`, timestamps in
//! seconds from the run start (`BaseTime` = `StartTime` = run start), max values in ms. The file
//! reads in HdrHistogram's `HistogramLogProcessor`, HdrHistogramVisualizer and in `read_hlog`,
//! which the `merge` command uses to combine shards without loss.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, LogIteratorError, Tag,
};

use super::{Outcome, RenderError, ReportError, Secrets, file_stem, write_rendered};
use crate::metrics::hdr::{self, Hdr};

/// The legend line Java's `HistogramLogWriter` writes before the intervals.
const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";

/// What `read_hlog` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HlogContents {
    /// Every interval of a tag added together (untagged intervals under `""`).
    pub per_tag: BTreeMap<String, Hdr>,
    /// Number of interval lines.
    pub intervals: usize,
    /// The `BaseTime` header, seconds since the epoch.
    pub base_time: Option<Duration>,
}

/// The interval log text of `outcome`, operation names (tags) and comments masked.
pub fn render(outcome: &Outcome, secrets: &Secrets) -> Result<String, RenderError> {
    let data = &outcome.data;
    let start = SystemTime::from(outcome.meta.started);
    let mut head = Vec::new();
    let mut body = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let comment = secrets
        .mask(&format!(
            "aeapi-harness {} interval log: suite {}, latency in us, bucket {} us",
            outcome.meta.harness_version, outcome.meta.suite, data.interval_us
        ))
        .into_owned();
    IntervalLogWriterBuilder::new()
        .add_comment(&comment)
        .add_comment("[Histogram log format version 1.3]")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut head, &mut serializer)
        .map_err(RenderError::from_display)?;
    head.extend_from_slice(LEGEND.as_bytes());
    {
        let mut log = IntervalLogWriterBuilder::new()
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut body, &mut serializer)
            .map_err(RenderError::from_display)?;
        let width = data.interval();
        for (idx, bucket) in data.series.iter().enumerate() {
            let at = width.saturating_mul(u32::try_from(idx).unwrap_or(u32::MAX));
            for (op, packed) in &bucket.latency {
                let name = file_stem(&secrets.mask(op)).replace(',', "_");
                let h = packed.unpack();
                log.write_histogram(&h, at, width, Tag::new(&name))
                    .map_err(RenderError::from_display)?;
            }
        }
    }
    // The body's writer repeats the divisor comment the header already carries.
    let body = match body.iter().position(|b| *b == b'\n') {
        Some(nl) if body.starts_with(b"#[MaxValueDivisor") => &body[nl + 1..],
        _ => &body[..],
    };
    head.extend_from_slice(body);
    String::from_utf8(head).map_err(RenderError::from_display)
}

/// Writes `histograms.hlog`.
pub fn write(path: &Path, outcome: &Outcome, secrets: &Secrets) -> Result<(), ReportError> {
    write_rendered(path, "interval log", render(outcome, secrets))
}

/// Why interval-log text could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HlogError {
    /// A line that is not an interval log's (the log reader's own words).
    #[error("{0:?}")]
    Syntax(LogIteratorError),
    #[error("interval {interval}: {cause}")]
    Base64 {
        interval: usize,
        cause: base64::DecodeError,
    },
    #[error("interval {interval}: {cause}")]
    Histogram {
        interval: usize,
        cause: hdr::DecodeError,
    },
}

/// Parses interval-log text.
pub fn parse_hlog(text: &[u8]) -> Result<HlogContents, HlogError> {
    let mut out = HlogContents::default();
    for entry in IntervalLogIterator::new(text) {
        match entry.map_err(HlogError::Syntax)? {
            LogEntry::BaseTime(t) => out.base_time = Some(t),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(i) => {
                let interval = out.intervals + 1;
                let bytes = B64
                    .decode(i.encoded_histogram())
                    .map_err(|cause| HlogError::Base64 { interval, cause })?;
                let h = hdr::decode(&bytes)
                    .map_err(|cause| HlogError::Histogram { interval, cause })?;
                let tag = i.tag().map_or(String::new(), |t| t.as_str().to_owned());
                out.per_tag.entry(tag).or_default().merge(&Hdr(h));
                out.intervals += 1;
            }
        }
    }
    Ok(out)
}

/// Reads a `histograms.hlog` and adds up each tag's intervals.
pub fn read_hlog(path: &Path) -> Result<HlogContents, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_hlog(&bytes).map_err(|e| ReportError::Invalid {
        path: path.to_path_buf(),
        what: "interval log",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::outcome;

    #[test]
    fn header_and_tagged_intervals() {
        let text = render(&outcome(), &Secrets::default()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..6],
            [
                "#aeapi-harness 0.1.0 interval log: suite smoke, latency in us, bucket 1000000 us",
                "#[Histogram log format version 1.3]",
                "#[StartTime: 1795550400.000 (seconds since epoch)]",
                "#[BaseTime: 1795550400.000 (seconds since epoch)]",
                "#[MaxValueDivisor: 1000.000]",
                "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"",
            ]
        );
        assert!(
            lines[6].starts_with("Tag=acceptEngagement,0.000,1.000,"),
            "{}",
            lines[6]
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Tag=sendMessage,1.000,1.000,"))
        );
    }

    #[test]
    fn round_trip_preserves_every_count() {
        let o = outcome();
        let text = render(&o, &Secrets::default()).unwrap();
        let back = parse_hlog(text.as_bytes()).unwrap();
        assert_eq!(back.base_time, Some(Duration::from_secs(1_795_550_400)));
        for (op, stats) in &o.data.ops {
            let h = &back.per_tag[op];
            assert_eq!(h.len(), stats.latency.raw.len());
            for q in [0.5, 0.9, 0.99, 1.0] {
                assert_eq!(
                    h.value_at_quantile(q),
                    stats.latency.raw.value_at_quantile(q)
                );
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_hlog(b"Tag=x,0.000,1.000,2.0,!!!notbase64\n").is_err());
        assert!(parse_hlog(b"\x00\x01garbage").is_err());
    }
}
