//! `import` on HARs made by real third-party tools against the simulator, never written by hand:
//! Playwright driving Debian's Chromium on a desktop page (tests/har_tools/record_browser.py),
//! and mitmproxy's reverse proxy (`hardump`) in front of the simulator while curl and the
//! harness itself drive a chat. Each HAR is imported; the suite must validate and `run
//! --target embedded` must pass; no secret of the recording may reach an output file.
//! Malformed inputs (derived from the real recording where they need one) exit 2 naming the
//! file and entry. When a tool is missing the test says "skipped: ... not installed".

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::har_common::{
    assert_no_secret_in, config_of, harness, record_browser, record_mitmproxy, secrets_in, text,
};
use aeapi_harness::app::{self, Console, import::ImportConfig};
use aeapi_harness::cli::Config;
use aeapi_harness::sim;
use serde_json::Value;

/// Where in a HAR's `entries` the requests whose URL contains `part` are.
fn entries_with(entries: &[Value], part: &str) -> Vec<usize> {
    (0..entries.len())
        .filter(|&i| {
            entries[i]["request"]["url"]
                .as_str()
                .is_some_and(|u| u.contains(part))
        })
        .collect()
}

/// Asserts that `text` holds every one of `parts`.
fn assert_has(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "no {p:?} in:\n{text}");
    }
}

/// Runs `import` in process (the command layer's `app::import`, as the CLI calls it): exit code, stdout,
/// stderr. In process because CI here shares one target directory between checkouts, whose
/// builds replace the binary under a running test.
fn import(har: &Path, out: &Path, csv: Option<&Path>) -> (Option<i32>, String, String) {
    let cfg = ImportConfig {
        har: har.to_path_buf(),
        out: Some(out.to_path_buf()),
        agents_csv: csv.map(Path::to_path_buf),
    };
    let (mut console, o, e) = Console::buffered(0);
    let result = app::import::execute(&mut console, &cfg);
    let exit = app::finish(&mut console, result);
    (Some(i32::from(exit.code())), o.text(), e.text())
}

#[test]
fn the_cli_parses_import_with_its_flags() {
    match config_of(&[
        "aeapi-harness",
        "import",
        "desk.har",
        "--out",
        "s.yaml",
        "--agents-csv",
        "a.csv",
    ]) {
        Ok(Config::Import(c)) => {
            assert_eq!(c.har, PathBuf::from("desk.har"));
            assert_eq!(c.out, Some(PathBuf::from("s.yaml")));
            assert_eq!(c.agents_csv, Some(PathBuf::from("a.csv")));
        }
        other => panic!("not an import: {other:?}"),
    }
}

/// Asserts that `o` exited 0; otherwise shows its output and `context`.
fn assert_exit_0(o: &Output, context: &str) {
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}{err}\n{context}");
}

/// Imports `har` into `dir`, validates and runs the suite against the embedded simulator; the
/// import must name what it left out: the Basic header and the login password every recording
/// holds, and `removed`. The suite's YAML.
fn import_validate_run(har: &Path, dir: &Path, removed: &[&str]) -> String {
    let suite = dir.join("imported.yaml");
    let csv = dir.join("agents.csv");
    let (code, stdout, stderr) = import(har, &suite, Some(&csv));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let yaml = std::fs::read_to_string(&suite).expect("suite written");
    let v = harness(&["validate", suite.to_str().expect("utf-8")], &[]);
    assert_exit_0(&v, &yaml);
    let report = dir.join("report");
    let r = harness(
        &[
            "-q",
            "run",
            suite.to_str().expect("utf-8"),
            "--target",
            "embedded",
            "--duration",
            "6s",
            "--out",
            report.to_str().expect("utf-8"),
        ],
        &[("AGENT_PASSWORD", "pw-for-the-run")],
    );
    let summary = std::fs::read_to_string(report.join("summary.txt")).unwrap_or_default();
    assert_exit_0(&r, &format!("{summary}\n{yaml}"));
    assert_no_secret_in(&[suite, csv], &secrets_in(har));
    assert_has(
        &stdout,
        &[
            "Authorization header (Basic) ×",
            "`login` request body field `password` ×1",
        ],
    );
    assert_has(&stdout, removed);
    yaml
}

/// `uniform Ams..Bms` or `constant Xms` → (low, high) in ms.
fn think_bounds(yaml: &str) -> (f64, f64) {
    let line = yaml
        .lines()
        .find(|l| l.trim_start().starts_with("think:"))
        .expect("a think line");
    let value = line.split('#').next().unwrap_or_default();
    let ms = |s: &str| -> f64 {
        let s = s.trim();
        match s.strip_suffix("ms") {
            Some(n) => n.parse().expect("ms"),
            None => s.trim_end_matches('s').parse::<f64>().expect("s") * 1000.0,
        }
    };
    let rest = value.trim().trim_start_matches("think:").trim();
    if let Some(r) = rest.strip_prefix("uniform ") {
        let (a, b) = r.split_once("..").expect("range");
        (ms(a), ms(b))
    } else {
        let x = ms(rest.trim_start_matches("constant "));
        (x, x)
    }
}

fn import_exit(har: &Path, dir: &Path) -> (Option<i32>, String) {
    let (code, _, err) = import(har, &dir.join("bad.yaml"), None);
    (code, err)
}

