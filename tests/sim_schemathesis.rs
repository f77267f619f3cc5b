//! The simulator's OpenAPI document checked by third-party tools, against `simulate` started on
//! 127.0.0.1 port 0 (issue 16, item 7, and Schemathesis in CI):
//! - `openapi-spec-validator` (PyPI) validates the document the running simulator serves;
//! - Schemathesis (PyPI) runs every check on every operation; any failure that
//!   `ci/schemathesis-allow.yaml` does not list fails the test, and that list may name only
//!   positive_data_acceptance (content_type_conformance and negative_data_rejection must pass
//!   everywhere).
//!
//! Both tools are pinned and installed by `.ci/run`; when one is missing its test prints
//! "skipped: ..." and returns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::sim_banner::start_with;

/// Schemathesis' examples per operation and phase: about 100 s of requests on this machine
/// (2 shared cores, debug build), under the 3 minutes the run is allowed.
const MAX_EXAMPLES: &str = "30";
/// The whole Schemathesis run, killed past this.
const RUN_LIMIT: Duration = Duration::from_secs(240);
/// The only check the allow-list may name.
const ALLOWED_CHECK: &str = "positive_data_acceptance";

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `PROGRAM ARGS` under coreutils' `timeout`: killed when it runs past `limit`.
fn bounded(program: &str, limit: Duration) -> Command {
    let mut c = Command::new("timeout");
    c.arg(limit.as_secs().to_string())
        .arg(program)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// The API base URL from the banner (`  api base:      http://127.0.0.1:PORT`).
fn api_base(banner: &[String]) -> String {
    banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("api base:"))
        .map(|u| u.trim().to_string())
        .unwrap_or_else(|| panic!("no api base in the banner: {banner:?}"))
}

/// A runtime for the few HTTP calls these tests make themselves.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

