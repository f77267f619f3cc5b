//! Integration tests: tools (one binary; each module was a test binary of its own).

mod bin_common;
mod ci_common;
mod ci_dockerfile;
mod ci_files;
mod ci_github;
mod ci_gitlab;
mod ci_grafana;
mod cli;
mod har_common;
mod hostile;
mod import_har;
mod readme_snippets;
mod replay_har;
mod test_layout;
mod validate_golden;
