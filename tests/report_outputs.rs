//! End-to-end checks of the report writers through the public API: every file `write_all`
//! produces, validated against its schema, with secrets embedded in the data and never written.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aeapi_harness::check::threshold;
use aeapi_harness::metrics::{
    CheckOutcome, Direction, EngagementEnd, ErrorKind, Exchange, Recorder, Sample,
};
use aeapi_harness::report::{self, Outcome, RunMeta, Secrets, Tolerance, summary};
use aeapi_harness::suite::threshold::{Cmp, Limit, Metric, Threshold};
use time::macros::datetime;

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.s3cr3t-t0k3n";
const PASSWORD: &str = "hunter2&<pw>";

fn outcome() -> Outcome {
    let t0 = Instant::now();
    let r = Recorder::new(t0, Duration::from_millis(500));
    for i in 0..300u64 {
        let (op, persona) = match i % 3 {
            0 => ("acceptEngagement", "agent"),
            1 => ("sendMessage", "agent"),
            _ => ("getEngagement", "supervisor"),
        };
        let fail = i % 50 == 7;
        let transport = i % 97 == 3;
        r.record(&Sample {
            op,
            persona,
            status: if transport {
                None
            } else if fail {
                Some(500)
            } else {
                Some(200)
            },
            latency: Duration::from_micros(2_000 + i * 317),
            error: if transport {
                Some(ErrorKind::Reset)
            } else if fail {
                Some(ErrorKind::Status)
            } else {
                None
            },
            expected_interval: Some(Duration::from_millis(20)),
            at: t0 + Duration::from_millis(i * 10),
        });
        r.record_check(&CheckOutcome {
            check: "status",
            op,
            persona,
            passed: !fail,
            example: fail.then(|| Exchange {
                request_line: format!("POST /engagementAPI/v2/agent/{op}?access_token={TOKEN}"),
                status: Some(500),
                detail: format!("expected 200, got 500; login password {PASSWORD}"),
                response_excerpt: format!("<error token=\"{TOKEN}\">boom</error>"),
            }),
        });
        if op == "acceptEngagement" {
            r.record_check(&CheckOutcome {
                check: "accepted_within_window",
                op,
                persona,
                passed: i != 9,
                example: (i == 9).then(|| Exchange {
                    request_line: "POST /acceptEngagement".into(),
                    status: Some(200),
                    detail: "accepted after 31 s (window 30 s)".into(),
                    response_excerpt: String::new(),
                }),
            });
        }
        r.set_active_agents(1 + i / 30);
    }
    r.record_poll_hold("agent", Duration::from_secs(25));
    r.record_delivery(Direction::AgentToCustomer, Duration::from_millis(120));
    r.count_engagement(EngagementEnd::Accepted);
    r.count_engagement(EngagementEnd::Closed);
    let data = r.snapshot();
    let rule = |source: &str, metric, limit| Threshold {
        source: source.into(),
        metric,
        cmp: Cmp::Lt,
        limit,
    };
    let percentile = |p, op: &str| Metric::Percentile {
        p,
        op: Some(op.into()),
    };
    let thresholds = [
        rule(
            "p95(acceptEngagement) < 300ms",
            percentile(95.0, "acceptEngagement"),
            Limit::Duration(Duration::from_millis(300)),
        ),
        rule(
            "error_rate < 0.1%",
            Metric::ErrorRate { op: None },
            Limit::Fraction(0.001),
        ),
        rule(
            "p99(transferEngagement) < 1s",
            percentile(99.0, "transferEngagement"),
            Limit::Duration(Duration::from_secs(1)),
        ),
    ];
    let duration = Duration::from_secs(3);
    let verdicts = threshold::evaluate(&thresholds, &data, duration);
    let mut outcome = Outcome {
        meta: RunMeta {
            suite: "smoke".into(),
            target: format!("https://user:{PASSWORD}@aeapi.example.test"),
            harness_version: RunMeta::HARNESS_VERSION.into(),
            started: datetime!(2026-11-24 20:00:00 UTC),
            ended: datetime!(2026-11-24 20:00:03 UTC),
            duration,
            interrupted: false,
            interrupted_by: None,
            harness_error: None,
            shards: vec![],
            tolerance: Tolerance::default(),
        },
        data,
        verdicts,
        deltas: vec![],
    };
    let current = summary::build(&outcome);
    outcome.deltas = current.compare(
        &current,
        Tolerance {
            fraction: 0.1,
            floor_ms: 1.0,
        },
    );
    outcome
}

fn secrets() -> Secrets {
    Secrets::new([TOKEN, PASSWORD])
}

fn write_all() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports/run-1");
    let files = report::write_all(&out, &outcome(), &secrets()).unwrap();
    (dir, files)
}

fn named<'a>(files: &'a [PathBuf], name: &str) -> &'a Path {
    files
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("{name} not written: {files:?}"))
}

