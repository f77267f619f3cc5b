//! Agent-side routes of the simulator: login, status, long-poll, offers, lines, close, errors.

mod sim_common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;
use sim_common::*;

#[tokio::test]
async fn login_returns_the_reference_fields_from_form_or_json() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/login?output=json"),
        Some(&auth),
        json_body(json!({"username": "agent1", "password": "agent-password"})),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["loginAsAvailable"], true);
    assert_eq!(got.body["status"], "success");
    assert_eq!(got.body["userId"], "agent1");
    assert!(got.body["publicUserId"].is_string());
    assert!(got.body["registeredId"].is_string());
    let reg = login(&app, &auth, "agent2").await;
    let ok = agent_post(&app, &auth, "verifySession", &reg, &[("agentId", "agent2")]).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn login_rejects_bad_credentials_and_missing_fields() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let uri = format!("{A}/login");
    let got = call(
        &app,
        Method::POST,
        &uri,
        Some(&auth),
        form(&[("username", "agent1"), ("password", "x")]),
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = call(
        &app,
        Method::POST,
        &uri,
        Some(&auth),
        form(&[("username", "agent9"), ("password", "agent-password")]),
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = call(
        &app,
        Method::POST,
        &uri,
        Some(&auth),
        form(&[("password", "agent-password")]),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        got.body,
        json!({"status": 400, "error": "Bad Request", "parameter": "username",
               "message": "missing required parameter `username`"})
    );
    let got = call(
        &app,
        Method::POST,
        &uri,
        Some(&auth),
        Some(("application/json", "{not json".into())),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "body");
}

#[tokio::test]
async fn a_second_login_replaces_the_first_session() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let first = login(&app, &auth, "agent1").await;
    let second = login(&app, &auth, "agent1").await;
    assert_ne!(first, second);
    let got = agent_post(
        &app,
        &auth,
        "verifySession",
        &first,
        &[("agentId", "agent1")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = agent_post(
        &app,
        &auth,
        "verifySession",
        &second,
        &[("agentId", "agent1")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let got = agent_post(
        &app,
        &auth,
        "verifySession",
        &second,
        &[("agentId", "agent2")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = agent_post(&app, &auth, "verifySession", &second, &[]).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "agentId");
}

#[tokio::test]
async fn empty_instant_poll_is_204_and_unknown_session_is_401() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::NO_CONTENT);
    assert_eq!(got.text, "");
    let got = poll_now(&app, &auth, "1-00000000", "agent1").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = poll_now(&app, &auth, &reg, "agent2").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/messages?instantResponse=maybe&registeredId={reg}"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "instantResponse");
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/messages"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "agentId");
}

#[tokio::test(start_paused = true)]
async fn long_poll_holds_until_an_offer_arrives_and_204s_after_the_hold() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let start = tokio::time::Instant::now();
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/messages?registeredId={reg}&agentId=agent1"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::NO_CONTENT);
    assert_eq!(start.elapsed(), Duration::from_secs(20));

    let poll = {
        let (app, auth, reg) = (app.clone(), auth.clone(), reg.clone());
        tokio::spawn(async move {
            call(
                &app,
                Method::GET,
                &format!("{A}/messages?registeredId={reg}&agentId=agent1"),
                Some(&auth),
                None,
            )
            .await
        })
    };
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
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    let offer = poll_now(&app, &auth, &reg, "agent1").await;
    assert_eq!(offer.body["engagements"][0]["id"], eid.as_str());

    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &reg,
        &[("agentId", "agent1"), ("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    // The initial message arrives after accept.
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    let msgs = &got.body["engagements"][0]["messages"];
    assert_eq!(msgs[0]["messageType"], "chatLine");
    assert_eq!(msgs[0]["messageText"], "hello");
    assert_eq!(msgs[0]["chatLineReceiverType"], "external");

    let line = |text: &'static str, receiver: &'static str| {
        vec![
            ("agentId", "agent1"),
            ("engagementId", eid.as_str()),
            ("messageType", "chatLine"),
            ("messageText", text),
            ("chatLineReceiverType", receiver),
        ]
    };
    let got = agent_post(
        &app,
        &auth,
        "messages",
        &reg,
        &[
            ("agentId", "agent1"),
            ("engagementId", &eid),
            ("state", "agentIsTyping"),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(
        agent_post(
            &app,
            &auth,
            "messages",
            &reg,
            &line("How can I help?", "external")
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        agent_post(
            &app,
            &auth,
            "messages",
            &reg,
            &line("note to supervisor", "internal")
        )
        .await
        .status,
        StatusCode::OK
    );

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
    let got = call(
        &app,
        Method::POST,
        &format!("{C}/message"),
        Some(&auth),
        form(&[
            ("customerID", &cid),
            ("engagementID", &eid),
            ("messageType", "chatLine"),
            ("messageText", "my order"),
        ]),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    let msgs = got.body["engagements"][0]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["state"], "customerStartsTyping");
    assert_eq!(msgs[1]["messageText"], "my order");

    let got = call(
        &app,
        Method::POST,
        &format!("{C}/message"),
        Some(&auth),
        form(&[
            ("customerID", &cid),
            ("engagementID", &eid),
            ("messageType", "stateChange"),
            ("state", "closed"),
        ]),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    assert_eq!(
        got.body["engagements"][0]["messages"][0]["state"],
        "customerClosedEngagement"
    );

    let close = json_body(json!({
        "agentId": "agent1", "engagementId": eid,
        "dispositions": {"categoryReasons": [{"category": {"id": "100", "name": "Sales"},
                         "reasons": [{"id": "101", "name": "Purchase completed"}]}]},
        "agentNotes": "done"
    }));
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/closeEngagement?registeredId={reg}"),
        Some(&auth),
        close.clone(),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/closeEngagement?registeredId={reg}"),
        Some(&auth),
        close,
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    let seen = customer_messages(&app, &auth, &eid, &cid).await;
    assert_eq!(
        seen,
        vec![json!({"messageType": "stateChange", "state": "agentClosedEngagement"})]
    );
}

#[tokio::test]
#[allow(clippy::type_complexity)]
async fn message_post_rejections_name_the_parameter() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let (eid, _, _) = customer_engagement(&app, &auth).await;
    let base = [("agentId", "agent1"), ("engagementId", eid.as_str())];
    let cases: Vec<(Vec<(&str, &str)>, StatusCode, Option<&str>)> = vec![
        (
            vec![("agentId", "agent1")],
            StatusCode::BAD_REQUEST,
            Some("engagementId"),
        ),
        (
            [&base[..], &[("messageType", "fax")]].concat(),
            StatusCode::BAD_REQUEST,
            Some("messageType"),
        ),
        (
            [&base[..], &[("state", "sleeping")]].concat(),
            StatusCode::BAD_REQUEST,
            Some("state"),
        ),
        (
            [
                &base[..],
                &[("messageText", "x"), ("chatLineReceiverType", "both")],
            ]
            .concat(),
            StatusCode::BAD_REQUEST,
            Some("chatLineReceiverType"),
        ),
        (base.to_vec(), StatusCode::BAD_REQUEST, Some("messageText")),
        // Offered but not accepted: not this agent's engagement yet.
        (
            [&base[..], &[("messageText", "x")]].concat(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            vec![
                ("agentId", "agent1"),
                ("engagementId", "nope"),
                ("messageText", "x"),
            ],
            StatusCode::UNAUTHORIZED,
            None,
        ),
    ];
    for (pairs, status, param) in cases {
        let got = agent_post(&app, &auth, "messages", &reg, &pairs).await;
        assert_eq!(got.status, status, "{pairs:?}: {}", got.text);
        if let Some(p) = param {
            assert_eq!(got.body["parameter"], p, "{pairs:?}");
        }
    }
    let with_text = [&base[..], &[("messageText", "x")]].concat();
    let got = agent_post(&app, &auth, "messages", "bad", &with_text).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/messages"),
        Some(&auth),
        form(&with_text),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "registeredId");
}

#[tokio::test]
async fn busy_agents_get_no_offers_and_deny_goes_to_the_next_agent() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let r1 = login(&app, &auth, "agent1").await;
    let r2 = login(&app, &auth, "agent2").await;
    let got = agent_post(
        &app,
        &auth,
        "agentStatus",
        &r2,
        &[("agentId", "agent2"), ("state", "busy")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let got = agent_post(
        &app,
        &auth,
        "agentStatus",
        &r2,
        &[("agentId", "agent2"), ("state", "away")],
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "state");

    let (eid, _, _) = customer_engagement(&app, &auth).await;
    assert_eq!(
        poll_now(&app, &auth, &r2, "agent2").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        poll_now(&app, &auth, &r1, "agent1").await.body["engagements"][0]["id"],
        eid.as_str()
    );

    // agent2 cannot accept an engagement never offered to it.
    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &r2,
        &[("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);

    agent_post(
        &app,
        &auth,
        "agentStatus",
        &r2,
        &[("agentId", "agent2"), ("state", "available")],
    )
    .await;
    let got = agent_post(
        &app,
        &auth,
        "denyEngagement",
        &r1,
        &[("agentId", "agent1"), ("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        poll_now(&app, &auth, &r2, "agent2").await.body["engagements"][0]["id"],
        eid.as_str()
    );
    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &r1,
        &[("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &r2,
        &[("engagementId", &eid)],
    )
    .await;
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
    assert_eq!(
        poll_now(&app, &auth, &r1, "agent1").await.body["engagements"][0]["id"],
        e1.as_str()
    );
    let r2 = login(&app, &auth, "agent2").await;
    let (e2, _, _) = customer_engagement(&app, &auth).await;
    assert_eq!(
        poll_now(&app, &auth, &r2, "agent2").await.body["engagements"][0]["id"],
        e2.as_str()
    );
    let (e3, _, _) = customer_engagement(&app, &auth).await;
    let (e4, _, _) = customer_engagement(&app, &auth).await;
    let a = poll_now(&app, &auth, &r1, "agent1").await;
    let b = poll_now(&app, &auth, &r2, "agent2").await;
    let mut got = vec![
        a.body["engagements"][0]["id"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        b.body["engagements"][0]["id"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    ];
    got.sort();
    assert_eq!(got, vec![e3, e4.clone()]);
    let (_, _, status) = customer_engagement(&app, &auth).await;
    assert_eq!(status, "QUEUED");
}

#[tokio::test]
async fn dispositions_and_xml_output() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/dispositions?registeredId={reg}&username=agent1&siteId=306&scriptTreeId=7"),
        Some(&auth),
        None,
    )
    .await;
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
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/dispositions?registeredId={reg}&username=agent1&siteId=999&scriptTreeId=7"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::FORBIDDEN);
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/dispositions?registeredId={reg}&username=agent1&siteId=306"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.body["parameter"], "scriptTreeId");

    let (eid, _, _) = customer_engagement(&app, &auth).await;
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/messages?registeredId={reg}&instantResponse=true&output=xml"),
        Some(&auth),
        None,
    )
    .await;
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
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/verifySession?registeredId=0-00000000&output=XML"),
        Some(&auth),
        form(&[("agentId", "agent1")]),
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert!(
        got.text.starts_with("<?xml version=\"1.0\"?>\n<error>"),
        "{}",
        got.text
    );
    assert!(got.text.contains("<status>401</status>"), "{}", got.text);
}

#[tokio::test]
async fn unknown_paths_methods_and_outputs_get_the_error_shape() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let got = call(
        &app,
        Method::GET,
        "/engagementAPI/v2/agent/nothing",
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
    assert_eq!(got.body["status"], 404);
    let got = call(
        &app,
        Method::DELETE,
        &format!("{A}/login"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(got.body["status"], 405);
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/preLoginStatus?username=a&output=csv"),
        None,
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "output");
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/login"),
        Some(&auth),
        Some(("text/plain", "hi".into())),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "Content-Type");
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/login"),
        Some(&auth),
        Some(("application/json", "[]".into())),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn request_entire_transcript_returns_all_lines_of_held_engagements() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &reg,
        &[("engagementId", &eid)],
    )
    .await;
    agent_post(
        &app,
        &auth,
        "messages",
        &reg,
        &[
            ("agentId", "agent1"),
            ("engagementId", &eid),
            ("messageText", "hi there"),
        ],
    )
    .await;
    call(
        &app,
        Method::POST,
        &format!("{C}/message"),
        Some(&auth),
        form(&[
            ("customerID", &cid),
            ("engagementID", &eid),
            ("messageText", "thanks"),
        ]),
    )
    .await;
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/messages?registeredId={reg}&requestEntireTranscript=true"),
        Some(&auth),
        None,
    )
    .await;
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
