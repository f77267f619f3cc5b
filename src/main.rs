//! The binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = aeapi_harness::cli::Cli::parse();
    let exit = match aeapi_harness::cli::run(cli) {
        Ok(exit) => exit,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            aeapi_harness::exit::Exit::Harness
        }
    };
    std::process::ExitCode::from(exit.code())
}
