//! `conform` against the simulator with faults switched on: it fails (exit 1) with exactly the
//! violations injected, one test per fault kind, and nothing else fails.

mod conform_common;

use aeapi_harness::exit::Exit;
use conform_common::run;
use serde_json::Value;

/// `(case label, [(check, message or pointer)])` of every case that did not pass.
fn failed(ran: &conform_common::Ran) -> Vec<(String, Vec<(String, String)>)> {
    ran.failures()
        .iter()
        .map(|c| {
            let label = match c["format"].as_str() {
                Some("xml") => format!("{} [xml]", c["case"].as_str().unwrap_or_default()),
                _ => c["case"].as_str().unwrap_or_default().to_string(),
            };
            let problems = c["problems"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .flat_map(|p| {
                    let check = p["check"].as_str().unwrap_or_default().to_string();
                    let v: Vec<Value> = p["violations"].as_array().cloned().unwrap_or_default();
                    if v.is_empty() {
                        vec![(check, p["message"].as_str().unwrap_or_default().to_string())]
                    } else {
                        v.iter()
                            .map(|x| {
                                (
                                    check.clone(),
                                    format!(
                                        "{} {}",
                                        x["pointer"].as_str().unwrap_or_default(),
                                        x["message"].as_str().unwrap_or_default()
                                    ),
                                )
                            })
                            .collect()
                    }
                })
                .collect();
            (label, problems)
        })
        .collect()
}

#[test]
fn schema_drift_fails_the_positive_cases_at_the_drifted_fields() {
    let ran = run(
        "login",
        Some(
            "ops:\n  - op: login\n    drift:\n      - {field: publicUserId, action: drop}\n      - {field: registeredId, action: retype, to: number}\n",
        ),
    );
    assert_eq!(ran.exit, Exit::Failed, "{}", ran.err);
    let required = (
        "schema".to_string(),
        " \"publicUserId\" is a required property".to_string(),
    );
    assert_eq!(
        failed(&ran),
        vec![
            (
                "positive".to_string(),
                vec![
                    required.clone(),
                    (
                        "schema".to_string(),
                        "/registeredId value is not of type \"string\"".to_string()
                    ),
                ]
            ),
            ("positive [xml]".to_string(), vec![required]),
        ],
        "{}",
        ran.out
    );
}

#[test]
fn injected_errors_fail_every_case_of_the_operation_with_their_status() {
    let ran = run(
        "verifySession",
        Some("ops:\n  - {op: verifySession, error_rate: 1.0, error_status: 503}\n"),
    );
    assert_eq!(ran.exit, Exit::Failed, "{}", ran.err);
    let got = failed(&ran);
    let labels: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        vec![
            "positive",
            "positive [xml]",
            "missing registeredId",
            "missing agentId",
            "unknown registeredId",
            "no token",
            "expired token"
        ]
    );
    for (label, problems) in &got {
        // The expired-token case also misses its "Access Token Expired" text.
        let want = if label == "expired token" { 2 } else { 1 };
        assert_eq!(problems.len(), want, "{label}: {problems:?}");
        assert_eq!(problems[0].0, "status", "{label}");
        assert!(
            problems[0].1.ends_with(", got 503"),
            "{label}: {}",
            problems[0].1
        );
    }
}

#[test]
fn injected_latency_fails_the_budget_of_the_positive_cases_only() {
    let ran = run(
        "verifySession",
        Some("ops:\n  - {op: verifySession, latency: 600ms}\n"),
    );
    assert_eq!(ran.exit, Exit::Failed, "{}", ran.err);
    let got = failed(&ran);
    let labels: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, vec!["positive", "positive [xml]"]);
    for (label, problems) in &got {
        assert_eq!(problems.len(), 1, "{label}: {problems:?}");
        assert_eq!(problems[0].0, "within", "{label}");
        assert!(
            problems[0].1.ends_with("budget 500.0 ms"),
            "{label}: {}",
            problems[0].1
        );
    }
}
