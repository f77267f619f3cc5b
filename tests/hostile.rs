//! Regression tests of issue 18: `run` and `conform` against hostile servers the tests start
//! themselves on 127.0.0.1 port 0: an auth server that accepts and never answers, one that
//! drips a byte a second, a front on the simulator that answers GET messages with an instant
//! 204, with a 200 that fails the schema, or with a 200 MB body, and one that serves tokens
//! without `jti`. Each run must end on its own within its bound, with its reports written and a
//! documented exit code; SIGTERM/SIGINT during the token wait ends it within 5 s, reported.
//! Every server thread and task ends by itself; every run is killed at 30 s at the latest.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::bin_common::{harness, misbehaving_server, read_json, send_signal, suite_in_tempdir};
use aeapi_harness::sim::{self, SimConfig};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;

const MESSAGES: &str = "/engagementAPI/v2/agent/messages";
const TOKEN: &str = "/oauth-server/oauth/token";
/// No run may take longer than this, whatever happens.
const HARD_LIMIT: Duration = Duration::from_secs(30);

/// An auth server that misbehaves for at most `life`: `drip` sends a status line one byte a
/// second, otherwise it accepts, reads and never answers. `accepted` is set once a connection
/// came in.
fn bad_auth(drip: bool, life: Duration) -> (SocketAddr, Arc<AtomicBool>) {
    let accepted = Arc::new(AtomicBool::new(false));
    let seen = accepted.clone();
    let mut held = Vec::new();
    let addr = misbehaving_server(life, move |mut s, _| {
        seen.store(true, Ordering::SeqCst);
        if drip {
            std::thread::spawn(move || {
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
                for b in head.iter().cycle().take(60) {
                    if s.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        } else {
            held.push(s);
        }
    });
    (addr, accepted)
}

/// What the front does instead of passing a request on to the simulator.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Twist {
    /// GET messages: 204 at once.
    Instant204,
    /// GET messages: 200 at once with a body the suite's schema rejects.
    SchemaFailing200,
    /// GET messages: 200 with a 200 MB body, streamed without a length.
    Huge,
    /// Token responses lose their `jti`.
    TokenWithoutJti,
}

#[derive(Clone)]
struct Front {
    sim: String,
    twist: Twist,
    http: reqwest::Client,
    polls: Arc<AtomicU64>,
}

/// A front on the simulator at `sim` that applies `twist`; counts GET messages in `polls`.
async fn front(sim: String, twist: Twist) -> (SocketAddr, Arc<AtomicU64>) {
    let polls = Arc::new(AtomicU64::new(0));
    let state = Front {
        sim,
        twist,
        http: reqwest::Client::new(),
        polls: polls.clone(),
    };
    let app = axum::Router::new().fallback(pass).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, polls)
}

async fn pass(State(f): State<Front>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if req.method() == axum::http::Method::GET && path == MESSAGES {
        f.polls.fetch_add(1, Ordering::Relaxed);
        let json = |status: u16, body: Body| {
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(body)
                .expect("response")
        };
        match f.twist {
            Twist::Instant204 => return json(204, Body::empty()),
            Twist::SchemaFailing200 => return json(200, Body::from(r#"{"engagements": 5}"#)),
            Twist::Huge => {
                // 200 chunks of 1 MiB, made as they are sent: nothing is stored.
                let chunks = futures::stream::iter((0..200).map(|i| {
                    let fill = if i == 0 { b'[' } else { b' ' };
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from(vec![fill; 1 << 20]))
                }));
                return json(200, Body::from_stream(chunks));
            }
            Twist::TokenWithoutJti => {}
        }
    }
    let url = format!(
        "{}{}",
        f.sim,
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let mut rb = f.http.request(method, url).body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            rb = rb.header(k, v);
        }
    }
    let Ok(resp) = rb.send().await else {
        return Response::builder()
            .status(502)
            .body(Body::empty())
            .expect("response");
    };
    let status = resp.status().as_u16();
    let mut out = Response::builder().status(status);
    for (k, v) in resp.headers() {
        if k == "content-type" || k == "www-authenticate" {
            out = out.header(k, v);
        }
    }
    let mut body = resp.bytes().await.unwrap_or_default();
    if f.twist == Twist::TokenWithoutJti
        && path == TOKEN
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(o) = v.as_object_mut()
    {
        o.remove("jti");
        body = serde_json::to_vec(&v).expect("json").into();
    }
    out.body(Body::from(body)).expect("response")
}

/// A remote-target suite with `load` and `contracts` spliced in.
fn suite(api: &str, auth: &str, load: &str, contracts: &str) -> String {
    format!(
        "name: hostile\n\
         target: {{api: '{api}', auth: '{auth}', client_id: '${{AEAPI_CLIENT_ID}}', \
         client_secret: '${{AEAPI_CLIENT_SECRET}}', site_id: '306', business_unit_id: '22', \
         agent_group_id: '1'}}\n\
         agents: {{prefix: agent, count: 6, password: '${{AGENT_PASSWORD}}'}}\n\
         load: {load}\n\
         personas: {{p: {{weight: 1}}}}\n\
         contracts:\n{contracts}"
    )
}

struct Ran {
    code: Option<i32>,
    took: Duration,
    /// Peak resident set of the harness process, sampled every 10 ms (kB).
    peak_rss_kb: u64,
    out: PathBuf,
    stderr: String,
    _dir: tempfile::TempDir,
}

impl Ran {
    fn summary(&self) -> serde_json::Value {
        read_json(&self.out.join("summary.json"))
    }

    fn junit(&self) -> String {
        let p = self.out.join("junit.xml");
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
}

/// Starts `aeapi-harness -q <args> suite.yaml --out out` on `suite`.
fn spawn(args: &[&str], suite: &str) -> (Child, PathBuf, tempfile::TempDir) {
    let (dir, path) = suite_in_tempdir(suite);
    let out = dir.path().join("out");
    let child = harness(args)
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("harness starts");
    (child, out, dir)
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Waits for `child` (killed at `HARD_LIMIT`), sampling its RSS.
fn wait(mut child: Child, started: Instant, out: PathBuf, dir: tempfile::TempDir) -> Ran {
    let mut peak = 0;
    let code = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status.code();
        }
        peak = peak.max(rss_kb(child.id()));
        if started.elapsed() > HARD_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the harness ran past {HARD_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    Ran {
        code,
        took,
        peak_rss_kb: peak,
        out,
        stderr,
        _dir: dir,
    }
}

fn run(args: &[&str], suite: &str) -> Ran {
    let started = Instant::now();
    let (child, out, dir) = spawn(args, suite);
    wait(child, started, out, dir)
}

fn simulator(rt: &tokio::runtime::Runtime) -> sim::SimHandle {
    rt.block_on(sim::start(
        SimConfig::default(),
        "127.0.0.1:0".parse().expect("addr"),
    ))
    .expect("simulator starts")
}

fn check<'a>(summary: &'a serde_json::Value, name: &str, op: &str) -> &'a serde_json::Value {
    summary["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == name && c["op"] == op))
        .unwrap_or_else(|| panic!("no {name}/{op} check in {summary:#}"))
}

const API_UNUSED: &str = "http://127.0.0.1:9";

/// `run` against [`bad_auth`] (dripping or not) with a `timeout_s` request timeout: exit 3 in
/// less than `within_s`.
fn run_against_bad_auth(drip: bool, timeout_s: u64, within_s: u64) -> Ran {
    let (auth, _) = bad_auth(drip, Duration::from_secs(20));
    let load = format!("{{agents: 2, ramp: 0s, duration: 2s, timeout: {timeout_s}s}}");
    let r = run(
        &["run"],
        &suite(API_UNUSED, &format!("http://{auth}"), &load, ""),
    );
    let how = if drip { "dripping" } else { "never-answering" };
    eprintln!("{how} auth: run took {:?}", r.took);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.took < Duration::from_secs(within_s), "took {:?}", r.took);
    r
}

#[test]
fn never_answering_auth_ends_run_within_its_timeout() {
    let r = run_against_bad_auth(false, 1, 6);
    let s = r.summary();
    assert_eq!(s["run"]["exit_status"], 3);
    let err = s["run"]["harness_error"].as_str().expect("harness_error");
    assert!(err.contains("no complete answer within 1 s"), "{err}");
    assert!(r.junit().contains("<error"), "{}", r.junit());
}

#[test]
fn dripping_auth_ends_run_within_its_timeout() {
    let r = run_against_bad_auth(true, 2, 7);
    let err = r.summary()["run"]["harness_error"]
        .as_str()
        .expect("harness_error")
        .to_string();
    assert!(err.contains("no complete answer within 2 s"), "{err}");
}

#[test]
fn never_answering_auth_ends_conform_within_its_timeout() {
    let (auth, _) = bad_auth(false, Duration::from_secs(20));
    let load = "{agents: 2, timeout: 1s}";
    let contracts = "  token: {needs: nothing, xml: false, request: {form: {grant_type: client_credentials}}}\n";
    let r = run(
        &["conform"],
        &suite(API_UNUSED, &format!("http://{auth}"), load, contracts),
    );
    eprintln!("never-answering auth: conform took {:?}", r.took);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.took < Duration::from_secs(6), "took {:?}", r.took);
    assert!(r.junit().contains("<error"), "{}", r.junit());
}