#[test]
fn a_browser_recording_imports_validates_runs_and_keeps_the_think_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(har) = record_browser(dir.path()) else {
        return;
    };
    let yaml = import_validate_run(
        &har,
        dir.path(),
        &[
            "Authorization header (Basic) ×1",
            "Authorization header (Bearer) ×",
            "1 other entries left out",
        ],
    );
    assert!(yaml.contains("(written by Playwright "), "{yaml}");
    // The page waits 2 s between an offer and its answer (3 offers: two accepts, one deny).
    let (lo, hi) = think_bounds(&yaml);
    let centre = (lo + hi) / 2.0;
    assert!(lo >= 1950.0 && hi <= 2600.0, "think {lo}..{hi} ms\n{yaml}");
    assert!(
        (1960.0..2200.0).contains(&centre),
        "think centred on {centre} ms"
    );
    eprintln!("recorded think: {lo}..{hi} ms, centre {centre} ms");
    assert_has(
        &yaml,
        &[
            "offer seen → accept or deny: 3 sample(s)",
            "deny: 33.3%   # 1 of 3 offers denied",
            "messages: 1..2",
            "      verifySession: ",
        ],
    );
    assert!(yaml.contains("long_poll_hold: 10"), "a ~1 s hold: {yaml}");
    let csv = std::fs::read_to_string(dir.path().join("agents.csv")).expect("csv");
    assert_eq!(csv, "username\nagent1\n");

    // Malformed variants of this real recording.
    let bytes = std::fs::read(&har).expect("har");
    let cut = dir.path().join("cut.har");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let (code, err) = import_exit(&cut, dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cut.har: truncated: the JSON ends early"),
        "{err}"
    );

    let mut doc: Value = serde_json::from_slice(&bytes).expect("json");
    let no_response = dir.path().join("no-response.har");
    let mut broken = doc.clone();
    if let Some(e) = broken["log"]["entries"][3].as_object_mut() {
        e.remove("response");
    }
    std::fs::write(&no_response, broken.to_string()).expect("write");
    let (code, err) = import_exit(&no_response, dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no-response.har: entries[3]: missing field `response`"),
        "{err}"
    );

    // A long-poll still pending when the HAR was saved (status 0): left out, not an error.
    let mut pending = doc.clone();
    let polls = pending["log"]["entries"].as_array_mut().expect("entries");
    let last_poll = *entries_with(polls, "/agent/messages?")
        .last()
        .expect("a poll");
    polls[last_poll]["response"]["status"] = Value::from(0);
    let pending_har = dir.path().join("pending.har");
    std::fs::write(&pending_har, pending.to_string()).expect("write");
    let (code, stdout, stderr) = import(&pending_har, &dir.path().join("pending.yaml"), None);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "1 AEAPI call(s) without an answer (aborted, or pending when the HAR was saved) left out: entries[{last_poll}]"
        )),
        "{}",
        stdout
    );

    let entries = doc["log"]["entries"].as_array_mut().expect("entries");
    let login = *entries_with(entries, "/agent/login")
        .first()
        .expect("a login entry");
    entries[login]["response"]["content"]["text"] = Value::from("//79/A==");
    entries[login]["response"]["content"]["encoding"] = Value::from("base64");
    let binary = dir.path().join("binary.har");
    std::fs::write(&binary, doc.to_string()).expect("write");
    let (code, err) = import_exit(&binary, dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "binary.har: entries[{login}]: the response of `login` is binary (4 bytes), not JSON or XML"
        )),
        "{err}"
    );
}

#[test]
fn a_mitmproxy_recording_of_a_harness_run_imports_validates_and_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((har, upstream)) = record_mitmproxy(dir.path()) else {
        return;
    };
    let yaml = import_validate_run(&har, dir.path(), &["cookie `JSESSIONID` ×1"]);
    assert!(yaml.contains("(written by mitmproxy "), "{yaml}");
    assert!(
        yaml.contains(&format!("api: \"{upstream}\"")),
        "the upstream, not the proxy: {yaml}"
    );
    assert!(yaml.contains("      verifySession: "), "{yaml}");
    assert_no_secret_in(
        &[dir.path().join("imported.yaml")],
        &[
            "cookie-secret-4711".to_string(),
            sim::DEV_CLIENT_SECRET.to_string(),
            "agent-password".into(),
        ],
    );
}

#[test]
fn inputs_that_are_not_hars_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "text.har",
            b"hello",
            "text.har: not JSON (expected value at line 1 column 1)",
        ),
        (
            "array.har",
            b"[1]",
            "array.har: not a HAR: the top level is not a JSON object",
        ),
        (
            "empty.har",
            b"{\"log\":{\"version\":\"1.2\",\"entries\":[]}}",
            "empty.har: no AEAPI call among its 0 entries",
        ),
        (
            "old.har",
            b"{\"log\":{\"version\":\"1.1\",\"entries\":[]}}",
            "old.har: unsupported HAR version `1.1`",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        let (code, err) = import_exit(&p, dir.path());
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
    let (code, err) = import_exit(&dir.path().join("missing.har"), dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.har: cannot read it"), "{err}");
    // A 300 MB file (sparse: no disk, never read) is refused before reading.
    let big = dir.path().join("big.har");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(300 * 1024 * 1024))
        .expect("sparse file");
    let (code, err) = import_exit(&big, dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("big.har: it is 314572800 bytes; import reads at most 268435456 bytes"),
        "{err}"
    );
}
