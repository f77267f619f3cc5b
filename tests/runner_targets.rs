//! `run` against targets that misbehave: the API refuses connections, resets them, stalls, or
//! answers garbage. Errors are counted by kind, the run ends on time, and the reports are written.
//! The auth server is a real simulator (so the run can start); the API base is the bad server.
//! Everything listens on 127.0.0.1 port 0 and every server thread ends by itself.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::bin_common::{harness, misbehaving_server, read_json, simulator, suite_in_tempdir};
use aeapi_harness::sim::{self, SimConfig};

#[derive(Clone, Copy, Debug)]
enum Bad {
    Refuse,
    Reset,
    Stall,
    Garbage,
}

/// A server that misbehaves in one way for at most `life`.
fn bad_server(kind: Bad, life: Duration) -> SocketAddr {
    if let Bad::Refuse = kind {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        return listener.local_addr().expect("addr");
    }
    let mut held = Vec::new();
    misbehaving_server(life, move |mut s, request| match kind {
        Bad::Reset => drop(s),
        Bad::Stall => held.push(s),
        Bad::Garbage => {
            // Not JSON, and it echoes the request, bearer token included: the reports must not
            // repeat the token.
            let body = [b"{not json]] ".as_slice(), request].concat();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&[head.as_bytes(), &body].concat());
        }
        Bad::Refuse => {}
    })
}

fn suite(api: SocketAddr, auth: &str) -> String {
    format!(
        "name: bad-target\n\
         target: {{api: 'http://{api}', auth: '{auth}', client_id: '${{AEAPI_CLIENT_ID}}', \
         client_secret: '${{AEAPI_CLIENT_SECRET}}', site_id: '306'}}\n\
         agents: {{prefix: agent, count: 3, password: '${{AGENT_PASSWORD}}'}}\n\
         load: {{agents: 3, ramp: 0s, duration: 3s, timeout: 500ms}}\n\
         personas: {{p: {{weight: 1}}}}\n\
         contracts:\n  login: {{within: 1s}}\n"
    )
}

struct Ran {
    code: Option<i32>,
    took: Duration,
    summary: serde_json::Value,
    out: tempfile::TempDir,
}

fn run_against(kind: Bad) -> Ran {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let auth = simulator(&rt, SimConfig::default());
    let api = bad_server(kind, Duration::from_secs(30));
    let (dir, path) = suite_in_tempdir(&suite(api, &auth.auth_base));
    let out = dir.path().join("out");
    let started = Instant::now();
    let status = harness(&["run"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("harness runs");
    let took = started.elapsed();
    rt.block_on(auth.shutdown());
    let summary = read_json(&out.join("summary.json"));
    Ran {
        code: status.code(),
        took,
        summary,
        out: dir,
    }
}

fn errors_of(r: &Ran, kind: &str) -> u64 {
    r.summary["totals"]["errors_by_kind"][kind]
        .as_u64()
        .unwrap_or(0)
}

fn assert_reported(r: &Ran, kind: &str) {
    assert_eq!(
        r.code,
        Some(1),
        "exit code; summary: {}",
        r.summary["totals"]
    );
    assert!(
        errors_of(r, kind) > 0,
        "no `{kind}` errors: {}",
        r.summary["totals"]
    );
    // 3 s of load, 0.5 s timeouts, back-offs of at most 8 s: well inside 20 s.
    assert!(r.took < Duration::from_secs(20), "took {:?}", r.took);
    for f in [
        "summary.json",
        "summary.txt",
        "junit.xml",
        "report.html",
        "histograms.hlog",
    ] {
        assert!(r.out.path().join("out").join(f).is_file(), "{f} missing");
    }
    assert_no_secrets(&r.out.path().join("out"));
}

/// No output file of the run holds the client secret, the agents' password or a token (JWTs
/// start with `eyJ`, base64 of `{"`), goose's own report included.
fn assert_no_secrets(dir: &Path) {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).expect("read output");
            let text = String::from_utf8_lossy(&bytes);
            for secret in [sim::DEV_CLIENT_SECRET, "agent-password", "eyJ"] {
                assert!(
                    !text.contains(secret),
                    "{} holds `{secret}`",
                    path.display()
                );
            }
        }
    }
    assert!(files >= 6, "only {files} output files");
}

#[test]
fn refused_connections_are_counted_as_connect_errors() {
    assert_reported(&run_against(Bad::Refuse), "connect");
}

#[test]
fn reset_connections_are_counted_as_reset_errors() {
    let r = run_against(Bad::Reset);
    assert_reported(&r, "reset");
}

#[test]
fn a_stalled_target_times_out_and_the_run_still_ends_on_time() {
    assert_reported(&run_against(Bad::Stall), "timeout");
}

#[test]
fn garbage_bodies_are_counted_as_body_errors() {
    assert_reported(&run_against(Bad::Garbage), "body");
}
