//! Regression tests for the inconsistencies a client written from the reference alone found in
//! the simulator (issue 16), one test named for each.

use crate::sim_common::*;
use axum::http::StatusCode;
use serde_json::Value;

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
async fn item2_offer_names_group_and_unit_as_agent_groups_and_settings_do() {
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
async fn item3_customer_engagement_refuses_a_unit_of_another_site() {
    let (app, auth) = app_and_token().await;
    for op in ["engagement", "agentAvailability"] {
        let uri = format!("{C}/{op}?siteID=154&businessUnitID=22");
        let got = get(&app, &auth, &uri).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{op}: {}", got.text);
        assert_eq!(got.body["parameter"], "businessUnitID", "{op}");
        assert!(
            got.text.contains("belongs to site 306, not site 154"),
            "{op}: {}",
            got.text
        );
    }
    // The other site's own unit is served, on its first group.
    let uri = format!("{C}/engagement?siteID=154&businessUnitID=23");
    let got = get(&app, &auth, &uri).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
}

#[tokio::test]
async fn item1_customer_engagement_without_a_unit_takes_the_sites_unit_unless_strict() {
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

/// The figures of one unit or group (everything but names and lists).
fn figures(v: &Value) -> Vec<(String, Value)> {
    let keys = [
        "availableAgents",
        "availableEngagementSlots",
        "availableSlots",
        "busyEngagementSlots",
        "engagementsInQueue",
        "totalAgents",
        "totalEngagementSlots",
    ];
    keys.iter()
        .map(|k| (k.to_string(), v[*k].clone()))
        .collect()
}

fn slots_add_up(what: &str, v: &Value) {
    let n = |k: &str| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("{what}: no {k} in {v}"))
    };
    assert_eq!(
        n("availableEngagementSlots") + n("busyEngagementSlots"),
        n("totalEngagementSlots"),
        "{what}: {v}"
    );
    assert_eq!(n("availableSlots"), n("availableEngagementSlots"), "{what}");
}

#[tokio::test]
async fn item4_summary_data_and_transfer_options_agree_and_slots_add_up() {
    // agent1 holds a chat, agent2 is available, agent3 is logged in but busy.
    let w = world(config(), true).await;
    let reg3 = login(&w.app, &w.auth, "agent3").await;
    set_state(&w.app, &w.auth, &reg3, "agent3", "busy").await;
    let agent1 = format!("registeredId={}&agentId=agent1", w.reg1);
    let summary = w.get("summaryData", &format!("{agent1}&output=json")).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    let query = format!("{agent1}&engagementId={}&output=json", w.eid);
    let options = w.get("transferConferenceOptions", &query).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.text);
    let s_unit = &summary.body["businessUnits"][0];
    let o_unit = &options.body["businessUnit"][0];
    assert_eq!(s_unit["id"], "22");
    assert_eq!(o_unit["id"], "22");
    let s_group = &s_unit["agentGroups"][0];
    let o_group = o_unit["agentGroups"]
        .as_array()
        .and_then(|l| l.iter().find(|g| g["id"] == s_group["id"]))
        .unwrap_or_else(|| panic!("group {} missing: {}", s_group["id"], options.text));
    assert_eq!(figures(s_group), figures(o_group));
    assert_eq!(figures(s_unit), figures(o_unit));
    for (what, v) in [
        ("summary group", s_group),
        ("summary unit", s_unit),
        ("options group", o_group),
        ("options unit", o_unit),
    ] {
        slots_add_up(what, v);
    }
    // 3 agents with one slot each: agent1's is taken, agent3's held (busy), agent2's free.
    assert_eq!(
        (
            &s_group["totalAgents"],
            &s_group["availableAgents"],
            &s_group["totalEngagementSlots"],
            &s_group["busyEngagementSlots"],
            &s_group["availableEngagementSlots"]
        ),
        (
            &Value::from(3),
            &Value::from(2),
            &Value::from(3),
            &Value::from(2),
            &Value::from(1)
        )
    );
    // The agents already in the engagement are not listed as targets.
    let listed: Vec<&Value> = o_group["agents"]
        .as_array()
        .map(|l| l.iter().map(|a| &a["id"]).collect())
        .unwrap_or_default();
    assert_eq!(listed, [&Value::from("agent2")]);
}

