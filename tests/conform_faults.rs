//! `conform` against the simulator with faults switched on: it fails (exit 1) with exactly the
//! violations injected, one test per fault kind, and nothing else fails.

use crate::conform_common::{label, run, text};
use aeapi_harness::exit::Exit;
use serde_json::Value;

/// `(operation, case label, [(check, message or pointer)])` of every case that did not pass.
type Failed = Vec<(String, String, Vec<(String, String)>)>;

fn failed(ran: &crate::conform_common::Ran) -> Failed {
    ran.failures()
        .iter()
        .map(|c| {
            let problems = c["problems"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .flat_map(|p| {
                    let check = text(&p["check"]);
                    let v: Vec<Value> = p["violations"].as_array().cloned().unwrap_or_default();
                    if v.is_empty() {
                        vec![(check, text(&p["message"]))]
                    } else {
                        v.iter()
                            .map(|x| {
                                let at = format!("{} {}", text(&x["pointer"]), text(&x["message"]));
                                (check.clone(), at)
                            })
                            .collect()
                    }
                })
                .collect();
            (text(&c["operation"]), label(c), problems)
        })
        .collect()
}

/// The operations in `ran` that also ran `unaffected`, each with at least one case, all passed:
/// a fault on one operation shows on that operation alone.
fn assert_untouched(ran: &crate::conform_common::Ran, unaffected: &[&str]) {
    let results = ran.results();
    for op in unaffected {
        let mine: Vec<_> = results.iter().filter(|(o, _, _)| o == op).collect();
        assert!(mine.len() > 1, "{op}: its cases did not run: {results:?}");
        assert!(
            mine.iter().all(|(_, _, r)| r == "passed"),
            "{op} was not faulted but: {mine:?}"
        );
    }
}

/// Runs `only` with `op`'s answers drifted (`dropped` left out, `retyped` made a number) and
/// checks that exactly `op`'s positive cases fail, at those fields (in XML a number is text, so
/// only the dropped field shows), and that the `untouched` operations all pass.
fn drift_fails_exactly(only: &str, op: &str, dropped: &str, retyped: &str, untouched: &[&str]) {
    let faults = format!(
        "ops:\n  - op: {op}\n    drift:\n      - {{field: {dropped}, action: drop}}\n      - {{field: {retyped}, action: retype, to: number}}\n"
    );
    let ran = run(only, Some(&faults));
    assert_eq!(ran.exit, Exit::Failed, "{}", ran.err);
    let required = (
        "schema".to_string(),
        format!(" \"{dropped}\" is a required property"),
    );
    let retype = (
        "schema".to_string(),
        format!("/{retyped} value is not of type \"string\""),
    );
    assert_eq!(
        failed(&ran),
        vec![
            (
                op.to_string(),
                "positive".to_string(),
                vec![required.clone(), retype]
            ),
            (op.to_string(), "positive [xml]".to_string(), vec![required]),
        ],
        "{}",
        ran.out
    );
    assert_untouched(&ran, untouched);
}

#[test]
fn schema_drift_fails_the_positive_cases_at_the_drifted_fields() {
    // The other operations need no session: a drifted login answer could not set one up.
    drift_fails_exactly(
        "login,preLoginStatus,agentAvailability",
        "login",
        "publicUserId",
        "registeredId",
        &["preLoginStatus", "agentAvailability"],
    );
}

/// Runs verifySession and summaryData with `fault` on verifySession: the run fails, on
/// verifySession's cases only, and summaryData's all pass. Returns the failed cases and their
/// labels.
fn verify_session_faulted(fault: &str) -> (Failed, Vec<String>) {
    let faults = format!("ops:\n  - {{op: verifySession, {fault}}}\n");
    let ran = run("verifySession,summaryData", Some(&faults));
    assert_eq!(ran.exit, Exit::Failed, "{}", ran.err);
    let got = failed(&ran);
    assert!(
        got.iter().all(|(op, _, _)| op == "verifySession"),
        "{got:?}"
    );
    assert_untouched(&ran, &["summaryData"]);
    let labels = got.iter().map(|(_, l, _)| l.clone()).collect();
    (got, labels)
}

#[test]
fn injected_errors_fail_every_case_of_the_operation_with_their_status() {
    let (got, labels) = verify_session_faulted("error_rate: 1.0, error_status: 503");
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
    for (_, label, problems) in &got {
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
    let (got, labels) = verify_session_faulted("latency: 600ms");
    assert_eq!(labels, vec!["positive", "positive [xml]"]);
    for (_, label, problems) in &got {
        assert_eq!(problems.len(), 1, "{label}: {problems:?}");
        assert_eq!(problems[0].0, "within", "{label}");
        assert!(
            problems[0].1.ends_with("budget 500.0 ms"),
            "{label}: {}",
            problems[0].1
        );
    }
}

#[test]
fn schema_drift_is_caught_behind_a_conference_fixture() {
    // acceptOwnership's positive case needs a conference with an ownership transfer pending:
    // the drift shows there, and the fixture's own calls (other operations) are untouched.
    drift_fails_exactly(
        "acceptOwnership,conferenceMode",
        "acceptOwnership",
        "reason",
        "status",
        &["conferenceMode"],
    );
}