/// SIGTERM (or SIGINT) while the first token request hangs: exit 3 within 5 s, every report
/// written, and both summary.json and junit.xml say what happened.
fn interrupted_during_token_wait(signal: &str, says: &str) {
    let (auth, accepted) = bad_auth(false, Duration::from_secs(25));
    let load = "{agents: 2, ramp: 0s, duration: 5s, timeout: 20s}";
    let started = Instant::now();
    let (child, out, dir) = spawn(
        &["run"],
        &suite(API_UNUSED, &format!("http://{auth}"), load, ""),
    );
    while !accepted.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(accepted.load(Ordering::SeqCst), "no token request came");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    send_signal(&child, signal);
    let r = wait(child, started, out, dir);
    let after = sent.elapsed();
    eprintln!("{signal} during the token wait: exited {after:?} after the signal");
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(after < Duration::from_secs(5), "took {after:?}");
    let s = r.summary();
    assert_eq!(s["run"]["exit_status"], 3, "{s:#}");
    assert_eq!(s["run"]["interrupted"], true);
    let by = s["run"]["interrupted_by"].as_str().expect("interrupted_by");
    assert!(by.contains(says), "{by}");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/summary.schema.json"))
            .expect("schema parses");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    assert!(
        validator.is_valid(&s),
        "summary.json breaks its schema: {s:#}"
    );
    let junit = r.junit();
    assert!(
        junit.contains("<error") && junit.contains(says),
        "junit says nothing of the interruption: {junit}"
    );
    for f in ["summary.json", "junit.xml", "report.html"] {
        assert!(r.out.join(f).exists(), "{f} missing");
    }
}

