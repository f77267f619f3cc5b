//! Real tools watching a run: a Prometheus server (Debian's `prometheus`) scraping on loopback
//! every second, and headless Chromium driven over the DevTools protocol. Each is found on PATH
//! (or `/usr/bin`); where one is missing the caller skips with a printed note, except under CI
//! (`CI` set), where `.ci/run` installs them and a missing tool is a failure.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Starts `cmd` (stdout discarded, stderr piped) and waits for it to say where it listens: the
/// child, and the rest of its first stderr line that starts with `prefix` (see [`line_after`]).
pub fn spawn_saying(cmd: &mut Command, prefix: &'static str) -> (Child, Option<String>) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} starts: {e}"));
    let said = child.stderr.take().and_then(|e| line_after(e, prefix));
    (child, said)
}

/// The rest of the first line of `stderr` that starts with `prefix`, trimmed; `None` when none
/// came within 30 s. A thread keeps draining the stream, so the child never blocks on a full pipe.
pub fn line_after(stderr: ChildStderr, prefix: &'static str) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30)).ok()
}

/// The tool's path, or `None` after printing why the test is skipped (a failure under CI).
pub fn tool(names: &[&str], package: &str) -> Option<PathBuf> {
    let found = names.iter().find_map(|n| {
        let p = Path::new("/usr/bin").join(n);
        p.is_file().then_some(p)
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{package} is missing under CI: .ci/run should have installed it"
        );
        eprintln!("note: skipped: no {} (apt-get install {package})", names[0]);
    }
    found
}

/// A port free on 127.0.0.1 right now (for tools that cannot bind port 0 and report it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

/// A plain HTTP/1.0 GET on loopback: (status, body).
pub fn http_get(addr: SocketAddr, path_and_query: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path_and_query} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// A Prometheus server of our own: loopback only, scraping one target every second, storage in
/// a temp dir. (Its file-based discovery applies changes only every 5 s, so the target is fixed
/// up front: the caller picks the harness's port with [`free_port`].)
pub struct Prometheus {
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Prometheus {
    pub fn start(bin: &Path, dir: &Path, target: SocketAddr) -> Prometheus {
        std::fs::create_dir_all(dir).expect("prometheus dir");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}}\n\
                 scrape_configs:\n\
                 - job_name: harness\n\
                 \x20 static_configs: [{{targets: ['{target}']}}]\n"
            ),
        )
        .expect("write config");
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = dir.join("prometheus.log");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("prometheus starts");
        let p = Prometheus { addr, child, log };
        let until = Instant::now() + Duration::from_secs(20);
        while http_get(addr, "/-/ready").map(|r| r.0).ok() != Some(200) {
            assert!(Instant::now() < until, "prometheus not ready: {}", p.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    /// Prometheus's own log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An instant query's `data.result`.
    pub fn query(&self, promql: &str) -> Vec<Value> {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", promql)
            .finish();
        let (status, body) =
            http_get(self.addr, &format!("/api/v1/query?{q}")).expect("query API answers");
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{promql}: {body}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// `{label value → sample value}` of a query's result vector.
    pub fn by_label(&self, promql: &str, label: &str) -> std::collections::BTreeMap<String, f64> {
        self.query(promql)
            .iter()
            .filter_map(|r| {
                let key = r["metric"][label].as_str().unwrap_or("").to_owned();
                let v = r["value"][1].as_str()?.parse().ok()?;
                Some((key, v))
            })
            .collect()
    }

    /// Whether the harness target is up (scraped successfully at least once).
    pub fn target_up(&self) -> bool {
        self.query("up{job=\"harness\"} == 1").len() == 1
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium's flags for a closed, sandbox-less machine: no GPU, no background network.
pub const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Headless Chromium with one page, driven over the DevTools protocol (a WebSocket).
pub struct Browser {
    child: Child,
    ws: tungstenite::WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    /// Console errors, uncaught exceptions and error log entries seen so far.
    pub errors: Vec<String>,
    /// Every URL the page requested.
    pub requests: Vec<String>,
}

impl Browser {
    /// Starts Chromium with a fresh profile under `dir` and attaches to a blank page.
    pub fn start(bin: &Path, dir: &Path) -> Browser {
        let (child, url) = spawn_saying(
            Command::new(bin)
                .args(CHROMIUM_FLAGS)
                .arg(format!("--user-data-dir={}", dir.join("profile").display()))
                .arg("--remote-debugging-address=127.0.0.1")
                .arg("--remote-debugging-port=0")
                .arg("about:blank"),
            "DevTools listening on ",
        );
        let url = url.expect("chromium says where DevTools listens");
        let hostport = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port")
            .to_owned();
        let stream = TcpStream::connect(&hostport).expect("connect to DevTools");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("WebSocket handshake");
        let mut b = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            errors: Vec::new(),
            requests: Vec::new(),
        };
        let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = b.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        b.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        for domain in [
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
            "Page.enable",
        ] {
            b.page(domain, json!({}));
        }
        b
    }

    /// Sends one command and waits for its answer, noting the events that arrive meanwhile.
    fn call(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s);
        }
        self.ws
            .send(tungstenite::Message::Text(msg.to_string().into()))
            .expect("send to DevTools");
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < until, "no answer to {method}");
            let m = self.ws.read().expect("read from DevTools");
            let tungstenite::Message::Text(text) = m else {
                continue;
            };
            let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            if v["id"].as_u64() == Some(id) {
                assert!(v["error"].is_null(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            self.note(&v);
        }
    }

    fn note(&mut self, event: &Value) {
        let p = &event["params"];
        match event["method"].as_str().unwrap_or("") {
            "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => self
                .errors
                .push(format!("console.{}: {}", p["type"], p["args"])),
            "Runtime.exceptionThrown" => self
                .errors
                .push(format!("uncaught: {}", p["exceptionDetails"])),
            "Log.entryAdded" if p["entry"]["level"] == "error" => {
                self.errors.push(format!("log: {}", p["entry"]["text"]))
            }
            "Network.requestWillBeSent" => {
                if let Some(u) = p["request"]["url"].as_str() {
                    self.requests.push(u.to_owned());
                }
            }
            _ => {}
        }
    }

    /// A command to the page's session.
    pub fn page(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.call(Some(s), method, params)
    }

    pub fn navigate(&mut self, url: &str) {
        self.page("Page.navigate", json!({"url": url}));
    }

    /// The value of a JavaScript expression in the page (JSON-serialisable results only).
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.page(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// Waits (polling every 200 ms, at most `limit`) until `expr` is truthy; returns its value.
    pub fn wait_for(&mut self, expr: &str, limit: Duration) -> Option<Value> {
        let until = Instant::now() + limit;
        loop {
            let v = self.eval(expr);
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return Some(v);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
