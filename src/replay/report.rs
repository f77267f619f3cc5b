//! What `replay` writes: the terminal table, `junit.xml` (a testcase per operation: a failure
//! lists its differences by JSON path and the entries where they were seen) and `replay.json`.
//! Builders are pure; [`write`] masks secrets in what it renders (the report family's
//! `Secrets`), and the caller masks the table it prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use junit_report::{Duration as JDuration, Report, TestCase, TestSuite};
use serde_json::{Value, json};

use super::compare::Difference;
use super::engine::StepOutcome;
use crate::report::junit::{set_cause, text_safe as xml};
use crate::report::{ReportError, Secrets};

/// What the reports say about the replay as a whole.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The HAR's file name.
    pub har: String,
    /// `embedded simulator` or the API base URL.
    pub target: String,
    pub started: time::OffsetDateTime,
    /// `fast` or `recorded`.
    pub timing: &'static str,
    /// Why the replay could not run, if so.
    pub harness_error: Option<String>,
}

/// One operation's calls and their distinct differences (with the entries showing each).
#[derive(Debug, Clone, PartialEq)]
pub struct OpResult {
    pub op: &'static str,
    pub calls: usize,
    pub entries: Vec<usize>,
    pub differences: Vec<(Difference, Vec<usize>)>,
    pub seconds: f64,
}

/// The steps grouped by operation, in order of first call.
pub fn by_operation(steps: &[StepOutcome]) -> Vec<OpResult> {
    let mut order: Vec<&'static str> = Vec::new();
    let mut map: BTreeMap<&'static str, OpResult> = BTreeMap::new();
    for s in steps {
        let r = map.entry(s.op).or_insert_with(|| {
            order.push(s.op);
            OpResult {
                op: s.op,
                calls: 0,
                entries: Vec::new(),
                differences: Vec::new(),
                seconds: 0.0,
            }
        });
        r.calls += 1;
        r.entries.push(s.entry);
        r.seconds += s.latency.map_or(0.0, |l| l.as_secs_f64());
        for d in &s.differences {
            match r.differences.iter_mut().find(|(x, _)| x == d) {
                Some((_, at)) => at.push(s.entry),
                None => r.differences.push((d.clone(), vec![s.entry])),
            }
        }
    }
    order.into_iter().filter_map(|op| map.remove(op)).collect()
}

/// `entries[3]`, `entries[3, 7, 9]`, or the first five and a count.
fn entries(list: &[usize]) -> String {
    let shown: Vec<String> = list.iter().take(5).map(ToString::to_string).collect();
    let more = list.len().saturating_sub(5);
    if more > 0 {
        format!("entries[{}, …] ({} calls)", shown.join(", "), list.len())
    } else {
        format!("entries[{}]", shown.join(", "))
    }
}

/// Total differences (distinct per operation).
pub fn count(ops: &[OpResult]) -> usize {
    ops.iter().map(|o| o.differences.len()).sum()
}

/// The result table (operation, calls, differences, result), each difference below its
/// operation, and a count line.
pub fn table(ops: &[OpResult]) -> String {
    let w = ops.iter().map(|o| o.op.len()).max().unwrap_or(0).max(9);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<w$}  {:>5}  {:>11}  RESULT",
        "OPERATION", "CALLS", "DIFFERENCES"
    );
    for o in ops {
        let result = if o.differences.is_empty() {
            "same"
        } else {
            "DIFF"
        };
        let _ = writeln!(
            out,
            "{:<w$}  {:>5}  {:>11}  {result}",
            o.op,
            o.calls,
            o.differences.len()
        );
        for (d, at) in &o.differences {
            let _ = writeln!(out, "  - {d} ({})", entries(at));
        }
    }
    let calls: usize = ops.iter().map(|o| o.calls).sum();
    let _ = writeln!(
        out,
        "{calls} calls, {} operations: {} differences in {} operations",
        ops.len(),
        count(ops),
        ops.iter().filter(|o| !o.differences.is_empty()).count()
    );
    out
}

/// `junit.xml`: one test suite, one testcase per operation (classname `replay`).
pub fn junit(meta: &Meta, ops: &[OpResult]) -> Report {
    let mut suite = TestSuite::new(&format!("replay {}", meta.har));
    suite.set_timestamp(meta.started);
    for o in ops {
        let t = JDuration::seconds_f64(o.seconds);
        let name = crate::report::junit::xml_safe(o.op);
        let mut case = if o.differences.is_empty() {
            TestCase::success(&name, t)
        } else {
            let kinds: Vec<&str> = o.differences.iter().map(|(d, _)| d.kind()).collect();
            let summary: Vec<String> = o.differences.iter().map(|(d, _)| d.to_string()).collect();
            let detail: Vec<String> = o
                .differences
                .iter()
                .map(|(d, at)| format!("{d} ({})", entries(at)))
                .collect();
            let mut c = TestCase::failure(&name, t, &kinds.join(","), &xml(&summary.join("; ")));
            set_cause(&mut c, xml(&detail.join("\n")));
            c
        };
        case.set_classname("replay");
        suite.add_testcase(case);
    }
    crate::report::junit::one_suite(suite, meta.harness_error.as_deref())
}

