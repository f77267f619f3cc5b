//! Release gating on API drift: `conform --snapshot DIR` keeps what every case observed
//! (status, content type, the schema inferred from its body by `import::schema`; no values),
//! and `conform --against DIR` compares a new run with it.
//!
//! Drift is a failure of the case (a JUnit `<failure>` of type `drift`, exit 1): a status
//! changed, a field removed, a type changed (`import::drift`'s rules, by JSON path). A field
//! added is a warning unless the suite says `drift: {added_fields: fail}`. A long-poll case
//! (`messages.get`) may answer 200 or 204 by timing: those two are the same status, and beneath
//! its arrays only types are compared. Cases the snapshot does not have, or that did not get
//! an answer in one of the runs, are warnings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CaseOutcome, Problem, Verdict};
use crate::import::drift::{self, Change, Rules};
use crate::report::{ReportError, Secrets, write_file};
use crate::suite::model::AddedFields;

/// The file a snapshot directory holds.
pub const FILE: &str = "snapshot.json";

/// What a run observed, case by case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub suite: String,
    pub target: String,
    pub taken: String,
    pub harness_version: String,
    pub cases: Vec<SnapCase>,
}

/// One case's observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapCase {
    pub operation: String,
    /// `positive`, `positive [xml]`, `missing registeredId`, ...
    pub case: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub schema: Option<Value>,
}

/// A snapshot that cannot be read (a usage error: exit 2).
#[derive(Debug, thiserror::Error)]
#[error("--against {}: {reason}", path.display())]
pub struct SnapshotError {
    pub path: PathBuf,
    pub reason: String,
}

/// The snapshot of a run's outcomes (cases without an answer are left out).
pub fn build(suite: &str, target: &str, outcomes: &[CaseOutcome]) -> Snapshot {
    Snapshot {
        suite: suite.to_string(),
        target: target.to_string(),
        taken: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        cases: outcomes
            .iter()
            .filter_map(|o| {
                Some(SnapCase {
                    operation: o.op.to_string(),
                    case: o.case_label(),
                    status: o.actual?,
                    content_type: o.observed.content_type.clone(),
                    schema: o.observed.schema.clone(),
                })
            })
            .collect(),
    }
}

/// Writes `DIR/snapshot.json` (created if needed), secrets masked.
pub fn write(dir: &Path, snap: &Snapshot, secrets: &Secrets) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let text = serde_json::to_string_pretty(snap).map_err(|e| ReportError::Render {
        what: "snapshot.json",
        detail: e.to_string(),
    })?;
    write_file(&dir.join(FILE), secrets.mask_document(&text).as_bytes())
}

