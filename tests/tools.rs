//! Integration tests: tools (one binary; each module was a test binary of its own).

mod ci_files;
mod cli;
mod conform_common;
mod test_layout;
mod validate_golden;
