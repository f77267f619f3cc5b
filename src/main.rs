//! The binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = aeapi_harness::cli::Cli::parse();
    std::process::ExitCode::from(aeapi_harness::cli::run(cli).code())
}
