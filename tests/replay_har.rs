//! `replay` of HARs made by real third-party tools (tests/har_common: Playwright + Chromium,
//! mitmproxy) against the embedded simulator: 0 differences; against the simulator with
//! faults (a dropped field, a renamed field, a changed status): exactly those differences,
//! named by operation and JSON path, exit 1, nothing on the untouched operations. No secret
//! of the recording (nor a fresh token) reaches an output file. Bad input exits 2 naming the
//! file and entry; an unreachable target exits 3.

use std::path::Path;

use crate::har_common::{
    config_of, record_browser, record_mitmproxy, record_mitmproxy_with, secrets_in,
};
use aeapi_harness::app::replay::{ReplayConfig, ReplayTarget, execute_plan, plan};
use aeapi_harness::app::{self, Console};
use aeapi_harness::cli::Config;
use aeapi_harness::exit::Exit;
use aeapi_harness::replay::{self, Timing};
use aeapi_harness::runner::plan::TargetPlan;
use aeapi_harness::sim::FaultConfig;
use serde_json::Value;

/// What one replay printed and wrote.
struct Replayed {
    exit: Exit,
    out: String,
    err: String,
    /// `replay.json`, or `Null`.
    json: Value,
}

impl Replayed {
    /// `(operation, kind, path or message)` of every difference, in report order.
    fn differences(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for op in self.json["operations"].as_array().into_iter().flatten() {
            for d in op["differences"].as_array().into_iter().flatten() {
                let at = d["path"].as_str().or(d["message"].as_str()).unwrap_or("");
                out.push((
                    op["operation"].as_str().unwrap_or("").to_string(),
                    d["kind"].as_str().unwrap_or("").to_string(),
                    at.to_string(),
                ));
            }
        }
        out
    }
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| vars.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
}

/// Replays `har` into `out` against `target`, the embedded simulator given `faults` (YAML).
fn replay(har: &Path, out: &Path, target: ReplayTarget, faults: Option<&str>) -> Replayed {
    replay_timed(har, out, target, faults, Timing::Fast)
}