#[test]
fn sigterm_during_token_wait_writes_reports_and_exits_3() {
    interrupted_during_token_wait("-TERM", "SIGTERM");
}

#[test]
fn sigint_during_token_wait_writes_reports_and_exits_3() {
    interrupted_during_token_wait("-INT", "Ctrl-C");
}

/// A run of 2 agents for 3 s against the simulator behind a front applying `twist`.
fn run_behind_front(twist: Twist, contracts: &str) -> (Ran, u64) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let simh = simulator(&rt);
    let (addr, polls) = rt.block_on(front(simh.api_base.clone(), twist));
    let base = format!("http://{addr}");
    let load = "{agents: 2, ramp: 0s, duration: 3s, timeout: 2s}";
    let r = run(&["run"], &suite(&base, &base, load, contracts));
    rt.block_on(simh.shutdown());
    (r, polls.load(Ordering::Relaxed))
}

#[test]
fn instant_204_on_messages_backs_off() {
    let (r, polls) = run_behind_front(Twist::Instant204, "");
    eprintln!(
        "instant 204: {polls} polls in {:?} (2 agents, 3 s), peak RSS {} MB",
        r.took,
        r.peak_rss_kb / 1024
    );
    assert!(r.code.is_some(), "{}", r.stderr);
    assert!(polls > 0, "no agent polled");
    // Backing off from 100 ms, doubling: a handful of polls per agent, not tens of thousands.
    assert!(polls <= 40, "{polls} polls: a hot loop");
}

#[test]
fn schema_failing_200_on_messages_backs_off() {
    let contracts =
        "  messages.get:\n    schema: {type: object, properties: {engagements: {type: array}}}\n";
    let (r, polls) = run_behind_front(Twist::SchemaFailing200, contracts);
    eprintln!("schema-failing 200: {polls} polls in {:?}", r.took);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(polls > 0, "no agent polled");
    assert!(polls <= 40, "{polls} polls: a hot loop");
    let s = r.summary();
    assert!(check(&s, "schema", "messages.get")["failed"].as_u64() > Some(0));
}

