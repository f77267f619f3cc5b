//! Integration tests: reports (one binary; each module was a test binary of its own).

mod report_browser;
mod report_outputs;
