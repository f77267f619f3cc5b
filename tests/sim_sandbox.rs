//! Regression tests for the inconsistencies a client written from the reference alone found in
//! the simulator (issue 16), one test named for each.

mod sim_common;

use axum::http::StatusCode;
use serde_json::Value;
use sim_common::*;

/// The offer's engagement settings of agent1's first offer.
async fn offer_settings(app: &axum::Router, auth: &str, reg: &str) -> Value {
    let got = poll_now(app, auth, reg, "agent1").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let e = &got.body["engagements"][0];
    // The offer is a newRequest message; its settings sit on the engagement.
    e.get("settings")
        .cloned()
        .or_else(|| e["messages"][0].get("settings").cloned())
        .unwrap_or_else(|| panic!("no settings in {e}"))
}

#[tokio::test]
async fn offer_names_group_and_unit_as_agent_groups_and_settings_do() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    customer_engagement(&app, &auth).await;
    let offer = offer_settings(&app, &auth, &reg).await;
    let groups = get(&app, &auth, &format!("{A}/agentGroups?output=json")).await;
    let g = groups.body["agentGroups"]
        .as_array()
        .and_then(|l| l.iter().find(|g| g["id"] == offer["agentGroupId"]))
        .unwrap_or_else(|| panic!("group {} not in {}", offer["agentGroupId"], groups.text))
        .clone();
    assert_eq!(offer["agentGroupId"], "1");
    assert_eq!(offer["agentGroupName"], g["name"]);
    assert_eq!(offer["agentGroupName"], "GeneralSales");
    assert_eq!(offer["businessUnitId"], g["businessUnitId"]);
    assert_eq!(offer["businessUnitId"], "22");
    assert_eq!(offer["businessUnitName"], g["businessUnitName"]);
    assert_eq!(offer["businessUnitName"], "ConsumerSales");
    assert_eq!(offer["siteId"], "306");
}

#[tokio::test]
async fn customer_engagement_refuses_a_unit_of_another_site() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    for op in ["engagement", "agentAvailability"] {
        let got = get(
            &app,
            &auth,
            &format!("{C}/{op}?siteID=154&businessUnitID=22"),
        )
        .await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{op}: {}", got.text);
        assert_eq!(got.body["parameter"], "businessUnitID", "{op}");
        assert!(
            got.text.contains("belongs to site 306, not site 154"),
            "{op}: {}",
            got.text
        );
    }
    // The other site's own unit is served, on its first group.
    let got = get(
        &app,
        &auth,
        &format!("{C}/engagement?siteID=154&businessUnitID=23"),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
}

#[tokio::test]
async fn customer_engagement_without_a_unit_takes_the_sites_unit_unless_strict() {
    // Lenient (default): the configured unit on its site, else the site's first unit.
    let (_, app, auth, reg) = with_agent1(config()).await;
    let got = get(&app, &auth, &format!("{C}/engagement?siteID=306")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["status"], "ACCEPTED");
    let offer = offer_settings(&app, &auth, &reg).await;
    assert_eq!(
        (&offer["businessUnitId"], &offer["agentGroupId"]),
        (&Value::from("22"), &Value::from("1"))
    );
    let got = get(&app, &auth, &format!("{C}/engagement?siteID=154")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["status"], "QUEUED", "nobody is in group 4");

    // Strict: businessUnitID is required.
    let mut strict = config();
    strict.strict = true;
    let (_, app) = sim(strict);
    let auth = bearer(&app).await;
    let got = get(&app, &auth, &format!("{C}/engagement?siteID=306")).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text);
    assert_eq!(got.body["parameter"], "businessUnitID");
    // agentAvailability requires it either way (suites/conformance.yaml checks the 400).
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let got = get(&app, &auth, &format!("{C}/agentAvailability?siteID=306")).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text);
}
