//! `conform` against a target that is down: exit code 3 and a message naming the URL, no cases.

use crate::conform_common::{run_with, suite_plan};
use aeapi_harness::exit::Exit;
use aeapi_harness::runner::plan::{ResolvedTarget, TargetPlan};
use aeapi_harness::suite::model::OutputFormat;

/// The URL of a port that was just free: bind, read the address, close.
fn down_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
    format!("http://{addr}")
}

#[test]
fn a_target_that_is_down_is_exit_3_naming_the_url() {
    let url = down_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = suite_plan(dir.path());
    let target = ResolvedTarget {
        api_base: url.clone(),
        auth_base: url.clone(),
        client_id: "id".into(),
        client_secret: "not-shown-secret".into(),
        password_grant: false,
        site_id: "306".into(),
        output: OutputFormat::Json,
        insecure_tls: false,
    };
    let ran = run_with(dir, &p, "login", |cp| {
        cp.target = TargetPlan::Remote(target)
    });
    assert_eq!(ran.exit, Exit::Harness, "{}", ran.err);
    assert!(
        ran.err
            .contains(&format!("error: the target at {url} is unreachable: token request to {url}/oauth-server/oauth/token failed")),
        "{}",
        ran.err
    );
    assert!(!ran.err.contains("not-shown-secret"));
    assert_eq!(ran.out, "");
    // The reports say why, for CI.
    assert_eq!(ran.json["summary"]["cases"], 0);
    assert!(
        ran.json["harness_error"]
            .as_str()
            .is_some_and(|e| e.contains(&url)),
        "{}",
        ran.json
    );
    let junit = std::fs::read_to_string(ran.dir.path().join("junit.xml")).unwrap_or_default();
    assert!(junit.contains("<error type=\"harness\""), "{junit}");
}

#[test]
fn the_binary_exits_3_naming_the_url_given_with_target() {
    let url = down_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
        .args(["--color", "never", "conform", "suites/conformance.yaml"])
        .args(["--only", "login", "--target", &url, "--out"])
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AEAPI_CLIENT_ID", "conform-test")
        .env("AEAPI_CLIENT_SECRET", "conform-test-secret")
        .env("AEAPI_SITE_ID", "306")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the harness: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("error: the target at {url} is unreachable")),
        "{stderr}"
    );
    assert!(!stderr.contains("conform-test-secret"), "{stderr}");
    assert!(dir.path().join("junit.xml").is_file());
}