#[test]
fn item7_openapi_spec_validator_accepts_the_served_document() {
    if !have("openapi-spec-validator", "--version") {
        eprintln!("skipped: openapi-spec-validator (PyPI) not installed; .ci/run installs it");
        return;
    }
    let (_sim, banner) = start_with(&[]);
    let url = format!("{}/openapi.json", api_base(&banner));
    let doc: Value = runtime().block_on(async {
        let r = reqwest::get(&url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        r.json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, doc.to_string()).unwrap_or_else(|e| panic!("write: {e}"));
    let out = bounded("openapi-spec-validator", Duration::from_secs(120))
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("run openapi-spec-validator: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("openapi-spec-validator: {}", stdout.trim());
    assert!(
        out.status.success() && stdout.trim().ends_with(": OK"),
        "the document is not valid OpenAPI:\n{stdout}\n{stderr}"
    );
    assert_eq!(doc["openapi"], "3.0.3");
}

/// One entry of `ci/schemathesis-allow.yaml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Allowed {
    operation: String,
    check: String,
    reason: String,
}

fn allow_list() -> Vec<Allowed> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/schemathesis-allow.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list: Vec<Allowed> =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for a in &list {
        assert_eq!(
            a.check,
            ALLOWED_CHECK,
            "{}: only {ALLOWED_CHECK} may be allow-listed, not {} ({})",
            path.display(),
            a.check,
            a.operation
        );
        assert!(a.reason.len() > 20, "{}: say why ({a:?})", path.display());
    }
    list
}

/// Every failed check in Schemathesis' NDJSON events: (check, operation) → first message.
fn failures(ndjson: &str) -> BTreeMap<(String, String), String> {
    fn walk(v: &Value, out: &mut BTreeMap<(String, String), String>) {
        match v {
            Value::Object(o) => {
                if o.get("status").and_then(Value::as_str) == Some("failure")
                    && let (Some(check), Some(failure)) = (
                        o.get("name").and_then(Value::as_str),
                        o.get("failure_info").map(|f| &f["failure"]),
                    )
                    && let Some(op) = failure["operation"].as_str()
                {
                    let message = failure["message"].as_str().unwrap_or("").to_string();
                    out.entry((check.to_string(), op.to_string()))
                        .or_insert(message);
                }
                o.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for line in ndjson.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("NDJSON line: {e}: {line}"));
        walk(&v, &mut out);
    }
    out
}

/// The one file in `dir` whose name starts with `prefix`.
fn report(dir: &Path, prefix: &str) -> String {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = entries
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no {prefix}* report in {}", dir.display()));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn schemathesis_finds_nothing_outside_the_reviewed_allow_list() {
    if !have("schemathesis", "--version") {
        eprintln!("skipped: schemathesis (PyPI) not installed; .ci/run installs it");
        return;
    }
    let allowed = allow_list();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    // Tokens outlive the run, so Schemathesis needs no refresh hook.
    let sim_yaml = dir.path().join("sim.yaml");
    std::fs::write(&sim_yaml, "token_ttl: 30m\n").unwrap_or_else(|e| panic!("write: {e}"));
    let sim_arg = sim_yaml.to_string_lossy().into_owned();
    let (_sim, banner) = start_with(&["--config", &sim_arg]);
    let base = api_base(&banner);
    let token_url = format!("{base}/oauth-server/oauth/token");
    let token = runtime().block_on(async {
        let r = reqwest::Client::new()
            .post(&token_url)
            .basic_auth(
                aeapi_harness::sim::DEV_CLIENT_ID,
                Some(aeapi_harness::sim::DEV_CLIENT_SECRET),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {token_url}: {e}"));
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("token: {e}"));
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {body}"))
            .to_string()
    });
    // The document's two security schemes; the secrets travel in the environment only.
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        "[auth.openapi.bearer]\nbearer = \"${AEAPI_ST_TOKEN}\"\n\n\
         [auth.openapi.clientBasic]\nusername = \"ceapiClientId\"\n\
         password = \"${AEAPI_ST_SECRET}\"\n",
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    let reports = dir.path().join("reports");
    let started = Instant::now();
    let out = bounded("schemathesis", RUN_LIMIT)
        .current_dir(dir.path())
        .env("AEAPI_ST_TOKEN", &token)
        .env("AEAPI_ST_SECRET", aeapi_harness::sim::DEV_CLIENT_SECRET)
        .env("NO_COLOR", "1")
        .args(["run", &format!("{base}/openapi.json")])
        .args([
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "1",
        ])
        // One worker: Hypothesis' lambda-source cache is not thread-safe (runtime errors).
        .args(["--workers", "1", "--generation-database", "none"])
        .args(["--continue-on-failure", "--report", "json,ndjson"])
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap_or_else(|e| panic!("run schemathesis: {e}"));
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(&report(&reports, "json-"))
        .unwrap_or_else(|e| panic!("Schemathesis' JSON report: {e}\n{stdout}"));
    eprintln!(
        "schemathesis: {} test cases on {} operations in {:.0} s; exit {:?}",
        summary["test_cases"]["generated"],
        summary["operations"]["tested"],
        elapsed.as_secs_f64(),
        out.status.code()
    );
    assert_eq!(
        summary["complete"], true,
        "the run did not complete within {RUN_LIMIT:?}:\n{stdout}"
    );
    assert_eq!(summary["operations"]["tested"], 53, "{stdout}");
    assert_eq!(summary["errors"], Value::Array(vec![]), "{stdout}");

    let found = failures(&report(&reports, "ndjson-"));
    let mut per_check: BTreeMap<&str, usize> = BTreeMap::new();
    for (check, _) in found.keys() {
        *per_check.entry(check).or_default() += 1;
    }
    eprintln!("failing operations per check: {per_check:?}");
    let listed: BTreeSet<(&str, &str)> = allowed
        .iter()
        .map(|a| (a.check.as_str(), a.operation.as_str()))
        .collect();
    let unexpected: Vec<String> = found
        .iter()
        .filter(|((check, op), _)| !listed.contains(&(check.as_str(), op.as_str())))
        .map(|((check, op), msg)| format!("{check} on {op}: {msg}"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "Schemathesis failures not in ci/schemathesis-allow.yaml:\n{}\n\n{stdout}",
        unexpected.join("\n")
    );
    for (check, op) in &listed {
        if !found.contains_key(&(check.to_string(), op.to_string())) {
            eprintln!("note: allow-listed {check} on {op} did not fail in this run");
        }
    }
}