#[test]
fn summary_json_matches_its_schema() {
    let (_dir, files) = write_all();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/summary.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(named(&files, "summary.json")).unwrap())
            .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&summary)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(summary["baseline"].as_array().unwrap().len(), 9);
    assert_eq!(
        summary["thresholds"][2]["measured"],
        serde_json::Value::Null
    );
    // A schema that rejects nothing would make this test worthless.
    let mut broken = summary.clone();
    broken["run"]["exit_status"] = serde_json::json!(7);
    assert!(!validator.is_valid(&broken));
}

#[test]
fn no_secret_reaches_any_report_file() {
    let (_dir, files) = write_all();
    assert!(files.len() >= 6, "{files:?}");
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [TOKEN, PASSWORD, "s3cr3t-t0k3n", "hunter2&amp;", "hunter2"] {
            assert!(
                !text.contains(secret),
                "{} contains secret {secret:?}",
                path.display()
            );
        }
    }
    let summary = std::fs::read_to_string(named(&files, "summary.json")).unwrap();
    assert!(summary.contains("access_token=****"));
}

#[test]
fn unwritable_output_dir_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let err = report::write_all(&blocker.join("out"), &outcome(), &secrets()).unwrap_err();
    assert!(err.to_string().contains("file/out"), "{err}");
}

/// `base` compared with itself made half as slow again (every raw p99 × 1.5), at a 20%
/// tolerance and the given floor.
fn slower_by_half(base: &summary::Summary, floor_ms: f64) -> Vec<report::Delta> {
    let mut slower = base.clone();
    for op in slower.operations.values_mut() {
        op.latency_ms.raw.p99 *= 1.5;
    }
    let tolerance = Tolerance {
        fraction: 0.2,
        floor_ms,
    };
    slower.compare(base, tolerance)
}

#[test]
fn baseline_round_trips_through_summary_read() {
    let (_dir, files) = write_all();
    let base = summary::read(named(&files, "summary.json")).unwrap();
    let deltas = slower_by_half(&base, 0.0);
    let regressed: Vec<_> = deltas
        .iter()
        .filter(|d| d.regressed)
        .map(|d| (d.op.as_str(), d.percentile.as_str()))
        .collect();
    assert_eq!(
        regressed,
        [
            ("acceptEngagement", "p99"),
            ("getEngagement", "p99"),
            ("sendMessage", "p99")
        ]
    );
}

#[test]
fn baseline_ignores_changes_under_the_floor_and_long_poll_holds() {
    let (_dir, files) = write_all();
    let mut base = summary::read(named(&files, "summary.json")).unwrap();
    let any = base.operations.values().next().cloned().unwrap();
    base.operations.insert("messages.get".into(), any);
    let largest = base
        .operations
        .values()
        .map(|o| o.latency_ms.raw.p99)
        .fold(0.0, f64::max);
    // Every change is under a floor as large as the largest p99 itself.
    assert!(slower_by_half(&base, largest).iter().all(|d| !d.regressed));
    // Without a floor the same changes regress, except the long-poll hold.
    let deltas = slower_by_half(&base, 0.0);
    assert!(deltas.iter().any(|d| d.regressed));
    assert!(deltas.iter().all(|d| d.op != "messages.get"));
}

/// Validates with `xmllint --schema` when libxml2-utils is installed; always checks the
/// structure the schema pins with a small quick-xml walk, so the test means something without it.
#[test]
fn junit_xml_matches_the_junit_schema() {
    let (_dir, files) = write_all();
    let junit = named(&files, "junit.xml");
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit.xsd");
    match std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(junit)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "xmllint rejected junit.xml:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("xmllint not available ({e}); structural check only"),
    }
    let xml = std::fs::read_to_string(junit).unwrap();
    let suites = structure(&xml);
    let summary: Vec<_> = suites
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.tests,
                s.failures,
                s.errors,
                s.cases.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("contracts", 3, 3, 0, 3),
            ("api-windows", 1, 1, 0, 1),
            ("thresholds", 3, 2, 0, 3),
            ("baseline", 3, 0, 0, 3),
        ]
    );
    for s in &suites {
        assert_eq!(
            s.failures,
            s.cases.iter().filter(|c| *c == "failure").count()
        );
        assert_eq!(s.errors, s.cases.iter().filter(|c| *c == "error").count());
    }
}

struct SuiteShape {
    name: String,
    tests: usize,
    failures: usize,
    errors: usize,
    /// Per testcase: "ok", "failure" or "error".
    cases: Vec<String>,
}