fn replay_timed(
    har: &Path,
    out: &Path,
    target: ReplayTarget,
    faults: Option<&str>,
    timing: Timing,
) -> Replayed {
    let bytes = std::fs::read(har).expect("har");
    let rec = replay::load(har, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let c = ReplayConfig {
        har: har.to_path_buf(),
        target,
        out: Some(out.to_path_buf()),
        timing,
    };
    let vars = env(&[
        ("AEAPI_CLIENT_ID", "ceapiClientId"),
        ("AEAPI_CLIENT_SECRET", "ceapiClientSecret"),
        ("AGENT_PASSWORD", "pw-for-the-replay"),
    ]);
    let mut p = plan(&c, &rec, &vars).unwrap_or_else(|e| panic!("{e}"));
    if let (Some(f), TargetPlan::Embedded(config)) = (faults, &mut p.target) {
        config.faults = serde_yaml::from_str::<FaultConfig>(f).expect("faults");
    }
    let (mut console, o, e) = Console::buffered(0);
    let result = execute_plan(&mut console, &rec, p);
    let exit = app::finish(&mut console, result);
    let json = std::fs::read_to_string(out.join("replay.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Replayed {
        exit,
        out: o.text(),
        err: e.text(),
        json,
    }
}

/// No recorded secret, no fresh token (JWT-shaped) and no password in the replay's outputs.
fn assert_no_secrets(har: &Path, out: &Path) {
    let mut secrets = secrets_in(har);
    secrets.push("pw-for-the-replay".into());
    assert!(secrets.len() >= 4, "the recording carried secrets");
    for name in ["junit.xml", "replay.json"] {
        let t = std::fs::read_to_string(out.join(name)).expect("output written");
        for s in &secrets {
            assert!(!t.contains(s.as_str()), "{name} holds a secret");
        }
        assert!(!t.contains("eyJ"), "{name} holds a token");
    }
}

#[test]
fn the_cli_parses_replay_with_its_flags() {
    match config_of(&[
        "aeapi-harness",
        "replay",
        "desk.har",
        "--target",
        "http://127.0.0.1:9/",
        "--out",
        "r",
        "--timing",
        "recorded",
    ]) {
        Ok(Config::Replay(c)) => {
            assert_eq!(c.target, ReplayTarget::Url("http://127.0.0.1:9".into()));
            assert_eq!(c.timing, Timing::Recorded);
            assert_eq!(c.out.as_deref(), Some(Path::new("r")));
        }
        other => panic!("not a replay: {other:?}"),
    }
    assert!(matches!(
        config_of(&["aeapi-harness", "replay", "desk.har"]),
        Ok(Config::Replay(ReplayConfig {
            target: ReplayTarget::Embedded,
            timing: Timing::Fast,
            ..
        }))
    ));
}

/// A dropped field (preLoginStatus), a renamed one (login) and a changed status (summaryData).
const FAULTS: &str = "ops:
  - op: preLoginStatus
    drift: [{field: hasActiveSession, action: drop}]
  - op: login
    drift: [{field: publicUserId, action: rename, name: publicId}]
  - op: summaryData
    error_rate: 1
    error_status: 503
";

#[test]
fn a_browser_recording_replays_with_no_difference_and_faults_show_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(har) = record_browser(dir.path()) else {
        return;
    };
    let clean = dir.path().join("clean");
    let r = replay(&har, &clean, ReplayTarget::Embedded, None);
    assert_eq!(r.exit, Exit::Passed, "{}{}", r.out, r.err);
    assert_eq!(r.differences(), vec![], "{}", r.out);
    assert_eq!(r.json["summary"]["differences"], 0);
    assert!(
        r.out.contains(" 0 differences in 0 operations"),
        "{}",
        r.out
    );
    let ops: Vec<&str> = r.json["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(|o| o["operation"].as_str())
        .collect();
    for op in [
        "token",
        "login",
        "messages.get",
        "acceptEngagement",
        "denyEngagement",
        "closeEngagement",
        "summaryData",
    ] {
        assert!(ops.contains(&op), "{op} replayed: {ops:?}");
    }
    let junit = std::fs::read_to_string(clean.join("junit.xml")).expect("junit");
    assert_eq!(junit.matches("<testcase ").count(), ops.len(), "{junit}");
    assert_no_secrets(&har, &clean);

    let faulted = dir.path().join("faulted");
    let r = replay(&har, &faulted, ReplayTarget::Embedded, Some(FAULTS));
    assert_eq!(r.exit, Exit::Failed, "{}{}", r.out, r.err);
    assert_eq!(
        r.differences(),
        vec![
            (
                "preLoginStatus".into(),
                "field_missing".into(),
                "/hasActiveSession".into()
            ),
            (
                "login".into(),
                "field_missing".into(),
                "/publicUserId".into()
            ),
            ("login".into(), "field_added".into(), "/publicId".into()),
            (
                "summaryData".into(),
                "status".into(),
                "status 503, recorded 200".into()
            ),
        ],
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("  - field missing at /publicUserId (entries["),
        "{}",
        r.out
    );
    let junit = std::fs::read_to_string(faulted.join("junit.xml")).expect("junit");
    assert_eq!(junit.matches("<failure ").count(), 3, "{junit}");
    assert_no_secrets(&har, &faulted);
}

/// Paced as recorded (`--timing recorded`): the replay takes at least the recording's span.
#[test]
fn a_mitmproxy_recording_replays_paced_with_no_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((har, _)) = record_mitmproxy(dir.path()) else {
        return;
    };
    let bytes = std::fs::read(&har).expect("har");
    let rec = replay::load(&har, &bytes).expect("loads");
    let span = rec.steps.last().map_or(0.0, |l| l.started_ms) - rec.steps[0].started_ms;
    let out = dir.path().join("replay");
    let t0 = std::time::Instant::now();
    let r = replay_timed(&har, &out, ReplayTarget::Embedded, None, Timing::Recorded);
    let took = t0.elapsed().as_secs_f64() * 1e3;
    assert!(took >= span, "paced: {took} ms for a {span} ms recording");
    assert!(r.json["timing"] == "recorded", "{}", r.json);
    assert_eq!(r.exit, Exit::Passed, "{}{}", r.out, r.err);
    assert_eq!(r.differences(), vec![], "{}", r.out);
    assert!(
        r.json["summary"]["calls"].as_u64().unwrap_or(0) >= 10,
        "{}",
        r.json
    );
    assert_no_secrets(&har, &out);
}

/// Customers the harness drove through the customer-side calls are replayed too (the embedded
/// simulator then starts none of its own), and their engagements are the agent's.
#[test]
fn a_recording_with_customer_calls_replays_them_with_no_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let customers = "{rate: 1/s, lines: 1..1, think: constant 300ms, patience: 5s}";
    let Some((har, _)) = record_mitmproxy_with(dir.path(), Some(customers)) else {
        return;
    };
    let bytes = std::fs::read(&har).expect("har");
    let rec = replay::load(&har, &bytes).expect("loads");
    assert!(rec.has_customer_calls(), "the harness drove customers");
    let out = dir.path().join("replay");
    let r = replay(&har, &out, ReplayTarget::Embedded, None);
    assert_eq!(r.exit, Exit::Passed, "{}{}", r.out, r.err);
    assert_eq!(r.differences(), vec![], "{}", r.out);
    let ops = r.json["operations"].to_string();
    assert!(ops.contains("acceptEngagement"), "{ops}");
}

