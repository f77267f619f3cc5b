//! Integration tests: tools (one binary; each module was a test binary of its own).

mod conform_common;
mod ci_files;
mod cli;
mod test_layout;
mod validate_golden;
