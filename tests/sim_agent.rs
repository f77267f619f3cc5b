//! Agent-side routes of the simulator: login, status, long-poll, offers, lines, close, errors.

use std::time::Duration;

use crate::sim_common::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn login_returns_the_reference_fields_from_form_or_json() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let creds = json!({"username": "agent1", "password": "agent-password"});
    let got = post_json(&app, &auth, &format!("{A}/login?output=json"), creds).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["loginAsAvailable"], true);
    assert_eq!(got.body["status"], "success");
    assert_eq!(got.body["userId"], "agent1");
    assert!(got.body["publicUserId"].is_string());
    assert!(got.body["registeredId"].is_string());
    let reg = login(&app, &auth, "agent2").await;
    let ok = verify(&app, &auth, &reg, "agent2").await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn a_second_login_replaces_the_first_session() {
    let (_, app, auth, first) = with_agent1(config()).await;
    let second = login(&app, &auth, "agent1").await;
    assert_ne!(first, second);
    for (reg, user, status) in [
        (&first, "agent1", StatusCode::UNAUTHORIZED),
        (&second, "agent1", StatusCode::OK),
        (&second, "agent2", StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(
            verify(&app, &auth, reg, user).await.status,
            status,
            "{user}"
        );
    }
    let got = agent_post(&app, &auth, "verifySession", &second, &[]).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "agentId");
}

#[tokio::test(start_paused = true)]
async fn long_poll_holds_until_an_offer_arrives_and_204s_after_the_hold() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let start = tokio::time::Instant::now();
    let uri = format!("{A}/messages?registeredId={reg}&agentId=agent1");
    let got = get(&app, &auth, &uri).await;
    assert_eq!(got.status, StatusCode::NO_CONTENT);
    assert_eq!(start.elapsed(), Duration::from_secs(20));

    let poll = spawn_get(&app, &auth, uri);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (eid, _, status) = customer_engagement(&app, &auth).await;
    assert_eq!(status, "ACCEPTED");
    let got = poll.await.expect("poll task");
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["engagements"][0]["id"], eid.as_str());
    assert_eq!(
        got.body["engagements"][0]["messages"][0]["messageType"],
        "newRequest"
    );
    assert_eq!(
        got.body["engagements"][0]["messages"][0]["requestType"],
        "engagement"
    );
    assert_eq!(got.body["engagements"][0]["settings"]["siteId"], "306");
    assert_eq!(start.elapsed(), Duration::from_secs(23));
}

#[tokio::test]
async fn full_engagement_through_the_router() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    let offer = poll_now(&app, &auth, &reg, "agent1").await;
    assert_eq!(offer.body["engagements"][0]["id"], eid.as_str());

    let me = (reg.as_str(), "agent1");
    let got = agent_op(&app, &auth, me, "acceptEngagement", &eid, &[]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    // The initial message arrives after accept.
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    let msgs = &got.body["engagements"][0]["messages"];
    assert_eq!(msgs[0]["messageType"], "chatLine");
    assert_eq!(msgs[0]["messageText"], "hello");
    assert_eq!(msgs[0]["chatLineReceiverType"], "external");

    let typing = [("state", "agentIsTyping")];
    let got = agent_op(&app, &auth, me, "messages", &eid, &typing).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    for (text, receiver) in [
        ("How can I help?", "external"),
        ("note to supervisor", "internal"),
    ] {
        let line = [
            ("messageType", "chatLine"),
            ("messageText", text),
            ("chatLineReceiverType", receiver),
        ];
        let got = agent_op(&app, &auth, me, "messages", &eid, &line).await;
        assert_eq!(got.status, StatusCode::OK, "{text}");
    }

    let seen = customer_messages(&app, &auth, &eid, &cid).await;
    assert_eq!(
        seen,
        vec![
            json!({"messageType": "stateChange", "state": "agentConnected"}),
            json!({"messageType": "stateChange", "state": "agentIsTyping", "agentId": "agent1"}),
            json!({"messageType": "chatLine", "messageText": "How can I help?", "agentId": "agent1"}),
        ]
    );
    assert!(customer_messages(&app, &auth, &eid, &cid).await.is_empty());

    let typing = call(
        &app,
        Method::POST,
        &format!("{C}/customerIsTyping?customerID={cid}&engagementID={eid}&isTyping=true"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(typing.status, StatusCode::OK, "{}", typing.text);
    let ids = (eid.as_str(), cid.as_str());
    let line = [("messageType", "chatLine"), ("messageText", "my order")];
    let got = customer_send(&app, &auth, ids, &line).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    let msgs = got.body["engagements"][0]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["state"], "customerStartsTyping");
    assert_eq!(msgs[1]["messageText"], "my order");

    let got = customer_close(&app, &auth, ids).await;
    assert_eq!(got.status, StatusCode::OK);
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    assert_eq!(
        got.body["engagements"][0]["messages"][0]["state"],
        "customerClosedEngagement"
    );

    let close = json!({
        "agentId": "agent1", "engagementId": eid,
        "dispositions": {"categoryReasons": [{"category": {"id": "100", "name": "Sales"},
                         "reasons": [{"id": "101", "name": "Purchase completed"}]}]},
        "agentNotes": "done"
    });
    let uri = format!("{A}/closeEngagement?registeredId={reg}");
    let got = post_json(&app, &auth, &uri, close.clone()).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = post_json(&app, &auth, &uri, close).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    let seen = customer_messages(&app, &auth, &eid, &cid).await;
    assert_eq!(
        seen,
        vec![json!({"messageType": "stateChange", "state": "agentClosedEngagement"})]
    );
}

#[tokio::test]
async fn busy_agents_get_no_offers_and_deny_goes_to_the_next_agent() {
    let (_, app, auth, r1) = with_agent1(config()).await;
    let r2 = login(&app, &auth, "agent2").await;
    let got = set_state(&app, &auth, &r2, "agent2", "busy").await;
    assert_eq!(got.status, StatusCode::OK);
    let got = set_state(&app, &auth, &r2, "agent2", "away").await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "state");

    let (eid, _, _) = customer_engagement(&app, &auth).await;
    assert_eq!(
        poll_now(&app, &auth, &r2, "agent2").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(offer_id(&app, &auth, &r1, "agent1").await, eid.as_str());

    // agent2 cannot accept an engagement never offered to it.
    let got = accept(&app, &auth, &r2, &eid).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);

    set_state(&app, &auth, &r2, "agent2", "available").await;
    let got = agent_op(&app, &auth, (&r1, "agent1"), "denyEngagement", &eid, &[]).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(offer_id(&app, &auth, &r2, "agent2").await, eid.as_str());
    let got = accept(&app, &auth, &r1, &eid).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    let got = accept(&app, &auth, &r2, &eid).await;
    assert_eq!(got.status, StatusCode::OK);
}