/// Reads a snapshot: a directory holding `snapshot.json`, or the file itself.
pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
    let file = if path.is_dir() {
        path.join(FILE)
    } else {
        path.to_path_buf()
    };
    let err = |reason: String| SnapshotError {
        path: file.clone(),
        reason,
    };
    let meta = std::fs::metadata(&file).map_err(|e| err(format!("cannot read it: {e}")))?;
    if meta.len() > 64 * 1024 * 1024 {
        return Err(err(format!("it is {} bytes; at most 64 MiB", meta.len())));
    }
    let bytes = std::fs::read(&file).map_err(|e| err(format!("cannot read it: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| err(format!("not a conform snapshot ({e})")))
}

/// Judges `outcomes` against `snap`: drift becomes a `drift` problem of its case (a passed
/// case fails); returns the warnings (fields added, unless `added` is `fail`; cases not
/// comparable).
pub fn against(snap: &Snapshot, outcomes: &mut [CaseOutcome], added: AddedFields) -> Vec<String> {
    let mut warnings = Vec::new();
    for o in outcomes.iter_mut() {
        let label = o.case_label();
        let id = format!("{} / {label}", o.op);
        let Some(was) = snap
            .cases
            .iter()
            .find(|c| c.operation == o.op && c.case == label)
        else {
            if o.actual.is_some() {
                warnings.push(format!("{id}: not in the snapshot"));
            }
            continue;
        };
        let Some(now) = o.actual else {
            warnings.push(format!("{id}: no answer to compare with the snapshot"));
            continue;
        };
        let long_poll = o.op == "messages.get";
        let mut problems = Vec::new();
        let same = now == was.status
            || (long_poll && [200, 204].contains(&now) && [200, 204].contains(&was.status));
        if !same {
            problems.push(Problem {
                check: "drift",
                message: format!("status changed: {} → {now}", was.status),
                pointers: Vec::new(),
            });
        } else if let (Some(a), Some(b)) = (&was.schema, &o.observed.schema) {
            let rules = Rules {
                beneath_arrays: !long_poll,
            };
            let mut pointers = Vec::new();
            for c in drift::diff(a, b, rules) {
                let path = if c.path().is_empty() { "/" } else { c.path() }.to_string();
                match (&c, added) {
                    (Change::Added { .. }, AddedFields::Warn) => {
                        warnings.push(format!("{id}: {c} (since the snapshot)"));
                    }
                    _ => pointers.push((path, c.to_string())),
                }
            }
            if !pointers.is_empty() {
                let paths: Vec<&str> = pointers.iter().map(|(p, _)| p.as_str()).collect();
                problems.push(Problem {
                    check: "drift",
                    message: format!("drift since the snapshot at {}", paths.join(", ")),
                    pointers,
                });
            }
        }
        if problems.is_empty() {
            continue;
        }
        o.verdict = match std::mem::replace(&mut o.verdict, Verdict::Passed) {
            Verdict::Failed(mut p) => {
                p.extend(problems);
                Verdict::Failed(p)
            }
            Verdict::Passed | Verdict::Skipped(_) => Verdict::Failed(problems),
            e @ Verdict::Error(_) => e,
        };
    }
    let ran: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{}\u{0}{}", o.op, o.case_label()))
        .collect();
    for c in &snap.cases {
        if !ran.contains(&format!("{}\u{0}{}", c.operation, c.case)) {
            warnings.push(format!(
                "{} / {}: in the snapshot but not run",
                c.operation, c.case
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::Observation;
    use crate::suite::model::OutputFormat;
    use serde_json::json;

    fn outcome(op: &'static str, status: u16, body: Value) -> CaseOutcome {
        CaseOutcome {
            op,
            case: "positive".into(),
            format: OutputFormat::Json,
            expected: "200".into(),
            verdict: Verdict::Passed,
            latency: None,
            request_line: String::new(),
            actual: Some(status),
            excerpt: String::new(),
            observed: Observation {
                content_type: Some("application/json".into()),
                schema: Some(drift::schema_of(&body)),
            },
        }
    }

    #[test]
    fn removed_and_retyped_fields_and_changed_statuses_fail_added_ones_warn() {
        let before = vec![
            outcome("login", 200, json!({"registeredId": "1", "userId": "7"})),
            outcome("verifySession", 200, json!({"ok": true})),
            outcome("summaryData", 200, json!({})),
        ];
        let snap = build("s", "embedded simulator", &before);
        let mut now = vec![
            outcome("login", 200, json!({"registeredId": 1, "agentUserId": "7"})),
            outcome("verifySession", 200, json!({"ok": true})),
            outcome("summaryData", 503, json!({})),
        ];
        let warnings = against(&snap, &mut now, AddedFields::Warn);
        assert_eq!(
            warnings,
            vec!["login / positive: field added at /agentUserId (since the snapshot)"]
        );
        let Verdict::Failed(p) = &now[0].verdict else {
            panic!("login drifted: {:?}", now[0].verdict)
        };
        assert_eq!(
            p[0].message,
            "drift since the snapshot at /registeredId, /userId"
        );
        assert_eq!(
            p[0].pointers,
            vec![
                (
                    "/registeredId".to_string(),
                    "type changed at /registeredId: string → number".to_string()
                ),
                (
                    "/userId".to_string(),
                    "field missing at /userId".to_string()
                ),
            ]
        );
        assert_eq!(now[1].verdict, Verdict::Passed);
        assert!(
            matches!(&now[2].verdict, Verdict::Failed(p) if p[0].message == "status changed: 200 → 503")
        );
        let mut strict = vec![outcome(
            "login",
            200,
            json!({"registeredId": "1", "userId": "7", "x": 1}),
        )];
        assert!(against(&snap, &mut strict, AddedFields::Fail).len() == 2);
        assert!(matches!(&strict[0].verdict, Verdict::Failed(p) if p[0].pointers[0].0 == "/x"));
    }

    #[test]
    fn a_snapshot_round_trips_and_a_bad_one_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = build("s", "t", &[outcome("login", 200, json!({"a": 1}))]);
        write(dir.path(), &snap, &Secrets::default()).expect("written");
        assert_eq!(read(dir.path()).expect("read"), snap);
        std::fs::write(dir.path().join(FILE), "{").expect("write");
        let e = read(dir.path()).expect_err("bad");
        assert!(
            e.to_string()
                .contains("snapshot.json: not a conform snapshot"),
            "{e}"
        );
    }
}
