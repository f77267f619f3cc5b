//! Customer-side routes of the simulator and their rejections.

use crate::sim_common::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn agent_availability_follows_free_agents_on_get_and_post() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let uri = format!("{C}/agentAvailability?siteID=306&businessUnitID=22&output=json");
    let got = get(&app, &auth, &uri).await;
    assert_eq!(
        got.body,
        json!({"availability": false, "status": "offline", "inHOP": true})
    );
    let reg = login(&app, &auth, "agent1").await;
    let got = call(&app, Method::POST, &uri, Some(&auth), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.body,
        json!({"availability": true, "status": "online", "inHOP": true})
    );
    set_state(&app, &auth, &reg, "agent1", "busy").await;
    let got = get(&app, &auth, &uri).await;
    assert_eq!(got.body["availability"], false);

    for (q, parameter) in [
        ("businessUnitID=22", "siteID"),
        ("siteID=306&businessUnitID=23", "businessUnitID"),
    ] {
        let got = get(&app, &auth, &format!("{C}/agentAvailability?{q}")).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(got.body["parameter"], parameter, "{q}");
    }
}

#[tokio::test]
async fn customer_calls_reject_bad_ids_and_values() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let (eid, cid, status) = customer_engagement(&app, &auth).await;
    assert_eq!(status, "QUEUED");
    let got = get(&app, &auth, &format!("{C}/engagement?businessUnitID=22")).await;
    assert_eq!(got.body["parameter"], "siteID");

    let got = get(&app, &auth, &format!("{C}/message?engagementID={eid}")).await;
    assert_eq!(
        (got.status, got.body["parameter"].clone()),
        (StatusCode::BAD_REQUEST, json!("customerID"))
    );
    for q in [
        format!("customerID=1&engagementID={eid}"),
        format!("customerID=abc&engagementID={eid}"),
        format!("customerID={cid}&engagementID=1"),
    ] {
        let got = get(&app, &auth, &format!("{C}/message?{q}")).await;
        assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{q}");
    }

    let ids = (eid.as_str(), cid.as_str());
    let bad: [(&[(&str, &str)], &str); 3] = [
        (
            &[("messageType", "fax"), ("messageText", "x")],
            "messageType",
        ),
        (&[], "messageText"),
        (
            &[("messageType", "stateChange"), ("state", "open")],
            "state",
        ),
    ];
    for (extra, parameter) in bad {
        let got = customer_send(&app, &auth, ids, extra).await;
        assert_eq!(got.body["parameter"], parameter, "{extra:?}");
    }

    let typing = |v: &str| format!("{C}/customerIsTyping?customerID={cid}&engagementID={eid}{v}");
    for v in ["", "&isTyping=sometimes"] {
        let got = call(&app, Method::POST, &typing(v), Some(&auth), None).await;
        assert_eq!(got.body["parameter"], "isTyping", "{v}");
    }
    let got = call(
        &app,
        Method::POST,
        &typing("&isTyping=false"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);

    // Closing a queued engagement takes it out of the queue: a later agent gets no offer.
    let got = customer_close(&app, &auth, ids).await;
    assert_eq!(got.status, StatusCode::OK);
    let got = customer_send(&app, &auth, ids, &[("messageText", "still there?")]).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reg = login(&app, &auth, "agent1").await;
    assert_eq!(
        poll_now(&app, &auth, &reg, "agent1").await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_customer_closing_during_the_offer_withdraws_it() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let (eid, cid, status) = customer_engagement(&app, &auth).await;
    assert_eq!(status, "ACCEPTED");
    customer_close(&app, &auth, (&eid, &cid)).await;
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    let msgs = &got.body["engagements"][0]["messages"];
    assert_eq!(msgs[0]["messageType"], "newRequest");
    assert_eq!(msgs[1]["state"], "customerClosedEngagement");
    let got = accept(&app, &auth, &reg, &eid).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The agent's slot is free again.
    let (_, _, status) = customer_engagement(&app, &auth).await;
    assert_eq!(status, "ACCEPTED");
}

#[tokio::test]
async fn head_requests_and_trailing_junk_never_500() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let got = call(
        &app,
        Method::HEAD,
        &format!("{A}/messages?registeredId={reg}&instantResponse=true"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::NO_CONTENT);
    for uri in [
        format!("{A}/messages?registeredId=%ZZ&instantResponse=true"),
        format!("{A}/messages?registeredId=-&instantResponse=true"),
        format!("{A}/messages?registeredId=99999999999999999999999-zz&instantResponse=true"),
        format!("{A}/messages?registeredId={reg}&agentId=%00"),
    ] {
        let got = get(&app, &auth, &uri).await;
        assert!(got.status.is_client_error(), "{uri}: {}", got.status);
    }
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/login"),
        Some(&auth),
        Some((
            "application/x-www-form-urlencoded",
            "\u{0}=\u{ff}&&==".into(),
        )),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn agent_data_pass_reaches_the_agent_verbatim() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    accept(&app, &auth, &reg, &eid).await;
    poll_now(&app, &auth, &reg, "agent1").await;
    let payload = r#"{"cart":"3 items","tier":"gold"}"#;
    let pass = [("messageType", "agentDataPass"), ("messageText", payload)];
    let got = customer_send(&app, &auth, (&eid, &cid), &pass).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    let m = &got.body["engagements"][0]["messages"][0];
    assert_eq!(m["messageType"], "agentDataPass");
    assert_eq!(m["messageText"], payload);
}
