//! Golden tests for `validate`: each `tests/golden/validate/NAME.yaml` is a broken suite whose
//! exact stderr (colour off) is `NAME.stderr`, and whose exit code is 2. Run through the real
//! binary from the repository root, so paths in messages are relative.
//!
//! `UPDATE_GOLDEN=1 cargo test --test validate_golden` rewrites the `.stderr` files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the harness: {e}"))
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/validate");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    cases
}

#[test]
fn broken_suites_print_exact_errors_and_exit_2() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases();
    assert!(cases.len() >= 12, "only {} golden cases", cases.len());
    let mut mismatches = Vec::new();
    for case in &cases {
        let name = case
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let rel = format!("tests/golden/validate/{name}.yaml");
        let out = harness(&["--color", "never", "validate", &rel]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{rel}: exit code; stderr:\n{stderr}"
        );
        assert!(out.stdout.is_empty(), "{rel}: printed to stdout");
        let golden = case.with_extension("stderr");
        if update {
            std::fs::write(&golden, &stderr)
                .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != stderr {
            mismatches.push(format!("--- {rel}: expected\n{want}\n--- got\n{stderr}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn shipped_suites_are_valid() {
    let out = harness(&[
        "--color",
        "never",
        "validate",
        "suites/smoke.yaml",
        "suites/example-remote.yaml",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        (
            out.status.code(),
            stdout.as_ref(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (
            Some(0),
            "ok: suites/smoke.yaml\nok: suites/example-remote.yaml\n",
            ""
        )
    );
}

#[test]
fn every_shipped_suite_is_valid() {
    let mut args = vec!["-q".to_string(), "validate".to_string()];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    for e in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "yaml") {
            args.push(format!("suites/{}", e.file_name().to_string_lossy()));
        }
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = harness(&refs);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "-q printed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn validate_reports_every_file_and_still_prints_ok_for_good_ones() {
    let out = harness(&[
        "--color",
        "never",
        "validate",
        "tests/golden/validate/bad_duration.yaml",
        "suites/smoke.yaml",
        "tests/golden/validate/unknown_key.yaml",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: suites/smoke.yaml\n"
    );
    assert!(
        stderr.contains("tests/golden/validate/bad_duration.yaml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tests/golden/validate/unknown_key.yaml:"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = harness(&["run", "suites/smoke.yaml", "--agents", "many"]);
    assert_eq!(out.status.code(), Some(2));
    let out = harness(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = harness(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes:"));
}

#[test]
fn color_always_adds_ansi_and_never_does_not() {
    let args = |c| {
        [
            "--color",
            c,
            "validate",
            "tests/golden/validate/bad_duration.yaml",
        ]
    };
    let colored = harness(&args("always"));
    assert!(String::from_utf8_lossy(&colored.stderr).contains("\u{1b}["));
    let plain = harness(&args("never"));
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("\u{1b}["));
}