#[tokio::test]
async fn engagements_queue_when_no_agent_is_free_and_go_to_the_least_busy() {
    let mut cfg = config();
    cfg.agents.max_chats = 2;
    let (_, app) = sim(cfg);
    let auth = bearer(&app).await;
    let (e1, _, status) = customer_engagement(&app, &auth).await;
    assert_eq!(status, "QUEUED");
    let r1 = login(&app, &auth, "agent1").await;
    assert_eq!(offer_id(&app, &auth, &r1, "agent1").await, e1.as_str());
    let r2 = login(&app, &auth, "agent2").await;
    let (e2, _, _) = customer_engagement(&app, &auth).await;
    assert_eq!(offer_id(&app, &auth, &r2, "agent2").await, e2.as_str());
    let (e3, _, _) = customer_engagement(&app, &auth).await;
    let (e4, _, _) = customer_engagement(&app, &auth).await;
    let mut got = Vec::new();
    for (reg, user) in [(&r1, "agent1"), (&r2, "agent2")] {
        let id = offer_id(&app, &auth, reg, user).await;
        got.push(id.as_str().unwrap_or("").to_string());
    }
    got.sort();
    assert_eq!(got, vec![e3, e4.clone()]);
    let (_, _, status) = customer_engagement(&app, &auth).await;
    assert_eq!(status, "QUEUED");
}

#[tokio::test]
async fn dispositions_and_xml_output() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let dispositions = |q: &str| format!("{A}/dispositions?registeredId={reg}&username=agent1{q}");
    let got = get(&app, &auth, &dispositions("&siteId=306&scriptTreeId=7")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(
        got.body["categoryReasons"][0]["category"],
        json!({"id": "100", "name": "Sales"})
    );
    assert_eq!(
        got.body["dispositions"]["categories"][0]["reasons"][0],
        json!({"label": "Purchase completed", "value": "101"})
    );
    assert_eq!(got.body["dispositions"]["scriptTree"], "7");
    assert_eq!(got.body["dispositions"]["site"], "306");
    let got = get(&app, &auth, &dispositions("&siteId=999&scriptTreeId=7")).await;
    assert_eq!(got.status, StatusCode::FORBIDDEN);
    let got = get(&app, &auth, &dispositions("&siteId=306")).await;
    assert_eq!(got.body["parameter"], "scriptTreeId");

    let (eid, _, _) = customer_engagement(&app, &auth).await;
    let uri = format!("{A}/messages?registeredId={reg}&instantResponse=true&output=xml");
    let got = get(&app, &auth, &uri).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers["content-type"], "application/xml");
    assert!(
        got.text
            .starts_with("<?xml version=\"1.0\"?>\n<EngagementMessagesResponse><engagements>"),
        "{}",
        got.text
    );
    assert!(
        got.text.contains(&format!("<id>{eid}</id><messages>")),
        "{}",
        got.text
    );
    assert!(
        got.text
            .contains("<messageType>newRequest</messageType><requestType>engagement</requestType>"),
        "{}",
        got.text
    );
    assert!(
        got.text
            .contains("<settings><agentGroupId>1</agentGroupId>"),
        "{}",
        got.text
    );
    let uri = format!("{A}/verifySession?registeredId=0-00000000&output=XML");
    let got = post_form(&app, &auth, &uri, &[("agentId", "agent1")]).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert!(
        got.text.starts_with("<?xml version=\"1.0\"?>\n<error>"),
        "{}",
        got.text
    );
    assert!(got.text.contains("<status>401</status>"), "{}", got.text);
}

#[tokio::test]
async fn request_entire_transcript_returns_all_lines_of_held_engagements() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    accept(&app, &auth, &reg, &eid).await;
    let hi = [("messageText", "hi there")];
    agent_op(&app, &auth, (&reg, "agent1"), "messages", &eid, &hi).await;
    customer_send(&app, &auth, (&eid, &cid), &[("messageText", "thanks")]).await;
    let uri = format!("{A}/messages?registeredId={reg}&requestEntireTranscript=true");
    let got = get(&app, &auth, &uri).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let texts: Vec<&str> = got.body["engagements"][0]["messages"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["messageText"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(texts, vec!["hello", "hi there", "thanks"]);
    assert_eq!(
        poll_now(&app, &auth, &reg, "agent1").await.status,
        StatusCode::NO_CONTENT
    );
}