#[test]
fn huge_body_is_capped_not_buffered() {
    let (r, polls) = run_behind_front(Twist::Huge, "");
    eprintln!(
        "200 MB body: {polls} polls in {:?}, peak RSS {} MB",
        r.took,
        r.peak_rss_kb / 1024
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(polls > 0, "no agent polled");
    // Two agents, each stopping at the 16 MiB cap: below even one 200 MB body (before the
    // cap, 4 agents took `run` to 1.0 GB).
    assert!(r.peak_rss_kb < 180 * 1024, "peak RSS {} kB", r.peak_rss_kb);
    let s = r.summary();
    let body = check(&s, "body", "messages.get");
    assert!(body["failed"].as_u64() > Some(0), "{body:#}");
    assert!(
        s.to_string().contains("exceeds the limit of 16 MiB"),
        "the limit is not named: {s:#}"
    );
}

#[test]
fn run_judges_token_calls_against_their_contract() {
    let contracts = "  token:\n    schema: {type: object, required: [access_token, jti]}\n";
    let (r, _) = run_behind_front(Twist::TokenWithoutJti, contracts);
    assert_eq!(
        r.code,
        Some(1),
        "a token without jti must fail: {}",
        r.stderr
    );
    let s = r.summary();
    let schema = check(&s, "schema", "token");
    assert!(schema["failed"].as_u64() > Some(0), "{schema:#}");
    let token = &s["operations"]["token"];
    assert!(token["count"].as_u64() > Some(0), "no token row: {s:#}");
}

#[test]
fn target_urls_without_host_are_usage_errors() {
    let load = "{agents: 2}";
    let ok_suite = suite("http://127.0.0.1:9", "http://127.0.0.1:9", load, "");
    for bad in ["http://", "http://[::1", "ftp://host"] {
        let r = run(&["run", "--dry-run", "--target", bad], &ok_suite);
        assert_eq!(r.code, Some(2), "--target {bad}: {}", r.stderr);
        assert!(r.stderr.contains(bad), "{}", r.stderr);
        let r = run(
            &["run", "--dry-run"],
            &suite(bad, "http://127.0.0.1:9", load, ""),
        );
        assert_eq!(r.code, Some(2), "suite api {bad}: {}", r.stderr);
        assert!(r.stderr.contains("target.api"), "{}", r.stderr);
    }
    let r = run(&["run", "--dry-run"], &ok_suite);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// `conform` on acceptEngagement (every case needs an offer) against the simulator behind a
/// front whose GET messages answers 204 at once: offers never arrive.
fn conform_without_offers(extra: &[&str]) -> Ran {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let simh = simulator(&rt);
    let (addr, _) = rt.block_on(front(simh.api_base.clone(), Twist::Instant204));
    let base = format!("http://{addr}");
    let contracts = "  acceptEngagement:\n    needs: offer\n    xml: false\n    request:\n      \
         query: {registeredId: \"${registeredId}\"}\n      \
         body: {agentId: \"${agentId}\", engagementId: \"${engagementId}\"}\n    cases:\n      \
         - {omit: [registeredId]}\n      - {omit: [engagementId]}\n      - {token: none}\n";
    let mut args = vec!["conform"];
    args.extend_from_slice(extra);
    let r = run(
        &args,
        &suite(&base, &base, "{agents: 2, timeout: 2s}", contracts),
    );
    rt.block_on(simh.shutdown());
    r
}

#[test]
fn conform_stops_waiting_once_the_offer_path_is_broken() {
    let r = conform_without_offers(&[]);
    eprintln!("conform, offers never arrive: took {:?}", r.took);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    // One wait of 10 s for the first offer; the three other cases fail at once (each waited
    // 10 s before).
    assert!(r.took < Duration::from_secs(20), "took {:?}", r.took);
    let junit = r.junit();
    assert!(junit.contains("the offer path is broken"), "{junit}");
}

#[test]
fn conform_max_time_bounds_the_whole_run() {
    let r = conform_without_offers(&["--max-time", "3s"]);
    eprintln!("conform --max-time 3s: took {:?}", r.took);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.took < Duration::from_secs(8), "took {:?}", r.took);
    let junit = r.junit();
    assert!(
        junit.contains("<error") && junit.contains("time bound of 3 s"),
        "{junit}"
    );
}
