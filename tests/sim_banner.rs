//! `simulate` as a new user meets it: a client that knows only the banner (read from the real
//! binary's stdout) gets a token, logs an agent in and starts a customer chat that the agent is
//! offered; `--print-seed` prints the seed as YAML.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Kills the simulator this test started when the test ends, however it ends.
pub struct Simulator(Child);

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `simulate` on a loopback ephemeral port and returns the banner's lines.
fn start() -> (Simulator, Vec<String>) {
    start_with(&[])
}

/// Starts `simulate --listen 127.0.0.1:0 ARGS` and returns the banner's lines.
pub fn start_with(args: &[&str]) -> (Simulator, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
        .args(["simulate", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start simulate: {e}"));
    let out = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let guard = Simulator(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().take(500) {
            let Ok(line) = line else { return };
            let done = line.starts_with("Press Ctrl-C");
            if tx.send(line).is_err() || done {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("banner incomplete after {lines:?}: {e}"));
        if line.starts_with("Press Ctrl-C") {
            return (guard, lines);
        }
        lines.push(line);
    }
}

/// A banner's curl command, read as a client would: `-u`, each `-d`, the quoted URL.
#[derive(Debug, Default)]
struct Curl {
    user: Option<(String, String)>,
    form: Vec<(String, String)>,
    url: String,
}

fn parse_curl(line: &str) -> Curl {
    let start = line
        .find("curl ")
        .unwrap_or_else(|| panic!("no curl in {line}"));
    let cmd = &line[start..];
    // The URL is the last single-quoted word before any pipe.
    let cmd = cmd.split(" | ").next().unwrap_or(cmd);
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut c = Curl::default();
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "-u" => {
                let v = words[i + 1].trim_matches('\'');
                let (u, p) = v.split_once(':').unwrap_or_else(|| panic!("-u {v}"));
                c.user = Some((u.into(), p.into()));
                i += 1;
            }
            "-d" => {
                let (k, v) = words[i + 1]
                    .split_once('=')
                    .unwrap_or_else(|| panic!("-d {}", words[i + 1]));
                c.form.push((k.into(), v.into()));
                i += 1;
            }
            w if w.starts_with("'http") => c.url = w.trim_matches('\'').to_string(),
            _ => {}
        }
        i += 1;
    }
    assert!(c.url.starts_with("http://127.0.0.1:"), "{line}");
    c
}

async fn post(http: &reqwest::Client, c: &Curl, token: Option<&str>) -> (u16, Value) {
    let mut req = http.post(&c.url).form(&c.form);
    if let Some((u, p)) = &c.user {
        req = req.basic_auth(u, Some(p));
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", c.url));
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn item1_a_client_that_knows_only_the_banner_logs_an_agent_in_and_starts_a_chat() {
    let (_sim, banner) = start();
    let text = banner.join("\n");
    for needle in [
        "client id:     ceapiClientId",
        "client secret: ceapiClientSecret",
        "agent1 … agent20000 (prefix `agent`, range 1..=20000), password `agent-password`",
        "  site 306\n    business unit 22 ConsumerSales (Consumer Sales)\n      agent group 1 GeneralSales (General Sales)",
        "  site 154\n    business unit 23 BusinessServices (Business Services)",
    ] {
        assert!(text.contains(needle), "banner lacks {needle:?}:\n{text}");
    }
    let curls: Vec<Curl> = banner
        .iter()
        .filter(|l| l.contains("curl "))
        .map(|l| parse_curl(l))
        .collect();
    assert_eq!(curls.len(), 3, "three commands:\n{text}");
    let http = reqwest::Client::new();

    let (status, body) = post(&http, &curls[0], None).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {body}"))
        .to_string();

    let (status, login) = post(&http, &curls[1], Some(&token)).await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["status"], "success");
    let registered = login["registeredId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let agent = login["userId"].as_str().unwrap_or_default().to_string();

    let (status, chat) = post(&http, &curls[2], Some(&token)).await;
    assert_eq!(status, 200, "{chat}");
    assert_eq!(chat["status"], "ACCEPTED", "{chat}");
    let eid = chat["engagementID"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // The logged-in agent is offered that chat.
    let base = curls[1].url.trim_end_matches("/agent/login").to_string();
    let r = http
        .get(format!("{base}/agent/messages"))
        .query(&[
            ("registeredId", registered.as_str()),
            ("agentId", agent.as_str()),
            ("instantResponse", "true"),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("messages: {e}"));
    assert_eq!(r.status().as_u16(), 200);
    let m: Value = r.json().await.unwrap_or_default();
    assert_eq!(
        m["engagements"][0]["id"].as_str(),
        Some(eid.as_str()),
        "{m}"
    );
}

#[test]
fn print_seed_prints_the_seed_as_yaml() {
    let out = Command::new(env!("CARGO_BIN_EXE_aeapi-harness"))
        .args(["simulate", "--print-seed"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let seed: aeapi_harness::sim::seed::Seed =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(seed, aeapi_harness::sim::seed::Seed::default());
    assert_eq!(seed.business_units[0].id, "22");
}