#[tokio::test]
async fn item8_json_body_of_the_wrong_type_is_refused() {
    let w = world(config(), false).await;
    let uri = format!("{A}/customSettings?agentID=agent1&output=json");
    for (body, parameter) in [
        (serde_json::json!({"showAlerts": {}}), "showAlerts"),
        (serde_json::json!({"showAlerts": []}), "showAlerts"),
        (serde_json::json!({"showAlerts": null}), "showAlerts"),
        (serde_json::json!({"showAlerts": 1}), "showAlerts"),
        (serde_json::json!({"language": {"x": 1}}), "language"),
        (serde_json::json!({"fontSize": "big"}), "fontSize"),
        (serde_json::json!({"fontSize": 1.5}), "fontSize"),
    ] {
        let got = post_json(&w.app, &w.auth, &uri, body.clone()).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{body}: {}", got.text);
        assert_eq!(got.body["parameter"], parameter, "{body}");
    }
    let got = post_json(
        &w.app,
        &w.auth,
        &uri,
        serde_json::json!({"showAlerts": true, "fontSize": 12}),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);

    // A number where a string belongs: written out by default, refused when strict.
    let (reg, eid) = (&w.reg1, &w.eid);
    let line = serde_json::json!({"agentId": "agent1", "engagementId": eid.parse::<u64>().unwrap_or(0),
        "messageType": "chatLine", "messageText": "hi", "chatLineReceiverType": "external"});
    let got = w
        .post(&format!("messages?registeredId={reg}"), line.clone())
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let mut strict = config();
    strict.strict = true;
    let s = world(strict, false).await;
    let line = serde_json::json!({"agentId": "agent1", "engagementId": s.eid.parse::<u64>().unwrap_or(0),
        "messageType": "chatLine", "messageText": "hi", "chatLineReceiverType": "external"});
    let got = s
        .post(&format!("messages?registeredId={}", s.reg1), line)
        .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text);
    assert_eq!(got.body["parameter"], "engagementId");

    // `output=` (empty) is no format.
    let got = get(&w.app, &w.auth, &format!("{A}/agentGroups?output=")).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text);
    assert_eq!(got.body["parameter"], "output");
}

#[tokio::test]
async fn item5_followup_engagement_reaches_the_agents_long_poll() {
    let w = world(config(), false).await;
    w.customer_says("my order is late").await;
    let got = w.op(1, "closeEngagement", &[("followUp", "true")]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    w.poll(1).await;
    let uri = format!(
        "{A}/followUpEngagement?registeredId={}&agentId=agent1",
        w.reg1
    );
    let got = post_json(&w.app, &w.auth, &uri, serde_json::json!({})).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    // A long poll (no instantResponse) answers at once with the resumed conversation.
    let q = format!("registeredId={}&agentId=agent1&output=json", w.reg1);
    let got = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        get(&w.app, &w.auth, &format!("{A}/messages?{q}")),
    )
    .await
    .unwrap_or_else(|_| panic!("the long poll did not answer"));
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let e = &got.body["engagements"][0];
    assert_eq!(e["id"], w.eid.as_str());
    assert_eq!(e["settings"]["agentGroupId"], "1", "{e}");
    let offer = e["messages"]
        .as_array()
        .and_then(|l| l.iter().find(|m| m["messageType"] == "newRequest"))
        .unwrap_or_else(|| panic!("no newRequest in {e}"));
    assert_eq!(offer["requestType"], "engagement");
    let transcript = offer["transcript"].to_string();
    assert!(transcript.contains("my order is late"), "{offer}");
}

