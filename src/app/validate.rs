//! `aeapi-harness validate`: loads every suite and prints every problem of every file.

use std::io::Write;
use std::path::PathBuf;

use super::{AppError, Console};
use crate::exit::Exit;
use crate::suite;

/// Prints `ok: FILE` for each good suite unless quiet (with counts when verbose) and each bad
/// one's problems. Exit 2 if any suite is invalid, else 0.
pub fn execute(console: &mut Console, files: &[PathBuf]) -> Result<Exit, AppError> {
    let mut exit = Exit::Passed;
    for f in files {
        match suite::load(f) {
            Ok(loaded) if console.verbose() => {
                let _ = writeln!(
                    console.out,
                    "ok: {} ({} personas, {} contracts, {} thresholds, {} agents in the pool)",
                    f.display(),
                    loaded.suite.personas.len(),
                    loaded.suite.contracts.len(),
                    loaded.thresholds.len(),
                    loaded.agents.len()
                );
            }
            Ok(_) if !console.quiet() => {
                let _ = writeln!(console.out, "ok: {}", f.display());
            }
            Ok(_) => {}
            Err(e) => {
                console.error(&AppError::Suite(e));
                exit = Exit::Usage;
            }
        }
    }
    Ok(exit)
}
