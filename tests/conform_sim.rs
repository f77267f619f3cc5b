//! `conform` against the embedded simulator: every case of the operations it serves passes, in
//! JSON and in XML, and the reports say so.

mod conform_common;

use aeapi_harness::exit::Exit;
use conform_common::{SERVED, run};

#[test]
fn every_served_case_passes_in_json_and_xml() {
    let ran = run(SERVED, None);
    assert_eq!(ran.exit, Exit::Passed, "{:#?}\n{}", ran.failures(), ran.err);
    assert_eq!(ran.failures(), Vec::<serde_json::Value>::new());
    let results = ran.results();
    for op in SERVED.split(',') {
        assert!(
            results.iter().any(|(o, c, _)| o == op && c == "positive"),
            "{op}: no positive case ran"
        );
    }
    for op in [
        "token",
        "preLoginStatus",
        "login",
        "agentStatus",
        "verifySession",
        "messages.get",
        "messages.post",
        "acceptEngagement",
        "denyEngagement",
        "joinEngagement",
        "closeEngagement",
        "dispositions",
        "agentAvailability",
    ] {
        let positive = |label: &str| results.iter().any(|(o, c, _)| o == op && c == label);
        assert!(positive("positive"), "{op}: no JSON positive case");
        if op != "token" {
            assert!(positive("positive [xml]"), "{op}: no XML positive case");
        }
    }
    for wanted in [
        ("acceptEngagement", "late accept"),
        ("acceptEngagement", "another agent's engagement"),
        ("login", "expired token"),
        ("dispositions", "site outside the token"),
        ("closeEngagement", "missing engagementId"),
        ("verifySession", "unknown registeredId"),
    ] {
        assert!(
            results
                .iter()
                .any(|(o, c, r)| (o.as_str(), c.as_str()) == wanted && r == "passed"),
            "{wanted:?} missing from {results:?}"
        );
    }
    assert_eq!(ran.json["summary"]["failed"], 0);
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
