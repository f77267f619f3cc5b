//! What `conform` writes: the terminal table, `junit.xml` (one testcase per case) and
//! `conform.json` (its shape is pinned by `schemas/conform.schema.json`). Builders are pure and
//! unit-tested; `write` masks secrets in everything it writes (and the caller masks the table it
//! prints).

use std::fmt::Write as _;
use std::path::Path;

use junit_report::{Duration as JDuration, Report, TestCase, TestSuite};
use serde_json::{Value, json};

use super::{CaseOutcome, Verdict};
use crate::report::junit::{set_cause, text_safe as xml};
use crate::report::{ReportError, Secrets};
use crate::suite::model::OutputFormat;

/// What the reports say about the run as a whole.
#[derive(Debug, Clone)]
pub struct Meta {
    pub suite: String,
    /// `embedded simulator` or the API base URL.
    pub target: String,
    pub started: time::OffsetDateTime,
    /// Why no case could run (the target was down at start), if so.
    pub harness_error: Option<String>,
}

fn ms(o: &CaseOutcome) -> String {
    o.latency
        .map_or("-".into(), |l| format!("{:.1} ms", l.as_secs_f64() * 1e3))
}

/// The result table (operation, case, result, latency) and a count line.
pub fn table(outcomes: &[CaseOutcome]) -> String {
    let rows: Vec<[String; 4]> = outcomes
        .iter()
        .map(|o| {
            [
                o.op.to_string(),
                o.case_label(),
                o.verdict.label().to_string(),
                ms(o),
            ]
        })
        .collect();
    let head = [
        "OPERATION".to_string(),
        "CASE".into(),
        "RESULT".into(),
        "LATENCY".into(),
    ];
    let mut w = [0usize; 4];
    for r in rows.iter().chain(std::iter::once(&head)) {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&head).chain(rows.iter()) {
        let _ = writeln!(
            out,
            "{:<a$}  {:<b$}  {:<c$}  {:>d$}",
            r[0],
            r[1],
            r[2],
            r[3],
            a = w[0],
            b = w[1],
            c = w[2],
            d = w[3]
        );
    }
    let count = |f: fn(&Verdict) -> bool| outcomes.iter().filter(|o| f(&o.verdict)).count();
    let _ = writeln!(
        out,
        "{} cases: {} passed, {} failed, {} errors, {} skipped",
        outcomes.len(),
        count(|v| matches!(v, Verdict::Passed)),
        count(|v| matches!(v, Verdict::Failed(_))),
        count(|v| matches!(v, Verdict::Error(_))),
        count(|v| matches!(v, Verdict::Skipped(_))),
    );
    out
}

/// The failure text of a case: request line, expected vs actual, each problem (schema
/// violations by JSON pointer), and a response excerpt.
pub fn details(o: &CaseOutcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "request:  {}", o.request_line);
    let actual = o.actual.map_or("no response".into(), |a| a.to_string());
    let _ = writeln!(s, "expected: status {}", o.expected);
    let _ = writeln!(s, "actual:   status {actual}");
    if let Verdict::Failed(problems) = &o.verdict {
        for p in problems {
            let _ = writeln!(s, "{}: {}", p.check, p.message);
            for (ptr, msg) in &p.pointers {
                let at = if ptr.is_empty() { "/" } else { ptr.as_str() };
                let _ = writeln!(s, "  at {at}: {msg}");
            }
        }
    }
    if !o.excerpt.is_empty() {
        let _ = writeln!(s, "response: {}", o.excerpt);
    }
    s
}

/// One-line summary of a failure (the JUnit `message`).
fn summary(problems: &[super::Problem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| match p.pointers.as_slice() {
            [] => p.message.clone(),
            ptrs => {
                let at: Vec<&str> = ptrs
                    .iter()
                    .map(|(p, _)| if p.is_empty() { "/" } else { p.as_str() })
                    .collect();
                format!("{} at {}", p.message, at.join(", "))
            }
        })
        .collect();
    parts.join("; ")
}

/// `junit.xml`: one test suite, one testcase per case (classname: the operation).
pub fn junit(meta: &Meta, outcomes: &[CaseOutcome]) -> Report {
    let mut suite = TestSuite::new(&format!("conformance {}", meta.suite));
    suite.set_timestamp(meta.started);
    for o in outcomes {
        let t = JDuration::seconds_f64(o.latency.map_or(0.0, |l| l.as_secs_f64()));
        let name = crate::report::junit::xml_safe(&o.case_label());
        let mut case = match &o.verdict {
            Verdict::Passed => TestCase::success(&name, t),
            Verdict::Skipped(why) => TestCase::skipped_with_cause(&name, "skipped", why),
            Verdict::Error(why) => {
                let mut c = TestCase::error(&name, t, "setup", &xml(why));
                set_cause(&mut c, xml(why));
                c
            }
            Verdict::Failed(problems) => {
                let kinds: Vec<&str> = problems.iter().map(|p| p.check).collect();
                let mut c = TestCase::failure(&name, t, &kinds.join(","), &xml(&summary(problems)));
                set_cause(&mut c, xml(&details(o)));
                c
            }
        };
        case.set_classname(o.op);
        suite.add_testcase(case);
    }
    crate::report::junit::one_suite(suite, meta.harness_error.as_deref())
}

