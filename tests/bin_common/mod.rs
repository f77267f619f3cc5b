//! Shared helpers for the tests that drive the built `aeapi-harness` binary: a suite written
//! into a temporary directory, the command line of a run, a command's captured output, a JSON
//! report read back.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aeapi_harness::sim;
use serde_json::Value;

/// A temporary directory holding `suite.yaml` with `text` (the directory goes when dropped).
pub fn suite_in_tempdir(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let suite = dir.path().join("suite.yaml");
    std::fs::write(&suite, text).expect("write suite");
    (dir, suite)
}

/// `aeapi-harness -q run SUITE --out OUT`, to be completed and started by the caller.
pub fn run_command(suite: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aeapi-harness"));
    cmd.args(["-q", "run"]).arg(suite).arg("--out").arg(out);
    cmd
}

/// Runs `cmd` with `--out OUT` appended, stderr captured.
pub fn output_into(cmd: &mut Command, out: &Path) -> Output {
    cmd.arg("--out")
        .arg(out)
        .stderr(Stdio::piped())
        .output()
        .expect("harness runs")
}

/// A JSON file read and parsed, or a panic naming it.
pub fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `aeapi-harness -q ARGS`, the simulator's development credentials in the environment, stdout
/// discarded (the scale-out tests).
pub fn harness(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aeapi-harness"));
    c.arg("-q")
        .args(args)
        .env("AEAPI_CLIENT_ID", sim::DEV_CLIENT_ID)
        .env("AEAPI_CLIENT_SECRET", sim::DEV_CLIENT_SECRET)
        .env("AGENT_PASSWORD", "agent-password")
        .stdout(Stdio::null());
    c
}

/// `aeapi-harness -q merge DIRS --out OUT`, run to its end, stderr captured.
pub fn merge_into(dirs: &[PathBuf], out: &Path) -> Output {
    harness(&["merge"])
        .args(dirs)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::piped())
        .output()
        .expect("merge runs")
}

/// A suite of `agents` quick agents against `api`/`auth` with the development credentials from
/// the environment; `load` is the `load:` mapping's tail, `tail` any further top-level YAML.
pub fn quick_suite(
    name: &str,
    api: &str,
    auth: &str,
    agents: u32,
    load: &str,
    tail: &str,
) -> String {
    format!(
        "name: {name}\n\
         target: {{api: '{api}', auth: '{auth}', client_id: '${{AEAPI_CLIENT_ID}}', \
         client_secret: '${{AEAPI_CLIENT_SECRET}}', site_id: '306'}}\n\
         agents: {{prefix: agent, count: {agents}, password: '${{AGENT_PASSWORD}}'}}\n\
         load: {{agents: {agents}, {load}}}\n\
         personas:\n  quick: {{weight: 1, max_chats: 2, think: constant 100ms, \
         typing: constant 100ms, reply: uniform 200ms..400ms, messages: 1..2}}\n{tail}"
    )
}
