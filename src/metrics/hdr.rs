//! The histogram type every latency figure is kept in, and its compact serialised forms.
//!
//! All latencies are microseconds in an auto-resizing `Histogram<u64>` with 3 significant figures,
//! clamped to 1 h so a garbage value cannot grow a histogram without bound. `Hdr` serialises
//! (serde) as a base64 V2-deflate string, the encoding HdrHistogram's interval logs use, so a
//! `RunData` can be saved and merged later without loss. `Packed` is the same bytes kept in
//! memory: the recorder packs closed time-series buckets so a long run stays small.

use std::ops::{Deref, DerefMut};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{
    DeserializeError, Deserializer, Serializer, V2DeflateSerializer,
};
use serde::{Deserialize, Serialize};

/// Significant figures kept by every latency histogram.
pub const SIGFIG: u8 = 3;
/// Largest recordable value in µs (1 hour); larger values are clamped to it.
pub const MAX_US: u64 = 3_600_000_000;
/// Upper bound on values `record_corrected` writes one by one; past it the synthetic
/// coordinated-omission values are written in strata with `record_n`.
const MAX_CORRECTION_STEPS: u64 = 10_000;

/// An empty latency histogram (µs, 3 significant figures, auto-resizing).
pub fn new_histogram() -> Histogram<u64> {
    // sigfig 3 is always a valid configuration, so construction cannot fail; fall back to a
    // fixed-bounds histogram just in case rather than panicking.
    Histogram::new(SIGFIG).unwrap_or_else(|_| {
        let mut h = Histogram::new_with_bounds(1, MAX_US, SIGFIG)
            .unwrap_or_else(|_| unreachable!("1..1h at 3 sigfig is valid"));
        h.auto(true);
        h
    })
}

/// Records `value` µs (clamped to `MAX_US`).
pub fn record(h: &mut Histogram<u64>, value: u64) {
    record_n(h, value, 1);
}

/// Records `value` µs `n` times (clamped; auto-resizes, saturating only if resizing fails).
fn record_n(h: &mut Histogram<u64>, value: u64, n: u64) {
    let value = value.min(MAX_US);
    if h.record_n(value, n).is_err() {
        h.saturating_record_n(value, n);
    }
}

/// Records `value` µs and, when `interval` µs is the intended pacing, the values that
/// coordinated omission hid (HdrHistogram's `recordValueWithExpectedInterval`): `value - k *
/// interval` for every k ≥ 1 while the result is ≥ `interval`. Very long stalls relative to the
/// interval are written in at most 10 000 strata so one stall cannot stall the recorder.
pub fn record_corrected(h: &mut Histogram<u64>, value: u64, interval: u64) {
    let value = value.min(MAX_US);
    record(h, value);
    if interval == 0 || value <= interval {
        return;
    }
    let missing = (value - interval) / interval;
    if missing <= MAX_CORRECTION_STEPS {
        for k in 1..=missing {
            record_n(h, value - k * interval, 1);
        }
        return;
    }
    let stride = missing.div_ceil(MAX_CORRECTION_STEPS);
    let mut k = 1;
    while k <= missing {
        let n = stride.min(missing - k + 1);
        let mid = k + (n - 1) / 2;
        record_n(h, value - mid * interval, n);
        k += n;
    }
}

/// Adds `src` into `dst`; both are auto-resizing, so this cannot fail in practice. Should it,
/// the values are re-recorded one bucket at a time so no count is lost.
pub fn add(dst: &mut Histogram<u64>, src: &Histogram<u64>) {
    if dst.add(src).is_err() {
        for v in src.iter_recorded() {
            record_n(dst, v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// Encodes a histogram as V2 deflate bytes (the interval-log encoding, before base64).
pub fn encode(h: &Histogram<u64>) -> Vec<u8> {
    let mut buf = Vec::new();
    // Serialising into a Vec only fails for histograms that cannot exist (counts beyond i64).
    let _ = V2DeflateSerializer::new().serialize(h, &mut buf);
    buf
}

/// Decodes V2 (deflate or plain) bytes.
pub fn decode(bytes: &[u8]) -> Result<Histogram<u64>, DecodeError> {
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(DecodeError)?;
    h.auto(true);
    Ok(h)
}

/// Bytes that are not a serialised histogram (the deserialiser's own words).
#[derive(Debug, thiserror::Error)]
#[error("{0:?}")]
pub struct DecodeError(pub DeserializeError);

/// A latency histogram that serialises as a base64 V2-deflate string.
#[derive(Debug, Clone, PartialEq)]
pub struct Hdr(pub Histogram<u64>);

impl Default for Hdr {
    fn default() -> Self {
        Hdr(new_histogram())
    }
}

impl Deref for Hdr {
    type Target = Histogram<u64>;
    fn deref(&self) -> &Histogram<u64> {
        &self.0
    }
}

impl DerefMut for Hdr {
    fn deref_mut(&mut self) -> &mut Histogram<u64> {
        &mut self.0
    }
}

impl Hdr {
    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Hdr) {
        add(&mut self.0, &other.0);
    }
    /// Records one value in µs, clamped to 1 h.
    pub fn record_us(&mut self, us: u64) {
        record(&mut self.0, us);
    }
}

impl Serialize for Hdr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Hdr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = B64.decode(s.as_bytes()).map_err(serde::de::Error::custom)?;
        decode(&bytes).map(Hdr).map_err(serde::de::Error::custom)
    }
}

/// A histogram kept compressed (V2 deflate) until it is needed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Packed(Vec<u8>);

impl Packed {
    pub fn pack(h: &Histogram<u64>) -> Packed {
        Packed(encode(h))
    }
    /// The histogram; an undecodable blob (only possible from a tampered file) yields an empty one.
    pub fn unpack(&self) -> Histogram<u64> {
        decode(&self.0).unwrap_or_else(|_| new_histogram())
    }
    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Packed) {
        let mut h = self.unpack();
        add(&mut h, &other.unpack());
        *self = Packed::pack(&h);
    }
}

impl Serialize for Packed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s.as_bytes())
            .map(Packed)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_recording_matches_hdr_record_correct_for_short_stalls() {
        let mut ours = new_histogram();
        let mut theirs = new_histogram();
        record_corrected(&mut ours, 1_000_000, 10_000);
        theirs.record_correct(1_000_000, 10_000).unwrap();
        assert!(ours == theirs, "histograms differ");
        assert_eq!(ours.len(), 100);
    }

    #[test]
    fn very_long_stall_with_tiny_interval_is_bounded_but_counts_every_missing_value() {
        let mut h = new_histogram();
        record_corrected(&mut h, 3_000_000_000, 1);
        assert_eq!(h.len(), 3_000_000_000);
        assert!(h.max() >= 2_990_000_000);
    }

    #[test]
    fn hdr_round_trips_through_serde() {
        let mut h = Hdr::default();
        for v in 1..=1000 {
            h.record_us(v * 7);
        }
        let json = serde_json::to_string(&h).unwrap();
        let back: Hdr = serde_json::from_str(&json).unwrap();
        assert_eq!(back.len(), 1000);
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        assert_eq!(back.max(), h.max());
    }

    #[test]
    fn values_above_one_hour_are_clamped() {
        let mut h = Hdr::default();
        h.record_us(u64::MAX);
        assert!(h.equivalent(h.max(), MAX_US));
    }
}
