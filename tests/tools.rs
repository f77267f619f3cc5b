//! Integration tests: tools (one binary; each module was a test binary of its own).

mod ci_files;
mod ci_grafana;
mod cli;
mod har_common;
mod hostile;
mod import_har;
mod readme_snippets;
mod replay_har;
mod test_layout;
mod validate_golden;