/// `conform.json`: the run and every case.
pub fn json(meta: &Meta, outcomes: &[CaseOutcome]) -> Value {
    let cases: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let (problems, note) = match &o.verdict {
                Verdict::Failed(p) => (
                    p.iter()
                        .map(|p| {
                            json!({
                                "check": p.check,
                                "message": p.message,
                                "violations": p.pointers.iter().map(|(ptr, m)| json!({"pointer": ptr, "message": m})).collect::<Vec<_>>(),
                            })
                        })
                        .collect(),
                    None,
                ),
                Verdict::Error(w) | Verdict::Skipped(w) => (Vec::new(), Some(w.clone())),
                Verdict::Passed => (Vec::new(), None),
            };
            json!({
                "operation": o.op,
                "case": o.case,
                "format": match o.format { OutputFormat::Json => "json", OutputFormat::Xml => "xml" },
                "result": match o.verdict {
                    Verdict::Passed => "passed",
                    Verdict::Failed(_) => "failed",
                    Verdict::Error(_) => "error",
                    Verdict::Skipped(_) => "skipped",
                },
                "latency_ms": o.latency.map(|l| (l.as_secs_f64() * 1e6).round() / 1e3),
                "request": o.request_line,
                "expected_status": o.expected,
                "actual_status": o.actual,
                "problems": problems,
                "note": note,
                "response_excerpt": o.excerpt,
            })
        })
        .collect();
    let count = |r: &str| {
        cases
            .iter()
            .filter(|c| c.get("result").and_then(Value::as_str) == Some(r))
            .count()
    };
    json!({
        "suite": meta.suite,
        "target": meta.target,
        "started": meta.started.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "harness_version": env!("CARGO_PKG_VERSION"),
        "harness_error": meta.harness_error,
        "summary": {
            "cases": cases.len(),
            "passed": count("passed"),
            "failed": count("failed"),
            "errors": count("error"),
            "skipped": count("skipped"),
        },
        "cases": cases,
    })
}

/// The outcomes with every free-text field masked: what the builders render, so secrets are
/// masked before the text is escaped into XML or JSON.
pub fn mask(meta: &Meta, outcomes: &[CaseOutcome], secrets: &Secrets) -> (Meta, Vec<CaseOutcome>) {
    let mut meta = meta.clone();
    secrets.mask_all(
        [&mut meta.suite, &mut meta.target]
            .into_iter()
            .chain(&mut meta.harness_error),
    );
    let mut outcomes = outcomes.to_vec();
    for o in &mut outcomes {
        secrets.mask_all([&mut o.case, &mut o.request_line, &mut o.excerpt]);
        match &mut o.verdict {
            Verdict::Passed => {}
            Verdict::Error(s) | Verdict::Skipped(s) => secrets.mask_in_place(s),
            Verdict::Failed(problems) => {
                for p in problems {
                    secrets.mask_in_place(&mut p.message);
                    secrets.mask_all(p.pointers.iter_mut().map(|(_, m)| m));
                }
            }
        }
    }
    (meta, outcomes)
}

