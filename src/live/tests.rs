//! Unit tests of the monitor: the exposition text, the timeline, the page's JSON and the
//! listener's routes.

use std::time::{Duration, Instant};

use super::*;

fn info() -> RunInfo {
    RunInfo {
        suite: "smoke".into(),
        shard: "2/4".into(),
        target: "http://127.0.0.1:1".into(),
    }
}

fn sample<'a>(op: &'a str, status: Option<u16>, ms: u64, error: Option<ErrorKind>) -> Sample<'a> {
    Sample {
        op,
        persona: "agent",
        status,
        latency: Duration::from_millis(ms),
        error,
        expected_interval: None,
        at: Instant::now(),
    }
}

fn check<'a>(check: &'a str, op: &'a str, passed: bool) -> CheckOutcome<'a> {
    CheckOutcome {
        check,
        op,
        persona: "agent",
        passed,
        example: None,
    }
}

/// The value of the exposition's sample `name{labels}` (labels after suite and shard, in
/// the order the family declares them).
fn value(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
}

const L: &str = "suite=\"smoke\",shard=\"2/4\"";

/// A monitor with two logins (one 503), a transport failure, checks, a hold, deliveries,
/// engagements, agents and a threshold.
fn busy() -> Arc<Monitor> {
    let m = Monitor::new(info(), Duration::from_secs(1));
    m.observe(&sample("login", Some(200), 3, None));
    m.observe(&sample("login", Some(503), 40, Some(ErrorKind::Status)));
    m.observe(&sample("messages.post", None, 1, Some(ErrorKind::Connect)));
    m.observe_checks(&[
        check("status", "login", true),
        check("status", "login", false),
        check("schema", "login", true),
    ]);
    m.observe_checks(&[check("status", "login", true)]);
    m.observe_poll_hold("agent", Duration::from_secs(21));
    m.observe_delivery(Direction::CustomerToAgent, Duration::from_millis(7));
    m.observe_delivery(Direction::AgentToCustomer, Duration::from_millis(300));
    m.observe_engagement(EngagementEvent::Offered);
    m.observe_engagement(EngagementEvent::Offered);
    m.observe_engagement(EngagementEvent::Ended(EngagementEnd::Accepted));
    m.set_active_agents(5);
    m.set_thresholds(vec![ThresholdState {
        source: "p95(login) < 30ms".into(),
        measured: "40 ms".into(),
        value: Some(40.0),
        passed: false,
    }]);
    m
}

/// The value of `aeapi_harness_{name}{suite,shard,labels}` in the exposition `text`.
fn series(text: &str, name: &str, labels: &str) -> Option<String> {
    let sep = if labels.is_empty() { "" } else { "," };
    value(text, &format!("aeapi_harness_{name}{{{L}{sep}{labels}}}"))
}

/// Asserts each `(name, labels, value)` of the exposition `text`.
fn assert_series(text: &str, rows: &[(&str, &str, &str)]) {
    for (name, labels, want) in rows {
        let got = series(text, name, labels);
        assert_eq!(got.as_deref(), Some(*want), "{name}{{{labels}}}");
    }
}

