//! Integration tests: conform (one binary; each module was a test binary of its own).

mod conform_common;
mod conform_down;
mod conform_faults;
mod conform_readings;
mod conform_remote;
mod conform_sim;
mod conform_snapshot;
