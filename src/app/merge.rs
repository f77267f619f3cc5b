//! `aeapi-harness merge DIR... --out DIR`: reads every input's `rundata.json`, adds them up and
//! judges the thresholds again (`report::merge`), compares with a baseline, writes the report
//! files, prints the summary, and returns the exit code (as `run`'s). Directories of a sharded
//! capacity search are merged as one search (see `app::capacity::merge`).

use std::io::Write;

use super::support::{self, Tail};
use super::{AppError, Console, MergeConfig};
use crate::exit::Exit;
use crate::report::{Secrets, merge};

/// `merge`: see `report::merge` for what it reads and how it adds up; directories of capacity
/// searches (`capacity --shard`) are merged step by step (`app::capacity::merge`).
pub fn execute(console: &mut Console, c: &MergeConfig) -> Result<Exit, AppError> {
    if c.dirs.iter().any(|d| crate::capacity::merge::is_search(d)) {
        return super::capacity::merge(console, c);
    }
    let baseline = support::read_baseline(c.baseline.as_deref())?;
    let mut files = Vec::with_capacity(c.dirs.len());
    for d in &c.dirs {
        files.push((d.clone(), merge::read(d).map_err(AppError::Merge)?));
    }
    let mut outcome = merge::outcome(&files).map_err(AppError::Merge)?;
    let spread = merge::start_spread(&files);
    if spread > std::time::Duration::from_secs(1) {
        let how = if spread <= merge::ALIGN_WITHIN {
            "their time series are aligned on the wall clock, but the fleet was not all \
             there at once (start them together with `run --rendezvous DIR`)"
        } else {
            "too far apart to align: their time series are overlaid from each one's start"
        };
        let _ = writeln!(
            console.err,
            "warning: the inputs started {:.1} s apart: {how}",
            spread.as_secs_f64()
        );
    }
    support::compare(&mut outcome, baseline.as_ref());
    // The inputs were masked when written; nothing else is known to hide.
    let secrets = Secrets::default();
    let interrupted = outcome.meta.interrupted;
    let done = format!(
        "merged {} report{} into {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        c.out.display()
    );
    let exit = support::write_print_exit(
        console,
        &outcome,
        Tail {
            out_dir: &c.out,
            secrets: &secrets,
            interrupted: None,
            done,
        },
    )?;
    // An interrupted input never gates green, though nothing was cut short here.
    Ok(match exit {
        Exit::Passed if interrupted => Exit::Harness,
        other => other,
    })
}
