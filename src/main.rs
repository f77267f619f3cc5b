//! The binary: parse the command line, run it, map the outcome to an exit code.

use clap::Parser;

/// mimalloc instead of glibc's malloc: tens of thousands of long-lived connections and agents
/// fragment glibc's per-thread arenas (measured: ~51 KB RSS per long-polling agent with glibc),
/// and the request path is allocation-heavy.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