#[tokio::test]
async fn item6_parameters_accepted_where_the_reference_table_or_example_puts_them() {
    let w = world(config(), false).await;
    // logging/agent without registeredId (the reference's example, line 1807): agentId names
    // the agent's session.
    let log_line = serde_json::json!({"agentId": "agent1", "engagementId": w.eid, "message": "hi"});
    let log_uri = format!("{A}/logging/agent?output=json");
    let got = post_json(&w.app, &w.auth, &log_uri, log_line.clone()).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let stranger = serde_json::json!({"agentId": "agent9", "engagementId": w.eid});
    let got = post_json(&w.app, &w.auth, &log_uri, stranger).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    // customSettings: agentID in the body (the reference's example) as well as the query.
    let settings = serde_json::json!({"agentId": "agent1", "showAlerts": true});
    let got = w.post("customSettings?output=json", settings.clone()).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    // followUpEngagement with agentId in the body.
    let got = w.op(1, "closeEngagement", &[("followUp", "true")]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = w
        .post(
            &format!("followUpEngagement?registeredId={}&output=json", w.reg1),
            serde_json::json!({"agentId": "agent1"}),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["engagementId"], w.eid.as_str());

    // strict: where the reference's table puts them.
    let mut strict = config();
    strict.strict = true;
    let s = world(strict, false).await;
    let got = s.post("customSettings?output=json", settings).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text);
    assert_eq!(got.body["parameter"], "agentID");
    let got = post_json(&s.app, &s.auth, &log_uri, log_line).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text);
    assert_eq!(got.body["parameter"], "registeredId");
}

/// Issue 16, item 7: every enumerated or bounded parameter of the operation table (which the
/// OpenAPI document lists as `enum`, `minimum`/`maximum`) is enforced on every operation, in the
/// body or the query, before anything else about the request is looked at.
#[tokio::test]
async fn item7_every_enumerated_value_in_the_document_is_enforced() {
    use aeapi_harness::aeapi::ops::{self, Method as OpMethod, ParamIn};
    use axum::http::Method;
    let (app, auth) = app_and_token().await;
    let mut checked = 0;
    for op in ops::served().filter(|op| op.name != "token") {
        for p in op.params() {
            let bad = match (p.allowed(), p.bounds()) {
                (Some(_), _) => "bogus".to_string(),
                (None, Some((_, hi))) => (hi + 1).to_string(),
                _ => continue,
            };
            let (method, body) = match op.method {
                OpMethod::Get => (Method::GET, None),
                OpMethod::Post => (Method::POST, form(&[(p.name, &bad)])),
            };
            let uri = match p.location {
                ParamIn::Query => format!("{}?{}={bad}&output=json", op.path, p.name),
                _ => format!("{}?output=json", op.path),
            };
            let got = call(&app, method, &uri, Some(&auth), body).await;
            assert_eq!(
                got.status,
                StatusCode::BAD_REQUEST,
                "{}: {}",
                op.name,
                got.text
            );
            assert_eq!(got.body["parameter"], p.name, "{}: {}", op.name, got.text);
            let doc = aeapi_harness::sim::openapi_document();
            let schema = doc["paths"][op.path][op.method.as_str().to_ascii_lowercase()]
                ["requestBody"]["content"]["application/json"]["schema"]["properties"][p.name]
                .clone();
            assert!(
                schema.get("enum").is_some() || schema.get("maximum").is_some(),
                "{}: {} undocumented: {schema}",
                op.name,
                p.name
            );
            checked += 1;
        }
    }
    // agentStatus, messages.post (3), closeEngagement, customSettings (3), resolution code,
    // smsCommand, webrtc action, customer message (2).
    assert_eq!(checked, 13);
    let got = post_form(
        &app,
        &auth,
        &format!("{A}/agentStatus?registeredId=x"),
        &[("state", "away")],
    )
    .await;
    assert_eq!(
        got.body["message"],
        "invalid parameter `state`: expected available or busy, found `away`"
    );
}