/// testsuites > testsuite(name, tests, failures, errors) > testcase(name) > failure|error.
fn structure(xml: &str) -> Vec<SuiteShape> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut suites: Vec<SuiteShape> = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    loop {
        let ev = reader.read_event().unwrap();
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(e) = start else { continue };
        let tag = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let attr = |k: &str| {
            e.attributes()
                .map(|a| a.unwrap())
                .find(|a| a.key.as_ref() == k.as_bytes())
                .map(|a| a.unescape_value().unwrap().into_owned())
        };
        let parent = stack.last().map(String::as_str);
        match (parent, tag.as_str()) {
            (None, "testsuites") => {}
            (Some("testsuites"), "testsuite") => suites.push(SuiteShape {
                name: attr("name").expect("testsuite@name"),
                tests: attr("tests").unwrap().parse().unwrap(),
                failures: attr("failures").unwrap().parse().unwrap(),
                errors: attr("errors").unwrap().parse().unwrap(),
                cases: vec![],
            }),
            (Some("testsuite"), "testcase") => {
                assert!(attr("name").is_some(), "testcase without a name");
                suites.last_mut().unwrap().cases.push("ok".into());
            }
            (Some("testcase"), kind @ ("failure" | "error")) => {
                *suites.last_mut().unwrap().cases.last_mut().unwrap() = kind.into();
            }
            (Some("testcase" | "testsuite"), "system-out" | "system-err") => {}
            (p, t) => panic!("unexpected <{t}> inside {p:?}"),
        }
        if !empty {
            stack.push(tag);
        }
    }
    suites
}

#[test]
fn hlog_decodes_to_the_in_memory_histograms() {
    let (_dir, files) = write_all();
    let o = outcome();
    let back = report::hlog::read_hlog(named(&files, "histograms.hlog")).unwrap();
    assert_eq!(back.per_tag.len(), o.data.ops.len());
    assert!(back.intervals >= o.data.ops.len());
    for (op, stats) in &o.data.ops {
        let h = &back.per_tag[op];
        assert_eq!(h.len(), stats.latency.raw.len(), "{op}");
        for q in [0.0, 0.5, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                h.value_at_quantile(q),
                stats.latency.raw.value_at_quantile(q),
                "{op} q{q}"
            );
        }
    }
}

#[test]
fn hgrm_files_exist_per_operation() {
    let (_dir, files) = write_all();
    for op in ["acceptEngagement", "getEngagement", "sendMessage"] {
        for suffix in ["hgrm", "corrected.hgrm"] {
            let text = std::fs::read_to_string(named(&files, &format!("{op}.{suffix}"))).unwrap();
            assert!(
                text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n")
            );
            assert!(text.contains("#[Max     = "));
        }
    }
}

/// Golden file: regenerate with `UPDATE_GOLDEN=1 cargo test --test report_outputs`.
#[test]
fn junit_xml_golden() {
    let xml = report::junit::render(&outcome(), &secrets()).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit_golden.xml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &xml).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(xml, expected);
}

/// `xmllint --noout FILE` (well-formedness) when it is installed; quick-xml's reader always.
fn assert_well_formed_xml(path: &Path) {
    if let Ok(out) = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg(path)
        .output()
    {
        assert!(
            out.status.success(),
            "xmllint rejected {}:\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{} is not well-formed: {e}\n{xml}", path.display()),
        }
    }
}

#[test]
fn a_one_character_token_keeps_junit_xml_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // One-character tokens: plain substring masking used to turn `<testcase` into `<****es…`.
    let files = report::write_all(&out, &outcome(), &Secrets::new(["a", "t", "1"])).unwrap();
    let junit = named(&files, "junit.xml");
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit.xsd");
    if let Ok(out) = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(junit)
        .output()
    {
        assert!(
            out.status.success(),
            "xmllint rejected junit.xml:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_well_formed_xml(junit);
    assert_eq!(structure(&std::fs::read_to_string(junit).unwrap()).len(), 4);
    for name in ["summary.json", "rundata.json"] {
        let text = std::fs::read_to_string(named(&files, name)).unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "{name} is not valid JSON:\n{text}"
        );
    }
}

#[test]
fn a_one_letter_client_secret_leaves_usable_intact() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = outcome();
    o.meta.suite = "usable".into();
    let files = report::write_all(&dir.path().join("run"), &o, &Secrets::new(["b"])).unwrap();
    for name in ["summary.txt", "summary.json", "report.html", "junit.xml"] {
        let text = std::fs::read_to_string(named(&files, name)).unwrap();
        assert!(text.contains("usable"), "{name}:\n{text}");
        assert!(!text.contains("usa****le"), "{name}:\n{text}");
    }
    let plain = report::text::render(&o, &Secrets::default());
    assert_eq!(report::text::render(&o, &Secrets::new(["b"])), plain);
}

#[test]
fn a_real_secret_in_its_fields_never_reaches_a_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = outcome();
    let secret = "Tr0ub4dor&3-client-secret";
    for by_op in o.data.checks.values_mut() {
        for cs in by_op.values_mut() {
            for ex in &mut cs.examples {
                ex.request_line
                    .push_str(&format!("&client_secret={secret}"));
                ex.response_excerpt =
                    format!("{{\"password\":\"short\",\"client_secret\":\"{secret}\"}}");
            }
        }
    }
    o.meta.harness_error = Some(format!("token request refused: client_secret={secret}"));
    let files = report::write_all(&dir.path().join("run"), &o, &Secrets::new([secret])).unwrap();
    for path in &files {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        for leak in [secret, "Tr0ub4dor&amp;3", "Tr0ub4dor\\u00263", "\"short\""] {
            assert!(!text.contains(leak), "{} holds {leak:?}", path.display());
        }
    }
    assert_well_formed_xml(named(&files, "junit.xml"));
}
