//! `conform` against the embedded simulator: every case of the 47 operations passes, in JSON and
//! in XML, and the reports say so.

use crate::conform_common::{SERVED, run};
use aeapi_harness::exit::Exit;

#[test]
fn every_served_case_passes_in_json_and_xml() {
    let ran = run(SERVED, None);
    assert_eq!(ran.exit, Exit::Passed, "{:#?}\n{}", ran.failures(), ran.err);
    assert_eq!(ran.failures(), Vec::<serde_json::Value>::new());
    let results = ran.results();
    let mut served: Vec<&str> = SERVED.split(',').collect();
    let mut table: Vec<&str> = aeapi_harness::aeapi::ops::OPERATIONS
        .iter()
        .map(|o| o.name)
        .collect();
    served.sort_unstable();
    table.sort_unstable();
    assert_eq!(served, table, "SERVED is not the reference's 47 operations");
    for op in SERVED.split(',') {
        let passed = |label: &str| {
            results
                .iter()
                .any(|(o, c, r)| o == op && c == label && r == "passed")
        };
        assert!(passed("positive"), "{op}: no JSON positive case passed");
        // The auth server answers JSON only (`xml: false` in the suite).
        if op != "token" {
            assert!(
                passed("positive [xml]"),
                "{op}: no XML positive case passed"
            );
        }
    }
    for wanted in [
        ("acceptEngagement", "late accept"),
        ("acceptEngagement", "another agent's engagement"),
        ("login", "expired token"),
        ("dispositions", "site outside the token"),
        ("closeEngagement", "missing engagementId"),
        ("verifySession", "unknown registeredId"),
        // Optional in the reference, so leaving them out still succeeds.
        ("followUpEngagement", "without conversationId"),
        ("transferOwnership", "without targetAgentId"),
        ("acceptOwnership", "another agent's engagement"),
    ] {
        assert!(
            results
                .iter()
                .any(|(o, c, r)| (o.as_str(), c.as_str()) == wanted && r == "passed"),
            "{wanted:?} missing from {results:?}"
        );
    }
    assert_eq!(ran.json["summary"]["failed"], 0);
    assert_eq!(ran.json["summary"]["passed"], ran.json["summary"]["cases"]);
    assert!(ran.out.contains(" cases: "), "{}", ran.out);
    let junit = std::fs::read_to_string(ran.dir.path().join("junit.xml")).unwrap_or_default();
    assert!(junit.contains("classname=\"acceptEngagement\""));
    // "eyJ" starts every JWT: no access token, whole or cut off, reaches a report.
    for secret in ["ceapiClientSecret", "agent-password", "eyJ"] {
        assert!(!junit.contains(secret), "{secret} in junit.xml");
        assert!(!ran.out.contains(secret), "{secret} in the table");
        assert!(
            !ran.json.to_string().contains(secret),
            "{secret} in conform.json"
        );
    }
}

#[test]
fn conference_cases_need_three_agents_in_the_pool() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut p = crate::conform_common::suite_plan(dir.path());
    p.suite.agents.truncate(2);
    let err = aeapi_harness::conform::ConformPlan::build(&p, Some("conferenceMode"))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "conference cases need at least three agents in the pool (a shared one, an owner \
             and a guest); the pool has 2"
        )
    );
    // Two are enough for everything else.
    assert!(aeapi_harness::conform::ConformPlan::build(&p, Some("closeEngagement")).is_ok());
}
