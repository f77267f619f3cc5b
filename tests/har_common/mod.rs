//! HAR recordings made by real third-party tools against the simulator, never written by
//! hand, shared by the `import` and `replay` tests: Playwright driving Debian's Chromium on a
//! desktop page (tests/har_tools/record_browser.py), and mitmproxy's reverse proxy
//! (`hardump`) in front of the simulator while curl and the harness itself drive a chat. When a
//! tool is missing the recorder says "skipped: ... not installed" and returns `None`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aeapi_harness::cli::{Cli, Config, UsageError};
use aeapi_harness::sim::{self, SimConfig, SimHandle};
use clap::Parser;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_aeapi-harness");
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The command line `args` (the program name first) parsed and turned into its configuration.
pub fn config_of(args: &[&str]) -> Result<Config, UsageError> {
    Config::from_cli(Cli::try_parse_from(args).expect("parses").command)
}

pub fn have_python_module(m: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {m}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn have_command(c: &str) -> bool {
    Command::new(c)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits for `child` at most `limit`; kills it (by its own handle) when it takes longer.
pub fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    child.wait_with_output().expect("child output")
}

pub fn harness(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    wait_bounded(c.spawn().expect("spawn harness"), Duration::from_secs(60))
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn simulator(rt: &tokio::runtime::Runtime) -> SimHandle {
    simulator_arriving(rt, 1.0)
}

/// [`simulator`] with `rate` simulated customers per second.
pub fn simulator_arriving(rt: &tokio::runtime::Runtime, rate: f64) -> SimHandle {
    let mut c = SimConfig::default();
    c.agents.count = 5;
    c.arrival_rate = rate;
    c.long_poll_hold = "1s".parse().expect("duration");
    c.customers.close_after_lines = false;
    crate::bin_common::simulator(rt, c)
}

/// Every secret value in a HAR: Authorization values and their credentials, the Basic pair's
/// secret, cookies, password fields and tokens in bodies.
pub fn secrets_in(har: &Path) -> Vec<String> {
    let doc: Value = serde_json::from_slice(&std::fs::read(har).expect("har")).expect("json");
    let mut out = vec![
        "agent-password".to_string(),
        sim::DEV_CLIENT_SECRET.to_string(),
    ];
    for e in doc["log"]["entries"].as_array().expect("entries") {
        for h in e["request"]["headers"].as_array().into_iter().flatten() {
            let name = h["name"].as_str().unwrap_or_default().to_ascii_lowercase();
            let value = h["value"].as_str().unwrap_or_default();
            if name == "authorization" || name == "cookie" {
                out.push(value.to_string());
                if let Some((_, cred)) = value.split_once(' ') {
                    out.push(cred.to_string());
                }
            }
        }
        for c in e["request"]["cookies"].as_array().into_iter().flatten() {
            out.push(c["value"].as_str().unwrap_or_default().to_string());
        }
        let body = e["response"]["content"]["text"]
            .as_str()
            .unwrap_or_default();
        if let Ok(v) = serde_json::from_str::<Value>(body)
            && let Some(t) = v.get("access_token").and_then(Value::as_str)
        {
            out.push(t.to_string());
        }
    }
    out.retain(|s| s.len() >= 4);
    out.sort();
    out.dedup();
    out
}

pub fn assert_no_secret_in(files: &[PathBuf], secrets: &[String]) {
    assert!(
        secrets.len() >= 3,
        "the recording carried secrets: {}",
        secrets.len()
    );
    for f in files {
        let t = std::fs::read_to_string(f).expect("output file");
        for s in secrets {
            assert!(!t.contains(s.as_str()), "{} holds a secret", f.display());
        }
    }
}

/// Runs `import` in process (the library's command, as the CLI calls it): exit code, stdout,
/// stderr. In process because CI here shares one target directory between checkouts, whose
/// builds replace the binary under a running test.
/// A browser recording (2 s think time) of the desk page against a fresh simulator, written to
/// `dir/desk.har`.
pub fn record_browser(dir: &Path) -> Option<PathBuf> {
    if !have_python_module("playwright") {
        eprintln!("skipped: playwright (PyPI) not installed; .ci/run installs it");
        return None;
    }
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: chromium not installed at {CHROMIUM}; .ci/run installs it");
        return None;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = simulator(&rt);
    let har = dir.join("desk.har");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/har_tools/record_browser.py");
    let rec = wait_bounded(
        Command::new("python3")
            .arg(&script)
            .args([
                "--api",
                &sim.api_base,
                "--auth",
                &sim.auth_base,
                "--think",
                "2.0",
            ])
            .arg("--out")
            .arg(&har)
            .arg("--chromium")
            .arg(CHROMIUM)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3"),
        Duration::from_secs(50),
    );
    rt.block_on(sim.shutdown());
    assert_eq!(
        rec.status.code(),
        Some(0),
        "recording failed: {}",
        text(&rec.stderr)
    );

    Some(har)
}

/// A mitmproxy recording (`dir/proxy.har`) of curl's token call and a harness run through the
/// proxy, with the simulator's (upstream) API base.
pub fn record_mitmproxy(dir: &Path) -> Option<(PathBuf, String)> {
    record_mitmproxy_with(dir, None)
}

/// [`record_mitmproxy`]; with `customers` (a suite's `load.customers` mapping) the harness
/// drives the customers through the customer-side calls and the simulator starts none.
pub fn record_mitmproxy_with(dir: &Path, customers: Option<&str>) -> Option<(PathBuf, String)> {
    if !have_command("mitmdump") {
        eprintln!("skipped: mitmproxy (PyPI, mitmdump) not installed; .ci/run installs it");
        return None;
    }
    if !have_command("curl") {
        eprintln!("skipped: curl not installed");
        return None;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = simulator_arriving(&rt, if customers.is_some() { 0.0 } else { 1.0 });
    let upstream = sim.api_base.clone();
    let har = dir.join("proxy.har");
    let mut proxy = Command::new("mitmdump")
        .arg("--mode")
        .arg(format!("reverse:{}", sim.api_base))
        .args(["--listen-host", "127.0.0.1", "-p", "0", "--set"])
        .arg(format!("hardump={}", har.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mitmdump");
    // mitmdump prints "... listening at 127.0.0.1:PORT." once bound.
    let mut lines = BufReader::new(proxy.stdout.take().expect("stdout")).lines();
    let mut port = None;
    for line in lines.by_ref().take(50) {
        let line = line.unwrap_or_default();
        if let Some(rest) = line.split("listening at 127.0.0.1:").nth(1) {
            port = rest.trim_end_matches('.').trim().parse::<u16>().ok();
            break;
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    let drain = std::thread::spawn(move || for _ in lines {});
    let port = port.expect("mitmdump reported its port");
    let base = format!("http://127.0.0.1:{port}");

    // curl: a token call with the Basic header and a cookie, as a desktop behind a gateway.
    let curl = wait_bounded(
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u"])
            .arg(format!("{}:{}", sim::DEV_CLIENT_ID, sim::DEV_CLIENT_SECRET))
            .args([
                "-b",
                "JSESSIONID=cookie-secret-4711",
                "-d",
                "grant_type=client_credentials",
            ])
            .arg(format!("{base}/oauth-server/oauth/token"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("curl"),
        Duration::from_secs(20),
    );
    assert_eq!(text(&curl.stdout), "200");
    // The harness itself drives an agent through the proxy.
    let driver = dir.join("driver.yaml");
    let customers = customers.map_or(String::new(), |c| format!(", customers: {c}"));
    std::fs::write(
        &driver,
        format!(
            "name: driver\ntarget:\n  api: {base}\n  auth: {base}\n  client_id: ${{AEAPI_CLIENT_ID}}\n  \
             client_secret: ${{AEAPI_CLIENT_SECRET}}\n  site_id: \"306\"\n\
             agents: {{prefix: agent, count: 1, password: \"${{AGENT_PASSWORD}}\"}}\n\
             load: {{agents: 1, duration: 6s, seed: 3{customers}}}\n\
             personas:\n  p: {{weight: 1, think: constant 300ms, reply: constant 300ms, \
             typing: constant 100ms, messages: 2, periodic: {{verifySession: 1s}}}}\n"
        ),
    )
    .expect("driver suite");
    let drove = harness(
        &[
            "-q",
            "run",
            driver.to_str().expect("utf-8"),
            "--out",
            dir.join("drive").to_str().expect("utf-8"),
        ],
        &[
            ("AEAPI_CLIENT_ID", sim::DEV_CLIENT_ID),
            ("AEAPI_CLIENT_SECRET", sim::DEV_CLIENT_SECRET),
            ("AGENT_PASSWORD", "agent-password"),
        ],
    );
    // mitmdump writes the HAR when it stops (SIGINT, sent to its own pid).
    let _ = Command::new("kill")
        .args(["-INT", &proxy.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && matches!(proxy.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Ok(None) = proxy.try_wait() {
        let _ = proxy.kill();
    }
    let _ = proxy.wait();
    let _ = drain.join();
    rt.block_on(sim.shutdown());
    assert_eq!(drove.status.code(), Some(0), "{}", text(&drove.stderr));
    assert!(har.exists(), "mitmdump wrote no HAR");

    Some((har, upstream))
}