fn run_cli(args: &[&str], vars: &[(&str, &str)]) -> (Exit, String) {
    let Ok(Config::Replay(c)) = config_of(args) else {
        panic!("a replay")
    };
    let bytes = std::fs::read(&c.har).unwrap_or_default();
    let (mut console, _, e) = Console::buffered(0);
    let result = match replay::load(&c.har, &bytes) {
        Ok(rec) => plan(&c, &rec, &env(vars)).and_then(|p| execute_plan(&mut console, &rec, p)),
        Err(_) => app::replay::execute(&mut console, &c),
    };
    let exit = app::finish(&mut console, result);
    (exit, e.text())
}

#[test]
fn bad_input_exits_2_naming_the_file_and_entry_and_a_dead_target_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::write(path("text.har"), "hello").expect("write");
    let (exit, err) = run_cli(&["aeapi-harness", "replay", &path("text.har")], &[]);
    assert_eq!(exit, Exit::Usage, "{err}");
    assert!(err.contains("text.har: not JSON"), "{err}");
    let entry = r#"{"startedDateTime":"2026-12-01T06:00:00Z","time":1,
        "request":{"method":"POST","url":"http://h/engagementAPI/v2/agent/login","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"queryString":[],"headersSize":-1,"bodySize":0},
        "cache":{},"timings":{"send":0,"wait":1,"receive":0}}"#;
    std::fs::write(
        path("no-response.har"),
        format!(r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"entries":[{entry}]}}}}"#),
    )
    .expect("write");
    let (exit, err) = run_cli(&["aeapi-harness", "replay", &path("no-response.har")], &[]);
    assert_eq!(exit, Exit::Usage, "{err}");
    assert!(
        err.contains("no-response.har: entries[0]: missing field `response`"),
        "{err}"
    );

    // A real call (a token answered 200), replayed against a port nobody listens on.
    let answered = entry.replace(
        r#""cache":{}"#,
        r#""response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"content":{"size":2,"mimeType":"application/json","text":"{}"},"redirectURL":"","headersSize":-1,"bodySize":2},"cache":{}"#,
    );
    std::fs::write(
        path("one.har"),
        format!(r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"entries":[{answered}]}}}}"#),
    )
    .expect("write");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let out = path("dead");
    let vars = [
        ("AEAPI_CLIENT_ID", "id"),
        ("AEAPI_CLIENT_SECRET", "secret-4711-xyz"),
        ("AGENT_PASSWORD", "pw-4711-xyz"),
    ];
    let args = [
        "aeapi-harness",
        "replay",
        &path("one.har"),
        "--target",
        &dead,
        "--out",
        &out,
    ];
    let (exit, err) = run_cli(&args, &vars);
    assert_eq!(exit, Exit::Harness, "{err}");
    assert!(err.contains("is unreachable: entries[0] `login`"), "{err}");
    let json = std::fs::read_to_string(Path::new(&out).join("replay.json")).expect("written");
    assert!(json.contains("unreachable"), "{json}");
    assert!(!json.contains("secret-4711-xyz") && !err.contains("pw-4711-xyz"));
    // Credentials come from the environment only: missing ones are a usage error.
    let (exit, err) = run_cli(&args, &[]);
    assert_eq!(exit, Exit::Usage, "{err}");
    assert!(
        err.contains("set AEAPI_CLIENT_ID in the environment"),
        "{err}"
    );
}