/// Writes `junit.xml` and `conform.json` under `dir` (created if needed), secrets masked.
pub fn write(
    dir: &Path,
    meta: &Meta,
    outcomes: &[CaseOutcome],
    secrets: &Secrets,
) -> Result<(), ReportError> {
    let (meta, outcomes) = mask(meta, outcomes, secrets);
    crate::report::write_junit_and_json(
        dir,
        &junit(&meta, &outcomes),
        "conform.json",
        &json(&meta, &outcomes),
        secrets,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::Problem;
    use std::time::Duration;

    /// The run's header: suite `c` against `target`, started 2026-11-24 21:00 UTC.
    fn meta(target: &str, harness_error: Option<&str>) -> Meta {
        Meta {
            suite: "c".into(),
            target: target.into(),
            started: time::macros::datetime!(2026-11-24 21:00:00 UTC),
            harness_error: harness_error.map(str::to_string),
        }
    }

    fn outcomes() -> Vec<CaseOutcome> {
        let base = CaseOutcome {
            op: "login",
            case: "positive".into(),
            format: OutputFormat::Json,
            expected: "200".into(),
            verdict: Verdict::Passed,
            latency: Some(Duration::from_micros(2500)),
            request_line: "POST /engagementAPI/v2/agent/login?output=json".into(),
            actual: Some(200),
            excerpt: r#"{"registeredId":"1-2"}"#.into(),
            observed: crate::conform::Observation::default(),
        };
        vec![
            base.clone(),
            CaseOutcome {
                format: OutputFormat::Xml,
                verdict: Verdict::Failed(vec![Problem {
                    check: "schema",
                    message: "schema violation".into(),
                    pointers: vec![(
                        String::new(),
                        "\"publicUserId\" is a required property".into(),
                    )],
                }]),
                request_line: "POST /engagementAPI/v2/agent/login?output=xml".into(),
                excerpt: "<AgentLoginResponse><jti>s3cr3t</jti></AgentLoginResponse>".into(),
                ..base.clone()
            },
            CaseOutcome {
                op: "verifySession",
                case: "no token".into(),
                expected: "401".into(),
                verdict: Verdict::Skipped("skip: always".into()),
                latency: None,
                ..base
            },
        ]
    }

    #[test]
    fn table_aligns_columns_and_counts() {
        assert_eq!(
            table(&outcomes()),
            "\
OPERATION      CASE            RESULT  LATENCY
login          positive        pass     2.5 ms
login          positive [xml]  FAIL     2.5 ms
verifySession  no token        skip          -
3 cases: 1 passed, 1 failed, 0 errors, 1 skipped
"
        );
    }

    #[test]
    fn junit_failure_shows_request_expectation_pointers_and_excerpt() {
        let meta = meta("embedded simulator", None);
        let mut buf = Vec::new();
        let written = junit(&meta, &outcomes()).write_xml(&mut buf);
        assert!(written.is_ok());
        let text = String::from_utf8_lossy(&buf).into_owned();
        let masked = Secrets::new(["s3cr3t"]).mask(&text).into_owned();
        let want = "<testcase name=\"positive [xml]\" time=\"0.0025\" classname=\"login\">\
<failure type=\"schema\" message=\"schema violation at /\"><![CDATA[request:  POST /engagementAPI/v2/agent/login?output=xml
expected: status 200
actual:   status 200
schema: schema violation
  at /: \"publicUserId\" is a required property
response: <AgentLoginResponse><jti>****</jti></AgentLoginResponse>
]]></failure></testcase>";
        assert!(masked.contains(want), "{masked}");
        assert!(
            masked.contains("<skipped type=\"skipped\" message=\"skip: always\""),
            "{masked}"
        );
        assert!(!masked.contains("s3cr3t"), "secrets are masked: {masked}");
    }

    #[test]
    fn json_counts_results_and_lists_violations() {
        let meta = meta("embedded simulator", None);
        let v = json(&meta, &outcomes());
        assert_eq!(
            v["summary"],
            json!({"cases": 3, "passed": 1, "failed": 1, "errors": 0, "skipped": 1})
        );
        assert_eq!(v["cases"][1]["problems"][0]["violations"][0]["pointer"], "");
        assert_eq!(v["cases"][0]["latency_ms"], 2.5);
        assert_eq!(v["started"], "2026-11-24T21:00:00Z");
        assert_eq!(v["harness_error"], Value::Null);
    }

    #[test]
    fn json_matches_its_published_schema() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/conform.schema.json");
        let schema: Value = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => panic!("{path}: {e}"),
        };
        let v = match jsonschema::validator_for(&schema) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        let mut meta = Meta {
            suite: "c".into(),
            target: "embedded simulator".into(),
            started: time::macros::datetime!(2026-11-24 21:00:00 UTC),
            harness_error: None,
        };
        let mut all = outcomes();
        all.push(CaseOutcome {
            verdict: Verdict::Error("setup failed: login answered 500".into()),
            actual: None,
            ..outcomes().remove(0)
        });
        let doc = json(&meta, &all);
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert_eq!(errors, Vec::<String>::new());
        meta.harness_error = Some("down".into());
        assert!(v.is_valid(&json(&meta, &[])));
    }

    #[test]
    fn a_run_that_could_not_start_is_one_junit_error() {
        let meta = meta(
            "http://127.0.0.1:9",
            Some("the target at http://127.0.0.1:9 is unreachable"),
        );
        let mut buf = Vec::new();
        assert!(junit(&meta, &[]).write_xml(&mut buf).is_ok());
        let text = String::from_utf8_lossy(&buf).into_owned();
        assert!(
            text.contains("<testcase name=\"run\" time=\"0\" classname=\"harness\"><error type=\"harness\" message=\"the target at http://127.0.0.1:9 is unreachable\"/></testcase>"),
            "{text}"
        );
        assert_eq!(json(&meta, &[])["summary"]["cases"], 0);
    }

    #[test]
    fn a_one_character_token_keeps_conform_junit_xml_valid_and_no_secret_is_written() {
        let meta = meta("embedded simulator", None);
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let secrets = Secrets::new(["a", "s3cr3t", "client-secret-value"]);
        let mut all = outcomes();
        all[0].request_line = "POST /token client_secret=client-secret-value".into();
        assert!(write(dir.path(), &meta, &all, &secrets).is_ok());
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
        let xml = read("junit.xml");
        let mut reader = quick_xml::Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("junit.xml is not well-formed: {e}\n{xml}"),
            }
        }
        assert!(xml.contains("<testcase name=\"positive\""), "{xml}");
        let json = read("conform.json");
        assert!(serde_json::from_str::<Value>(&json).is_ok(), "{json}");
        for text in [&xml, &json] {
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(!text.contains("client-secret-value"), "{text}");
        }
    }
}
