//! Shared helpers for the tests that drive the built `aeapi-harness` binary: a suite written
//! into a temporary directory, the command line of a run, a command's captured output, a JSON
//! report read back.

#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// Asserts that a run went to its end: exit 0 (passed) or 1 (a check or threshold failed), not
/// a usage error (2) or a cut-short run (3).
pub fn assert_completed(run: &Output) {
    assert!(
        matches!(run.status.code(), Some(0) | Some(1)),
        "exit {}: {}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A JSON file read and parsed, or a panic naming it.
pub fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The string field `key` of each item of the JSON array `list` (items without it left out);
/// a panic when `list` is not an array.
pub fn field_of<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .filter_map(|v| v[key].as_str())
        .collect()
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

/// A suite of `agents` quick agents against the simulator `target` with the development
/// credentials from the environment; `load` is the `load:` mapping's tail, `tail` any further
/// top-level YAML.
pub fn quick_suite(
    name: &str,
    target: &sim::SimHandle,
    agents: u32,
    load: &str,
    tail: &str,
) -> String {
    quick_suite_at(
        name,
        (&target.api_base, &target.auth_base),
        agents,
        load,
        tail,
    )
}

/// [`quick_suite`] against any `(api, auth)` bases (one nothing listens on, for usage errors).
pub fn quick_suite_at(
    name: &str,
    (api, auth): (&str, &str),
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

/// A simulator with `config` on 127.0.0.1, port 0, started on `rt`.
pub fn simulator(rt: &tokio::runtime::Runtime, config: sim::SimConfig) -> sim::SimHandle {
    rt.block_on(sim::start(config, "127.0.0.1:0".parse().expect("addr")))
        .expect("simulator starts")
}

/// Sends `signal` (`-TERM`, `-INT`) to `child` with kill(1).
pub fn send_signal(child: &Child, signal: &str) {
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
}

/// A server on 127.0.0.1 port 0 that, for at most `life`, accepts each connection, reads what
/// comes first (up to 4 KiB, waiting up to 200 ms) and hands the stream and those bytes to
/// `misbehave`; the thread ends by itself. A stream `misbehave` keeps stays open until then.
pub fn misbehaving_server(
    life: Duration,
    mut misbehave: impl FnMut(TcpStream, &[u8]) + Send + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let end = Instant::now() + life;
        while Instant::now() < end {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                    let mut buf = [0u8; 4096];
                    let n = s.read(&mut buf).unwrap_or(0);
                    misbehave(s, &buf[..n]);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    addr
}
