//! Shared helpers for the scale-out tests: the harness binary with the simulator's development
//! credentials in its environment, and JSON report files.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

use aeapi_harness::sim;
use serde_json::Value;

/// `aeapi-harness -q ARGS`, credentials in the environment, stdout discarded.
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

/// A JSON file, or a panic naming it.
pub fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
