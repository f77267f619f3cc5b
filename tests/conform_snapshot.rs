//! `conform --snapshot DIR` then `conform --against DIR`: an unchanged simulator passes (exit
//! 0); a drifted field (a simulator fault) fails exactly the drifted cases (exit 1), naming the
//! operation and the JSON path, as JUnit failures of type `drift`. A snapshot that cannot be
//! read is a usage error (exit 2).

use std::path::PathBuf;

use crate::conform_common::{suite_plan, with_faults};
use aeapi_harness::app::conform::{Drift, execute_gated};
use aeapi_harness::app::{self, Config, Console, RunConfig};
use aeapi_harness::conform::ConformPlan;
use aeapi_harness::conform::snapshot;
use aeapi_harness::exit::Exit;
use aeapi_harness::suite::model::AddedFields;
use aeapi_harness::suite::plan::Overrides;

const ONLY: &str = "login,preLoginStatus,verifySession,summaryData";

/// Runs `ONLY` of the shipped suite (with `faults`) into `out`, with `drift`.
fn gated(out: &std::path::Path, faults: Option<&str>, drift: Drift) -> (Exit, String, String) {
    let mut p = suite_plan(out);
    if let Some(f) = faults {
        p = with_faults(p, f);
    }
    let cp = ConformPlan::build(&p, Some(ONLY)).unwrap_or_else(|e| panic!("{e}"));
    let (mut console, o, e) = Console::buffered(0);
    let result = execute_gated(&mut console, cp, drift);
    let exit = app::finish(&mut console, result);
    (exit, o.text(), e.text())
}

#[test]
fn snapshot_then_against_passes_unchanged_and_fails_on_a_drifted_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap_dir = dir.path().join("snap");
    let (exit, out, err) = gated(
        &dir.path().join("first"),
        None,
        Drift {
            snapshot: Some(snap_dir.clone()),
            against: None,
        },
    );
    assert_eq!(exit, Exit::Passed, "{out}{err}");
    assert!(err.contains("snapshot: "), "{err}");
    let snap = snapshot::read(&snap_dir).expect("snapshot written");
    let login = snap
        .cases
        .iter()
        .find(|c| c.operation == "login" && c.case == "positive")
        .expect("login positive in the snapshot");
    assert_eq!(login.status, 200);
    assert_eq!(login.content_type.as_deref(), Some("application/json"));
    assert!(
        login
            .schema
            .as_ref()
            .is_some_and(|s| s["properties"]["registeredId"]["type"] == "string")
    );
    // What it keeps has no values: no registered id, no token.
    let text = std::fs::read_to_string(snap_dir.join(snapshot::FILE)).expect("file");
    assert!(!text.contains("eyJ") && !text.contains("\"1-"), "{text}");

    let against = || Drift {
        snapshot: None,
        against: Some((snap.clone(), AddedFields::Warn)),
    };
    let (exit, out, err) = gated(&dir.path().join("same"), None, against());
    assert_eq!(exit, Exit::Passed, "{out}{err}");

    let faults = "ops:\n  - op: login\n    drift:\n      - {field: publicUserId, action: drop}\n";
    let drifted = dir.path().join("drifted");
    let (exit, out, err) = gated(&drifted, Some(faults), against());
    assert_eq!(exit, Exit::Failed, "{out}{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(drifted.join("conform.json")).expect("json"))
            .expect("conform.json");
    let failed: Vec<(String, String, Vec<String>)> = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["result"] != "passed")
        .map(|c| {
            let drift: Vec<String> = c["problems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["check"] == "drift")
                .flat_map(|p| p["violations"].as_array().cloned().unwrap_or_default())
                .map(|v| {
                    format!(
                        "{} {}",
                        v["pointer"].as_str().unwrap_or(""),
                        v["message"].as_str().unwrap_or("")
                    )
                })
                .collect();
            (
                c["operation"].as_str().unwrap_or("").to_string(),
                format!(
                    "{} {}",
                    c["case"].as_str().unwrap_or(""),
                    c["format"].as_str().unwrap_or("")
                ),
                drift,
            )
        })
        .collect();
    let want = vec!["/publicUserId field missing at /publicUserId".to_string()];
    assert_eq!(
        failed,
        vec![
            (
                "login".to_string(),
                "positive json".to_string(),
                want.clone()
            ),
            ("login".to_string(), "positive xml".to_string(), want),
        ],
        "{out}"
    );
    let junit = std::fs::read_to_string(drifted.join("junit.xml")).expect("junit");
    assert!(
        junit.contains("drift since the snapshot at /publicUserId"),
        "{junit}"
    );
}

#[test]
fn an_unreadable_snapshot_is_a_usage_error_before_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let suite = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites/conformance.yaml");
    let config = Config::Conform(RunConfig {
        suite,
        overrides: Overrides::default(),
        out: Some(dir.path().join("out")),
        only: Some("login".into()),
        dry_run: false,
        baseline: None,
        live: Default::default(),
        start: Default::default(),
        max_time: None,
        snapshot: None,
        against: Some(dir.path().join("nowhere")),
    });
    let (mut console, _, err) = Console::buffered(0);
    let exit = app::execute(&mut console, &config);
    assert_eq!(exit, Exit::Usage);
    let err = err.text();
    assert!(err.contains("--against"), "{err}");
    assert!(
        err.contains("nowhere/snapshot.json: cannot read it")
            || err.contains("nowhere: cannot read it"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing ran");
}
