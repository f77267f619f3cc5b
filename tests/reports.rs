//! Integration tests: reports (one binary; each module was a test binary of its own).

mod bin_common;
mod delivery_embedded;
mod live_browser;
mod live_common;
mod live_prometheus;
mod report_browser;
mod report_outputs;
