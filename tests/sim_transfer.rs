//! Hand-overs end to end: transfers, conferences, ownership, and the live counts around them.

mod sim_common;

use aeapi_harness::sim::{AgentEntry, SimConfig};
use axum::http::{Method, StatusCode};
use serde_json::Value;
use sim_common::*;

/// Every message of a GET messages body for one engagement.
fn messages_of(got: &Got, eid: &str) -> Vec<Value> {
    got.body["engagements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["id"] == eid)
        .flat_map(|e| e["messages"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn states(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| m["state"].as_str().map(str::to_string))
        .collect()
}

struct World {
    app: axum::Router,
    auth: String,
    reg1: String,
    reg2: String,
    eid: String,
    cid: String,
}

/// agent1 and agent2 logged in; agent1 holds one engagement (customer said "hello").
async fn world(config: SimConfig) -> World {
    let (_, app) = sim(config);
    let auth = bearer(&app).await;
    let reg1 = login(&app, &auth, "agent1").await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    let reg2 = login(&app, &auth, "agent2").await;
    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &reg1,
        &[("agentId", "agent1"), ("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    poll_now(&app, &auth, &reg1, "agent1").await;
    customer_messages(&app, &auth, &eid, &cid).await;
    World {
        app,
        auth,
        reg1,
        reg2,
        eid,
        cid,
    }
}

async fn customer_says(w: &World, text: &str) {
    let got = call(
        &w.app,
        Method::POST,
        &format!("{C}/message"),
        Some(&w.auth),
        form(&[
            ("customerID", &w.cid),
            ("engagementID", &w.eid),
            ("messageType", "chatLine"),
            ("messageText", text),
        ]),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
}

async fn agent_says(w: &World, reg: &str, user: &str, text: &str, internal: bool) -> Got {
    let kind = if internal { "internal" } else { "external" };
    agent_post(
        &w.app,
        &w.auth,
        "messages",
        reg,
        &[
            ("agentId", user),
            ("engagementId", &w.eid),
            ("messageText", text),
            ("chatLineReceiverType", kind),
        ],
    )
    .await
}

async fn op(w: &World, name: &str, reg: &str, user: &str, extra: &[(&str, &str)]) -> Got {
    let mut pairs = vec![("agentId", user), ("engagementId", w.eid.as_str())];
    pairs.extend_from_slice(extra);
    agent_post(&w.app, &w.auth, name, reg, &pairs).await
}

async fn summary(w: &World, reg: &str, user: &str) -> Value {
    let got = call(
        &w.app,
        Method::GET,
        &format!("{A}/summaryData?registeredId={reg}&agentId={user}&output=json"),
        Some(&w.auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.body["businessUnits"][0]["agentGroups"][0].clone()
}

#[tokio::test]
async fn a_transfer_moves_the_engagement_and_releases_the_initiator() {
    let w = world(config()).await;
    customer_says(&w, "I have a billing question").await;
    agent_says(&w, &w.reg1, "agent1", "Let me find a billing expert", false).await;
    // A second customer waits: both agents are full (agent2 holds the transfer request).
    let got = op(
        &w,
        "transferEngagement",
        &w.reg1,
        "agent1",
        &[("targetAgentId", "agent2")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["status"], "pending");
    assert_eq!(got.body["engagementId"], w.eid.as_str());
    let (eid2, _, status2) = customer_engagement(&w.app, &w.auth).await;
    assert_eq!(status2, "QUEUED");
    assert_eq!(
        summary(&w, &w.reg1, "agent1").await["engagementsInQueue"],
        1
    );

    let got = poll_now(&w.app, &w.auth, &w.reg2, "agent2").await;
    let msgs = messages_of(&got, &w.eid);
    assert_eq!(msgs[0]["messageType"], "newRequest", "{}", got.text);
    assert_eq!(msgs[0]["requestType"], "transfer");
    let said: Vec<&str> = msgs[0]["transcript"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(
        said.contains(&"hello") && said.contains(&"I have a billing question"),
        "{said:?}"
    );
    assert!(got.body["engagements"][0]["settings"].is_object());

    let got = op(&w, "acceptEngagement", &w.reg2, "agent2", &[]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);

    // agent1 is told it left, its slot is free again (the queued engagement is offered to it).
    let got = poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    assert_eq!(
        states(&messages_of(&got, &w.eid)),
        ["agentExitedFromEngagement"]
    );
    assert_eq!(messages_of(&got, &eid2)[0]["requestType"], "engagement");

    // Only agent2 hears the customer now; agent1 can no longer write to the chat.
    customer_says(&w, "Are you still there?").await;
    let got = poll_now(&w.app, &w.auth, &w.reg2, "agent2").await;
    let msgs = messages_of(&got, &w.eid);
    let lines: Vec<&str> = msgs
        .iter()
        .filter_map(|m| m["messageText"].as_str())
        .collect();
    assert_eq!(lines, ["Are you still there?"]);
    let got = poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    assert_eq!(got.status, StatusCode::NO_CONTENT, "{}", got.text);
    let got = agent_says(&w, &w.reg1, "agent1", "hi again", false).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = agent_says(&w, &w.reg2, "agent2", "Yes, I'm the billing expert", false).await;
    assert_eq!(got.status, StatusCode::OK);

    // The customer sees one continuous conversation.
    let seen = customer_messages(&w.app, &w.auth, &w.eid, &w.cid).await;
    let seen: Vec<String> = seen
        .iter()
        .map(|m| {
            m["messageText"]
                .as_str()
                .or(m["state"].as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        seen,
        [
            "Let me find a billing expert",
            "agentExitedFromEngagement",
            "agentConnected",
            "Yes, I'm the billing expert"
        ]
    );
    let got = call(
        &w.app,
        Method::GET,
        &format!(
            "{A}/requestEntireTranscripts?registeredId={}&username=agent2&chatIds={}&output=json",
            w.reg2, w.eid
        ),
        Some(&w.auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let lines: Vec<&str> = got.body["engagements"][0]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["messageType"] == "chatLine")
        .filter_map(|m| m["messageText"].as_str())
        .collect();
    assert_eq!(
        lines,
        [
            "hello",
            "I have a billing question",
            "Let me find a billing expert",
            "Are you still there?",
            "Yes, I'm the billing expert"
        ]
    );
}

#[tokio::test]
async fn a_conference_keeps_both_agents_until_one_leaves() {
    let w = world(config()).await;
    let got = op(
        &w,
        "conferenceEngagement",
        &w.reg1,
        "agent1",
        &[("targetAgentId", "agent2")],
    )
    .await;
    assert_eq!(got.body["status"], "pending", "{}", got.text);
    let got = poll_now(&w.app, &w.auth, &w.reg2, "agent2").await;
    let m = &messages_of(&got, &w.eid)[0];
    assert_eq!(
        (m["requestType"].as_str(), m["conferenceMode"].as_str()),
        (Some("conference"), Some("screen"))
    );
    assert_eq!(
        op(&w, "acceptEngagement", &w.reg2, "agent2", &[])
            .await
            .status,
        StatusCode::OK
    );
    let got = poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    assert_eq!(states(&messages_of(&got, &w.eid)), ["agentConnected"]);

    // Both hear the customer.
    customer_says(&w, "two of you?").await;
    for (reg, user) in [(&w.reg1, "agent1"), (&w.reg2, "agent2")] {
        let got = poll_now(&w.app, &w.auth, reg, user).await;
        assert_eq!(
            messages_of(&got, &w.eid)[0]["messageText"],
            "two of you?",
            "{user}"
        );
    }
    // In screen mode agent2 talks to agent1 only.
    let got = agent_says(&w, &w.reg2, "agent2", "to the customer", false).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "chatLineReceiverType");
    assert_eq!(
        agent_says(&w, &w.reg2, "agent2", "psst", true).await.status,
        StatusCode::OK
    );
    let got = poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    let m = &messages_of(&got, &w.eid)[0];
    assert_eq!(
        (
            m["messageText"].as_str(),
            m["chatLineReceiverType"].as_str()
        ),
        (Some("psst"), Some("internal"))
    );
    assert!(
        customer_messages(&w.app, &w.auth, &w.eid, &w.cid)
            .await
            .is_empty()
    );
    // conferenceMode makes agent2 a full participant.
    assert_eq!(
        op(&w, "conferenceMode", &w.reg2, "agent2", &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        agent_says(&w, &w.reg2, "agent2", "Hi, I'm agent2", false)
            .await
            .status,
        StatusCode::OK
    );
    let seen = customer_messages(&w.app, &w.auth, &w.eid, &w.cid).await;
    assert_eq!(seen[0]["state"], "agentConnected");
    assert_eq!(seen[1]["messageText"], "Hi, I'm agent2");
    assert_eq!(seen[1]["agentId"], "agent2");

    // agent2 leaves: agent1 keeps the chat and is told.
    assert_eq!(
        op(&w, "closeEngagement", &w.reg2, "agent2", &[])
            .await
            .status,
        StatusCode::OK
    );
    let got = poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    let msgs = messages_of(&got, &w.eid);
    assert_eq!(
        msgs.last().map(|m| m["state"].clone()),
        Some("agentExitedFromEngagement".into())
    );
    assert_eq!(
        msgs.last().map(|m| m["userId"].clone()),
        Some("agent2".into())
    );
    assert_eq!(
        agent_says(&w, &w.reg1, "agent1", "still here", false)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        agent_says(&w, &w.reg2, "agent2", "me too", true)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let seen = customer_messages(&w.app, &w.auth, &w.eid, &w.cid).await;
    assert_eq!(seen[0]["state"], "agentExitedFromEngagement");
    assert_eq!(seen[1]["messageText"], "still here");
    // The last agent's close ends the chat.
    assert_eq!(
        op(&w, "closeEngagement", &w.reg1, "agent1", &[])
            .await
            .status,
        StatusCode::OK
    );
    let seen = customer_messages(&w.app, &w.auth, &w.eid, &w.cid).await;
    assert_eq!(seen[0]["state"], "agentClosedEngagement");
}

#[tokio::test]
async fn when_the_owner_leaves_a_conference_the_guest_becomes_owner() {
    let w = world(config()).await;
    op(
        &w,
        "conferenceEngagement",
        &w.reg1,
        "agent1",
        &[("targetAgentId", "agent2")],
    )
    .await;
    op(&w, "acceptEngagement", &w.reg2, "agent2", &[]).await;
    poll_now(&w.app, &w.auth, &w.reg2, "agent2").await;
    assert_eq!(
        op(&w, "closeEngagement", &w.reg1, "agent1", &[])
            .await
            .status,
        StatusCode::OK
    );
    let got = poll_now(&w.app, &w.auth, &w.reg2, "agent2").await;
    assert_eq!(
        states(&messages_of(&got, &w.eid)),
        ["agentExitedFromEngagement", "ownershipChange"]
    );
    assert_eq!(
        agent_says(&w, &w.reg2, "agent2", "I'll take it from here", false)
            .await
            .status,
        StatusCode::OK
    );
    let got = op(
        &w,
        "transferEngagement",
        &w.reg2,
        "agent2",
        &[("targetAgentId", "agent1")],
    )
    .await;
    assert_eq!(got.body["status"], "pending", "{}", got.text);
}

#[tokio::test]
async fn ownership_moves_only_when_the_target_accepts() {
    let w = world(config()).await;
    op(
        &w,
        "conferenceEngagement",
        &w.reg1,
        "agent1",
        &[("targetAgentId", "agent2")],
    )
    .await;
    op(&w, "acceptEngagement", &w.reg2, "agent2", &[]).await;
    poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    poll_now(&w.app, &w.auth, &w.reg2, "agent2").await;
    // Nothing pending yet.
    let got = op(&w, "acceptOwnership", &w.reg2, "agent2", &[]).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    // The guest cannot hand over what it does not own.
    let got = op(
        &w,
        "transferOwnership",
        &w.reg2,
        "agent2",
        &[("targetAgentId", "agent1")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    let got = op(
        &w,
        "transferOwnership",
        &w.reg1,
        "agent1",
        &[("targetAgentId", "agent3")],
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", got.text);

    let got = op(
        &w,
        "transferOwnership",
        &w.reg1,
        "agent1",
        &[("targetAgentId", "agent2")],
    )
    .await;
    assert_eq!(got.body["status"], "pending", "{}", got.text);
    let got = poll_now(&w.app, &w.auth, &w.reg2, "agent2").await;
    assert_eq!(
        states(&messages_of(&got, &w.eid)),
        ["ownershipTransferRequest"]
    );
    let got = op(
        &w,
        "refuseOwnership",
        &w.reg2,
        "agent2",
        &[("reason", "on a break")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["status"], "refused");
    let got = poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    let msgs = messages_of(&got, &w.eid);
    assert_eq!(states(&msgs), ["ownershipTransferRefused"]);
    assert_eq!(msgs[0]["messageText"], "on a break");

    op(&w, "transferOwnership", &w.reg1, "agent1", &[]).await;
    let got = op(&w, "acceptOwnership", &w.reg2, "agent2", &[]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["status"], "accepted");
    assert_eq!(got.body["engagementId"], w.eid.as_str());
    let got = poll_now(&w.app, &w.auth, &w.reg1, "agent1").await;
    assert_eq!(states(&messages_of(&got, &w.eid)), ["ownershipChange"]);
    // agent2 owns it now: agent1 may no longer transfer it, agent2 may.
    let got = op(&w, "transferEngagement", &w.reg1, "agent1", &[]).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    let got = op(&w, "transferOwnership", &w.reg2, "agent2", &[]).await;
    assert_eq!(got.body["status"], "pending", "{}", got.text);
}

#[tokio::test(start_paused = true)]
async fn a_declined_or_unanswered_transfer_leaves_the_chat_with_the_initiator() {
    let (sim_state, app) = sim(config());
    let auth = bearer(&app).await;
    let reg1 = login(&app, &auth, "agent1").await;
    let (eid, _, _) = customer_engagement(&app, &auth).await;
    let reg2 = login(&app, &auth, "agent2").await;
    agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &reg1,
        &[("engagementId", &eid)],
    )
    .await;
    poll_now(&app, &auth, &reg1, "agent1").await;
    let ids = [
        ("agentId", "agent1"),
        ("engagementId", eid.as_str()),
        ("targetAgentId", "agent2"),
    ];
    agent_post(&app, &auth, "transferEngagement", &reg1, &ids).await;
    let got = agent_post(&app, &auth, "transferEngagement", &reg1, &ids).await;
    assert_eq!(
        got.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a second request while one is pending"
    );
    let got = agent_post(
        &app,
        &auth,
        "denyEngagement",
        &reg2,
        &[("agentId", "agent2"), ("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = poll_now(&app, &auth, &reg1, "agent1").await;
    let m = &messages_of(&got, &eid)[0];
    assert_eq!(m["messageType"], "system");
    assert!(
        m["messageText"]
            .as_str()
            .is_some_and(|t| t.ends_with("declined")),
        "{m}"
    );

    // Past the window an accept is too late, even before the reaper runs.
    agent_post(&app, &auth, "transferEngagement", &reg1, &ids).await;
    tokio::time::advance(std::time::Duration::from_secs(16)).await;
    poll_now(&app, &auth, &reg1, "agent1").await;
    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &reg2,
        &[("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.text);
    poll_now(&app, &auth, &reg1, "agent1").await;
    poll_now(&app, &auth, &reg2, "agent2").await;

    agent_post(&app, &auth, "transferEngagement", &reg1, &ids).await;
    tokio::time::advance(std::time::Duration::from_secs(16)).await;
    poll_now(&app, &auth, &reg2, "agent2").await;
    sim_state.reap();
    let got = poll_now(&app, &auth, &reg1, "agent1").await;
    let m = &messages_of(&got, &eid)[0];
    assert!(
        m["messageText"]
            .as_str()
            .is_some_and(|t| t.ends_with("not accepted in time")),
        "{m}"
    );
    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &reg2,
        &[("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    let got = agent_post(
        &app,
        &auth,
        "messages",
        &reg1,
        &[
            ("agentId", "agent1"),
            ("engagementId", &eid),
            ("messageText", "still mine"),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
}

fn grouped() -> SimConfig {
    let mut c = config();
    c.agents.list = Some(
        [("agent1", "1"), ("agent2", "1"), ("billing1", "2")]
            .into_iter()
            .map(|(u, g)| AgentEntry {
                username: u.into(),
                password: "agent-password".into(),
                max_chats: None,
                agent_group: Some(g.into()),
            })
            .collect(),
    );
    c
}

#[tokio::test]
async fn transfers_by_group_or_business_unit_go_to_a_free_agent_of_it() {
    let w = world(grouped()).await;
    let got = op(
        &w,
        "autoTransferEngagement",
        &w.reg1,
        "agent1",
        &[("agentGroupId", "2")],
    )
    .await;
    assert_eq!(
        got.body["status"], "failed",
        "nobody of group 2 is logged in: {}",
        got.text
    );
    let reg3 = login(&w.app, &w.auth, "billing1").await;
    let got = op(
        &w,
        "autoTransferEngagement",
        &w.reg1,
        "agent1",
        &[("agentGroupId", "2")],
    )
    .await;
    assert_eq!(got.body["status"], "pending", "{}", got.text);
    let got = poll_now(&w.app, &w.auth, &reg3, "billing1").await;
    assert_eq!(messages_of(&got, &w.eid)[0]["requestType"], "autoTransfer");
    // The business unit's groups are tried in order: group 1 has agent2 free.
    op(&w, "denyEngagement", &reg3, "billing1", &[]).await;
    let got = op(
        &w,
        "transferEngagement",
        &w.reg1,
        "agent1",
        &[("businessUnitId", "22")],
    )
    .await;
    assert!(
        got.body["reason"]
            .as_str()
            .is_some_and(|r| r.ends_with("agent2")),
        "{}",
        got.text
    );
    for (k, v) in [
        ("agentGroupId", "99"),
        ("businessUnitId", "99"),
        ("targetAgentId", "nobody"),
    ] {
        op(&w, "denyEngagement", &w.reg2, "agent2", &[]).await;
        let got = op(&w, "transferEngagement", &w.reg1, "agent1", &[(k, v)]).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{k}: {}", got.text);
        assert_eq!(got.body["parameter"], k);
    }
}

#[tokio::test]
async fn summary_data_and_options_report_live_agents_slots_and_queue() {
    let w = world(config()).await;
    let g = summary(&w, &w.reg1, "agent1").await;
    assert_eq!(
        (
            g["totalAgents"].clone(),
            g["availableAgents"].clone(),
            g["totalEngagementSlots"].clone(),
            g["busyEngagementSlots"].clone(),
            g["availableSlots"].clone(),
            g["engagementsInQueue"].clone()
        ),
        (2.into(), 2.into(), 2.into(), 1.into(), 1.into(), 0.into())
    );
    assert_eq!(g["agents"][0]["id"], "agent2");
    assert_eq!(g["id"], "1");
    agent_post(
        &w.app,
        &w.auth,
        "agentStatus",
        &w.reg2,
        &[("agentId", "agent2"), ("state", "busy")],
    )
    .await;
    customer_engagement(&w.app, &w.auth).await;
    let g = summary(&w, &w.reg1, "agent1").await;
    assert_eq!(
        (
            g["availableAgents"].clone(),
            g["availableSlots"].clone(),
            g["engagementsInQueue"].clone()
        ),
        (1.into(), 0.into(), 1.into())
    );
    assert_eq!(g["agents"], serde_json::json!([]));

    agent_post(
        &w.app,
        &w.auth,
        "agentStatus",
        &w.reg2,
        &[("agentId", "agent2"), ("state", "available")],
    )
    .await;
    let got = call(
        &w.app,
        Method::GET,
        &format!("{A}/transferConferenceOptions?registeredId={}&agentId=agent1&engagementId={}&output=json", w.reg1, w.eid),
        Some(&w.auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let bu = &got.body["businessUnit"][0];
    assert_eq!(bu["id"], "22");
    // agent1 (asking, in the engagement) is left out; agent2 took the queued chat.
    assert_eq!(bu["totalAgents"], 1);
    assert_eq!(bu["agentGroups"][0]["busyEngagementSlots"], 1);
    let got = call(
        &w.app,
        Method::GET,
        &format!("{A}/transferConferenceOptions?registeredId={}&agentId=agent2&engagementId={}&output=xml", w.reg2, w.eid),
        Some(&w.auth),
        None,
    )
    .await;
    assert_eq!(
        got.status,
        StatusCode::UNAUTHORIZED,
        "another agent's engagement: {}",
        got.text
    );
    assert!(got.text.contains("<error>"), "{}", got.text);
}
