//! HDR latency recording (µs, raw and coordinated-omission corrected) and exact merges.
