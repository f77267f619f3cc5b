//! `aeapi-harness import FILE.har`: the command's edges around the pure [`crate::import::import`]:
//! read the HAR (refusing files above `har::MAX_HAR_BYTES` before reading), write the suite and
//! the agents CSV, print what was left out. Exit 0, 2 for bad input (the error names the file and
//! the entry), 3 when the outputs cannot be written.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{AppError, Console};
use crate::exit::Exit;
use crate::har;
use crate::import::{self, Names};

/// A validated `import` invocation.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    pub har: PathBuf,
    /// Default: `<HAR stem>.yaml` in the current directory.
    pub out: Option<PathBuf>,
    /// Default: `<suite stem>.agents.csv` beside the suite.
    pub agents_csv: Option<PathBuf>,
}

/// Where the outputs go.
pub fn outputs(c: &ImportConfig) -> (PathBuf, PathBuf) {
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "imported".into())
    };
    let suite = c
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.yaml", stem(&c.har))));
    let csv = c
        .agents_csv
        .clone()
        .unwrap_or_else(|| suite.with_file_name(format!("{}.agents.csv", stem(&suite))));
    (suite, csv)
}

/// How the suite refers to the CSV: relative to the suite's directory when it is inside it,
/// else as given (absolute when given absolute).
fn csv_reference(suite: &Path, csv: &Path) -> String {
    let dir = suite.parent().unwrap_or(Path::new(""));
    match csv.strip_prefix(dir) {
        Ok(rel) if !dir.as_os_str().is_empty() || csv.is_relative() => rel.display().to_string(),
        _ => std::path::absolute(csv)
            .unwrap_or_else(|_| csv.to_path_buf())
            .display()
            .to_string(),
    }
}

/// Runs `import`: results on the console's stdout, warnings on its stderr.
pub fn execute(console: &mut Console, c: &ImportConfig) -> Result<Exit, AppError> {
    let (suite_path, csv_path) = outputs(c);
    let bytes =
        har::read_limited(&c.har, har::MAX_HAR_BYTES).map_err(|e| AppError::Import(e.into()))?;
    let name = suite_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "imported".into());
    let csv_ref = csv_reference(&suite_path, &csv_path);
    let names = Names {
        suite_name: &name,
        agents_csv: &csv_ref,
    };
    let imported = import::import(&c.har, &bytes, &names).map_err(AppError::Import)?;
    drop(bytes);
    for (path, text) in [
        (&suite_path, &imported.suite_yaml),
        (&csv_path, &imported.agents_csv),
    ] {
        std::fs::write(path, text)
            .map_err(|e| AppError::Harness(format!("cannot write {}: {e}", path.display())))?;
    }
    print(console, c, &imported, &suite_path, &csv_path);
    Ok(Exit::Passed)
}

/// What an import did: counts, warnings, what was left out, the files written, what to run next.
fn print(
    console: &mut Console,
    c: &ImportConfig,
    imported: &import::Imported,
    suite_path: &Path,
    csv_path: &Path,
) {
    let out = &mut console.out;
    let _ = writeln!(
        out,
        "imported {}: {} entries, {} AEAPI calls, {} other entries left out",
        c.har.display(),
        imported.entries,
        imported.calls,
        imported.left_out
    );
    for w in &imported.warnings {
        let _ = writeln!(console.err, "warning: {w}");
    }
    if !imported.unanswered.is_empty() {
        let _ = writeln!(
            out,
            "{} AEAPI call(s) without an answer (aborted, or pending when the HAR was saved) left out: {}",
            imported.unanswered.len(),
            import::write::entry_list(&imported.unanswered)
        );
    }
    let _ = writeln!(
        out,
        "wrote {} and {}",
        suite_path.display(),
        csv_path.display()
    );
    if imported.removed.is_empty() {
        let _ = writeln!(out, "no secrets found in the recording");
    } else {
        let _ = writeln!(out, "left out (values never copied):");
        for r in &imported.removed {
            let _ = writeln!(out, "  {r}");
        }
    }
    let _ = writeln!(
        out,
        "next: aeapi-harness validate {0} && AGENT_PASSWORD=... aeapi-harness run {0} --target embedded",
        suite_path.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_default_beside_each_other_and_the_csv_is_referred_to_relatively() {
        let c = ImportConfig {
            har: "rec/session.har".into(),
            out: None,
            agents_csv: None,
        };
        assert_eq!(
            outputs(&c),
            (
                PathBuf::from("session.yaml"),
                PathBuf::from("session.agents.csv")
            )
        );
        assert_eq!(
            csv_reference(Path::new("out/s.yaml"), Path::new("out/a.csv")),
            "a.csv"
        );
        assert_eq!(
            csv_reference(Path::new("s.yaml"), Path::new("a.csv")),
            "a.csv"
        );
        assert_eq!(
            csv_reference(Path::new("/x/s.yaml"), Path::new("/y/a.csv")),
            "/y/a.csv"
        );
    }
}
