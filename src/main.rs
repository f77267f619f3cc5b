//! The binary: parse the command line, run it, map the outcome to an exit code.

// No unwrap or expect outside tests: bad input and a target's answers end in errors, not panics.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = aeapi_harness::cli::Cli::parse();
    std::process::ExitCode::from(aeapi_harness::cli::run(cli).code())
}
