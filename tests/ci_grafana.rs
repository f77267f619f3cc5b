//! `ci/grafana/aeapi-harness.json`, the dashboard for Prometheus-scraped runs, checked for the
//! structure Grafana needs (no Grafana package exists here to load it): panel ids, grid
//! positions and query ids, the data source and suite variables it uses, and PromQL that names
//! only metrics the harness exposes and sums over shards (never split by `shard`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aeapi_harness::live::{EngagementEvent, Monitor, RunInfo, ThresholdState};
use aeapi_harness::metrics::{CheckOutcome, Direction, EngagementEnd, ErrorKind, Sample};
use serde_json::Value;

use crate::bin_common::field_of;

fn dashboard() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ci/grafana/aeapi-harness.json");
    let text = std::fs::read_to_string(path).expect("the dashboard exists");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every series name the harness exposes (with `_bucket`, `_sum`, `_count` for histograms).
fn exposed() -> BTreeSet<String> {
    let m = Monitor::new(
        RunInfo {
            suite: "s".into(),
            shard: "1/1".into(),
            target: "t".into(),
        },
        Duration::from_secs(1),
    );
    m.observe(&Sample {
        op: "login",
        persona: "p",
        status: None,
        latency: Duration::from_millis(1),
        error: Some(ErrorKind::Connect),
        expected_interval: None,
        at: Instant::now(),
    });
    m.observe_checks(&[CheckOutcome {
        check: "status",
        op: "login",
        persona: "p",
        passed: false,
        example: None,
    }]);
    m.observe_poll_hold("p", Duration::from_secs(1));
    m.observe_delivery(Direction::AgentToCustomer, Duration::from_millis(5));
    m.observe_engagement(EngagementEvent::Ended(EngagementEnd::Closed));
    m.set_thresholds(vec![ThresholdState {
        source: "rate(errors) < 1%".into(),
        measured: "0%".into(),
        value: Some(0.0),
        passed: true,
    }]);
    m.exposition()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The identifiers in a PromQL expression that look like harness metric names.
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("aeapi_harness_"))
        .map(str::to_owned)
        .collect()
}

/// Each `by (...)` grouping of an expression.
fn groupings(expr: &str) -> Vec<Vec<String>> {
    expr.match_indices("by (")
        .filter_map(|(i, m)| {
            let rest = &expr[i + m.len()..];
            let end = rest.find(')')?;
            Some(
                rest[..end]
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_dashboard_is_structurally_valid_for_grafana() {
    let d = dashboard();
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        d["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty() && u.len() <= 40)
    );
    assert!(d["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    let vars = field_of(&d["templating"]["list"], "name");
    assert_eq!(vars, ["datasource", "suite"]);
    let panels = d["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().expect("every panel has a title");
        assert!(
            ids.insert(p["id"].as_u64().expect("numeric id")),
            "{title}: duplicate id"
        );
        assert!(
            ["stat", "timeseries", "table"].contains(&p["type"].as_str().unwrap_or("")),
            "{title}: panel type"
        );
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().expect("x"),
            g["y"].as_u64().expect("y"),
            g["w"].as_u64().expect("w"),
            g["h"].as_u64().expect("h"),
        );
        assert!(w > 0 && h > 0 && x + w <= 24, "{title}: gridPos {g}");
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "{title}: overlaps another panel");
            }
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        let refs: BTreeSet<&str> = targets.iter().filter_map(|t| t["refId"].as_str()).collect();
        assert_eq!(
            refs.len(),
            targets.len(),
            "{title}: refIds unique and present"
        );
    }
}

#[test]
fn every_query_names_exposed_metrics_and_sums_over_shards() {
    let exposed = exposed();
    let d = dashboard();
    let mut used = BTreeSet::new();
    for p in d["panels"].as_array().expect("panels") {
        let title = p["title"].as_str().unwrap_or("?");
        for t in p["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("expr");
            assert_eq!(
                expr.matches('(').count(),
                expr.matches(')').count(),
                "{title}: {expr}"
            );
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: {expr}");
            for n in &names {
                assert!(
                    exposed.contains(n),
                    "{title}: `{n}` is not exposed by the harness"
                );
                used.insert(n.clone());
            }
            // Every selector is limited to the chosen suites.
            assert_eq!(
                expr.matches("aeapi_harness_").count(),
                expr.matches("{suite=~\"$suite\"").count(),
                "{title}: {expr}"
            );
            // Aggregated over shards: the outermost call sums (or min/count), never by shard.
            let outer = expr.split('(').next().unwrap_or("").trim();
            assert!(
                ["sum", "sum by", "min by", "count", "histogram_quantile"]
                    .iter()
                    .any(|a| outer.starts_with(a)),
                "{title}: `{expr}` is not aggregated over shards"
            );
            for by in groupings(expr) {
                assert!(
                    !by.iter().any(|l| l == "shard" || l == "instance"),
                    "{title}: {expr}"
                );
            }
            if names.iter().any(|n| n.ends_with("_bucket")) {
                assert!(expr.starts_with("histogram_quantile("), "{title}: {expr}");
                assert!(
                    groupings(expr)
                        .iter()
                        .all(|by| by.iter().any(|l| l == "le")),
                    "{title}: quantiles need `le` kept: {expr}"
                );
            }
        }
    }
    for family in [
        "aeapi_harness_requests_total",
        "aeapi_harness_errors_total",
        "aeapi_harness_checks_total",
        "aeapi_harness_request_duration_seconds_bucket",
        "aeapi_harness_poll_hold_seconds_bucket",
        "aeapi_harness_delivery_seconds_bucket",
        "aeapi_harness_active_agents",
        "aeapi_harness_engagements_total",
        "aeapi_harness_threshold_passing",
    ] {
        assert!(used.contains(family), "no panel shows {family}");
    }
}