/// `replay.json`: the run, every operation with its differences, and every call.
pub fn json(meta: &Meta, ops: &[OpResult], steps: &[StepOutcome]) -> Value {
    let diff = |d: &Difference, at: Option<&[usize]>| {
        let mut v = json!({"kind": d.kind(), "message": d.to_string()});
        if let Some(p) = d.path() {
            v["path"] = json!(p);
        }
        if let Some(at) = at {
            v["entries"] = json!(at);
        }
        v
    };
    json!({
        "har": meta.har,
        "target": meta.target,
        "timing": meta.timing,
        "started": meta.started.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "harness_version": env!("CARGO_PKG_VERSION"),
        "harness_error": meta.harness_error,
        "summary": {
            "calls": steps.len(),
            "operations": ops.len(),
            "differences": count(ops),
            "operations_differing": ops.iter().filter(|o| !o.differences.is_empty()).count(),
        },
        "operations": ops.iter().map(|o| json!({
            "operation": o.op,
            "calls": o.calls,
            "entries": o.entries,
            "result": if o.differences.is_empty() { "same" } else { "differs" },
            "differences": o.differences.iter().map(|(d, at)| diff(d, Some(at))).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "calls": steps.iter().map(|s| json!({
            "entry": s.entry,
            "operation": s.op,
            "request": s.request_line,
            "recorded_status": s.recorded_status,
            "status": s.status,
            "latency_ms": s.latency.map(|l| (l.as_secs_f64() * 1e6).round() / 1e3),
            "differences": s.differences.iter().map(|d| diff(d, None)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Writes `junit.xml` and `replay.json` under `dir`, secrets masked.
pub fn write(
    dir: &Path,
    meta: &Meta,
    steps: &[StepOutcome],
    secrets: &Secrets,
) -> Result<(), ReportError> {
    let mut meta = meta.clone();
    secrets.mask_all(
        [&mut meta.har, &mut meta.target]
            .into_iter()
            .chain(&mut meta.harness_error),
    );
    let mut steps = steps.to_vec();
    secrets.mask_all(steps.iter_mut().map(|s| &mut s.request_line));
    let ops = by_operation(&steps);
    crate::report::write_junit_and_json(
        dir,
        &junit(&meta, &ops),
        "replay.json",
        &json(&meta, &ops, &steps),
        secrets,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::drift::Change;
    use std::time::Duration;

    fn step(entry: usize, op: &'static str, differences: Vec<Difference>) -> StepOutcome {
        StepOutcome {
            entry,
            op,
            request_line: format!("GET /{op}?output=json"),
            recorded_status: 200,
            status: Some(200),
            latency: Some(Duration::from_millis(2)),
            differences,
        }
    }

    fn sample() -> Vec<StepOutcome> {
        let missing = Difference::Shape(Change::Missing {
            path: "/userId".into(),
        });
        vec![
            step(1, "login", vec![missing.clone()]),
            step(2, "verifySession", vec![]),
            step(4, "login", vec![missing]),
            step(
                5,
                "summaryData",
                vec![Difference::Status {
                    recorded: 200,
                    got: 503,
                }],
            ),
        ]
    }

    #[test]
    fn differences_are_grouped_by_operation_with_their_entries() {
        let ops = by_operation(&sample());
        assert_eq!(
            table(&ops),
            "OPERATION      CALLS  DIFFERENCES  RESULT\n\
             login              2            1  DIFF\n\
             \x20 - field missing at /userId (entries[1, 4])\n\
             verifySession      1            0  same\n\
             summaryData        1            1  DIFF\n\
             \x20 - status 503, recorded 200 (entries[5])\n\
             4 calls, 3 operations: 2 differences in 2 operations\n"
        );
    }

    #[test]
    fn junit_has_a_case_per_operation_and_json_names_paths() {
        let meta = Meta {
            har: "desk.har".into(),
            target: "embedded simulator".into(),
            started: time::macros::datetime!(2026-12-01 06:00:00 UTC),
            timing: "fast",
            harness_error: None,
        };
        let steps = sample();
        let ops = by_operation(&steps);
        let mut xml = Vec::new();
        junit(&meta, &ops).write_xml(&mut xml).expect("xml");
        let xml = String::from_utf8(xml).expect("utf-8");
        assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
        assert!(xml.contains("type=\"field_missing\""), "{xml}");
        let v = json(&meta, &ops, &steps);
        assert_eq!(v["summary"]["differences"], 2);
        assert_eq!(v["operations"][0]["differences"][0]["path"], "/userId");
        assert_eq!(
            v["operations"][0]["differences"][0]["entries"],
            json!([1, 4])
        );
        assert_eq!(v["operations"][2]["differences"][0]["kind"], "status");
    }
}