#[test]
fn exposition_counts_requests_errors_and_checks_per_operation() {
    let text = busy().exposition();
    let login = r#"persona="agent",op="login""#;
    let post = r#"persona="agent",op="messages.post""#;
    let check = |c: &str, result: &str| {
        format!(r#"persona="agent",check="{c}",op="login",result="{result}""#)
    };
    assert_series(
        &text,
        &[
            (
                "requests_total",
                &format!(r#"{login},status_class="2xx""#),
                "1",
            ),
            (
                "requests_total",
                &format!(r#"{login},status_class="5xx""#),
                "1",
            ),
            (
                "requests_total",
                &format!(r#"{post},status_class="transport""#),
                "1",
            ),
            ("errors_total", &format!(r#"{login},kind="status""#), "1"),
            ("errors_total", &format!(r#"{post},kind="connect""#), "1"),
            ("checks_total", &check("status", "pass"), "2"),
            ("checks_total", &check("status", "fail"), "1"),
            ("checks_total", &check("schema", "pass"), "1"),
            ("checks_total", &check("schema", "fail"), "0"),
        ],
    );
    assert_eq!(
        series(
            &text,
            "requests_total",
            &format!(r#"{login},status_class="4xx""#)
        ),
        None,
        "no series for what never happened"
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
}

#[test]
fn exposition_histograms_use_their_own_buckets() {
    let text = busy().exposition();
    let lat = |le: &str| format!(r#"le="{le}",persona="agent",op="login""#);
    let hold = |le: &str| format!(r#"le="{le}",persona="agent""#);
    let delivery = |dir: &str, le: &str| format!(r#"le="{le}",direction="{dir}""#);
    let (lat_b, hold_b, del_b) = (
        "request_duration_seconds_bucket",
        "poll_hold_seconds_bucket",
        "delivery_seconds_bucket",
    );
    // 3 ms and 40 ms.
    assert_series(
        &text,
        &[
            (lat_b, &lat("0.0025"), "0"),
            (lat_b, &lat("0.005"), "1"),
            (lat_b, &lat("0.05"), "2"),
            (lat_b, &lat("+Inf"), "2"),
            (hold_b, &hold("20.0"), "0"),
            (hold_b, &hold("22.5"), "1"),
            (del_b, &delivery("customer_to_agent", "0.005"), "0"),
            (del_b, &delivery("customer_to_agent", "0.01"), "1"),
            (del_b, &delivery("agent_to_customer", "0.25"), "0"),
            (del_b, &delivery("agent_to_customer", "0.5"), "1"),
        ],
    );
    let sum: f64 = series(
        &text,
        "request_duration_seconds_sum",
        r#"persona="agent",op="login""#,
    )
    .and_then(|v| v.parse().ok())
    .unwrap_or(f64::NAN);
    assert!((sum - 0.043).abs() < 1e-9, "{sum}");
}

#[test]
fn exposition_gauges_engagements_thresholds_and_the_end() {
    let m = busy();
    let text = m.exposition();
    let t = r#"threshold="p95(login) < 30ms""#;
    assert_series(
        &text,
        &[
            ("engagements_total", r#"event="offered""#, "2"),
            ("engagements_total", r#"event="accepted""#, "1"),
            ("engagements_total", r#"event="closed""#, "0"),
            ("active_agents", "", "5"),
            ("threshold_passing", t, "0"),
            ("threshold_value", t, "40.0"),
            ("run_finished", "", "0"),
        ],
    );
    m.finish(Finish {
        passed: true,
        exit_code: 0,
        verdict: "passed".into(),
        out_dir: "reports/x".into(),
        reports: Vec::new(),
    });
    let text = m.exposition();
    assert_series(&text, &[("run_finished", "", "1"), ("run_passed", "", "1")]);
}

#[test]
fn metric_names_follow_prometheus_conventions() {
    let text = busy().exposition();
    let mut types = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        types += 1;
        let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
        assert!(name.starts_with("aeapi_harness_"), "{name}");
        assert!(
            name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{name}: snake_case"
        );
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && l.starts_with(name))
            .collect();
        assert!(!samples.is_empty(), "{name} has samples");
        match kind {
            "counter" => assert!(
                samples
                    .iter()
                    .all(|s| s.starts_with(&format!("{name}_total{{")))
            ),
            "histogram" => assert!(name.ends_with("_seconds"), "{name}: durations in seconds"),
            "gauge" => assert!(!name.ends_with("_total"), "{name}"),
            other => panic!("unexpected type {other} for {name}"),
        }
        for s in samples {
            assert!(s.contains(L), "{s}: every series carries suite and shard");
        }
    }
    assert_eq!(types, 12, "{text}");
}

#[test]
fn timeline_has_one_point_per_tick_with_interval_percentiles() {
    let m = Monitor::new(info(), Duration::from_secs(1));
    for ms in 1..=100 {
        m.observe(&sample("acceptEngagement", Some(200), ms, None));
    }
    m.observe_poll_hold("agent", Duration::from_secs(2));
    m.observe_delivery(Direction::CustomerToAgent, Duration::from_millis(12));
    m.set_active_agents(3);
    m.tick();
    m.observe(&sample(
        "acceptEngagement",
        Some(500),
        7,
        Some(ErrorKind::Status),
    ));
    m.tick();
    let s = m.state(0);
    assert_eq!((s.first, s.next, s.points.len()), (0, 2, 2));
    let p = &s.points[0];
    assert_eq!((p.requests, p.errors, p.agents), (100, 0, 3));
    let pct = &p.ops["acceptEngagement"];
    assert_eq!(pct.n, 100);
    assert!((pct.p50 - 50.0).abs() < 0.1, "{pct:?}");
    assert!((pct.p99 - 99.0).abs() < 0.1, "{pct:?}");
    assert_eq!(p.hold.as_ref().map(|h| h.n), Some(1));
    assert_eq!(p.delivery["customer_to_agent"].n, 1);
    // The second interval holds only what came after the first tick.
    let q = &s.points[1];
    assert_eq!((q.requests, q.errors), (101, 1));
    assert_eq!(q.ops["acceptEngagement"].n, 1);
    assert!((q.ops["acceptEngagement"].p99 - 7.0).abs() < 0.01);
    assert_eq!(q.hold, None);
    assert!(q.delivery.is_empty());
    // Asking from `next` gives nothing new.
    let later = m.state(s.next);
    assert_eq!((later.first, later.next, later.points.len()), (2, 2, 0));
}

#[test]
fn timeline_keeps_the_last_points_only() {
    let m = Monitor::new(info(), Duration::from_millis(10));
    for _ in 0..timeline::MAX_POINTS + 5 {
        m.tick();
    }
    let s = m.state(0);
    assert_eq!(s.first, 5);
    assert_eq!(s.next, timeline::MAX_POINTS + 5);
    assert_eq!(s.points.len(), timeline::MAX_POINTS);
    assert_eq!(m.state(s.next - 1).points.len(), 1);
}

#[test]
fn live_json_has_totals_operations_thresholds_and_the_verdict() {
    let m = busy();
    m.tick();
    let json = serde_json::to_value(m.state(0)).expect("serialises");
    assert_eq!(json["run"]["suite"], "smoke");
    assert_eq!(json["run"]["shard"], "2/4");
    assert_eq!(json["requests"], 3);
    assert_eq!(json["errors"], 2);
    assert_eq!(json["agents"], 5);
    assert_eq!(json["engagements"]["offered"], 2);
    assert_eq!(
        json["ops"],
        serde_json::json!([
            {"op": "login", "requests": 2, "errors": 1},
            {"op": "messages.post", "requests": 1, "errors": 1}
        ])
    );
    assert_eq!(
        json["thresholds"],
        serde_json::json!([{"source": "p95(login) < 30ms", "measured": "40 ms", "value": 40.0, "passed": false}])
    );
    assert_eq!(json["finished"], serde_json::Value::Null);
    assert_eq!(json["points"][0]["ops"]["login"]["n"], 2);
    let p50 = json["points"][0]["delivery"]["agent_to_customer"]["p50"]
        .as_f64()
        .unwrap_or(f64::NAN);
    assert!(
        (p50 - 300.0).abs() <= 0.3,
        "{p50}: 300 ms within the HDR's 0.1%"
    );
    m.finish(Finish {
        passed: false,
        exit_code: 1,
        verdict: "failed: 1 threshold broken".into(),
        out_dir: "reports/x".into(),
        reports: vec![ReportLink {
            name: "report.html".into(),
            path: "/nonexistent/report.html".into(),
        }],
    });
    let json = serde_json::to_value(m.state(0)).expect("serialises");
    assert_eq!(
        json["finished"],
        serde_json::json!({"passed": false, "exit_code": 1, "verdict": "failed: 1 threshold broken",
            "out_dir": "reports/x", "reports": [{"name": "report.html"}]})
    );
}

#[test]
fn the_page_loads_nothing_from_elsewhere() {
    let page = server::PAGE;
    for bad in ["src=", "href=\"http", "@import", "url(", "//cdn", "<link"] {
        assert!(!page.contains(bad), "the page contains `{bad}`");
    }
    // Every element id the script looks up exists in the page.
    let ids: Vec<&str> = page
        .split("$(\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|id| !id.ends_with('-'))
        .collect();
    assert!(ids.len() > 10, "{ids:?}");
    for id in ids {
        assert!(page.contains(&format!("id=\"{id}\"")), "no element #{id}");
    }
}

async fn get(url: &str) -> (u16, String, String) {
    let r = reqwest::get(url).await.expect("request");
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ctype, r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn one_address_serves_metrics_page_json_and_reports() {
    let m = busy();
    let addr = "127.0.0.1:0".parse().expect("addr");
    let server = Server::start(
        m.clone(),
        Listen {
            metrics: Some(addr),
            dashboard: Some(addr),
        },
    )
    .await
    .expect("binds");
    let at = server.metrics_addr.expect("bound");
    assert_eq!(server.dashboard_addr, Some(at));
    let base = format!("http://{at}");
    let (status, ctype, body) = get(&format!("{base}/metrics")).await;
    assert_eq!((status, ctype.as_str()), (200, prom::CONTENT_TYPE));
    assert!(body.contains("aeapi_harness_requests_total{"), "{body}");
    let (status, ctype, body) = get(&format!("{base}/")).await;
    assert_eq!((status, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert_eq!(body, server::PAGE);
    let (status, _, body) = get(&format!("{base}/api/live?since=0")).await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["requests"], 3);
    assert_eq!(get(&format!("{base}/reports/report.html")).await.0, 404);

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("summary.txt");
    std::fs::write(&file, "all good\n").expect("write");
    m.finish(Finish {
        passed: true,
        exit_code: 0,
        verdict: "passed".into(),
        out_dir: dir.path().display().to_string(),
        reports: vec![ReportLink {
            name: "summary.txt".into(),
            path: file,
        }],
    });
    let (status, _, body) = get(&format!("{base}/reports/summary.txt")).await;
    assert_eq!((status, body.as_str()), (200, "all good\n"));
    assert_eq!(
        get(&format!("{base}/reports/..%2Fetc%2Fpasswd")).await.0,
        404
    );
    server.stop(Duration::ZERO).await;
    assert!(reqwest::get(format!("{base}/metrics")).await.is_err());
}

#[tokio::test]
async fn separate_addresses_serve_separate_routes() {
    let any = "127.0.0.1:0".parse().ok();
    let server = Server::start(
        busy(),
        Listen {
            metrics: any,
            dashboard: any.map(|a: std::net::SocketAddr| std::net::SocketAddr::new(a.ip(), 0)),
        },
    )
    .await
    .expect("binds");
    // Port 0 twice is the same address: one listener.
    assert_eq!(server.metrics_addr, server.dashboard_addr);
    server.stop(Duration::ZERO).await;

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_addr = taken.local_addr().expect("addr");
    let err = Server::start(
        busy(),
        Listen {
            metrics: any,
            dashboard: Some(busy_addr),
        },
    )
    .await
    .err()
    .expect("a taken port is an error");
    assert_eq!(
        err.to_string(),
        format!("cannot listen on {busy_addr} (--dashboard)")
    );
    assert_eq!(err.source.kind(), std::io::ErrorKind::AddrInUse);
}
