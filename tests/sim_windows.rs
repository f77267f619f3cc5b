//! Timing rules of the simulator on tokio's paused clock: the accept window, the keep-alive
//! window, rejoining, and the built-in customer generator.

use std::time::Duration;

use crate::sim_common::*;
use aeapi_harness::sim;
use axum::http::StatusCode;
use serde_json::json;

/// Advances tokio's paused clock by `secs` seconds and lets the simulator reap what expired.
async fn pass(state: &sim::Sim, secs: u64) {
    tokio::time::advance(Duration::from_secs(secs)).await;
    state.reap();
}

/// What the customer of an accepted chat sees once its agent has gone silent.
const LOST: &[&str] = &["agentConnected", "agentLostConnection"];

/// Asserts the customer's next fetch gives exactly these state changes.
async fn customer_sees(app: &axum::Router, auth: &str, (eid, cid): (&str, &str), states: &[&str]) {
    let seen = customer_messages(app, auth, eid, cid).await;
    let want: Vec<_> = states
        .iter()
        .map(|s| json!({"messageType": "stateChange", "state": s}))
        .collect();
    assert_eq!(seen, want);
}

#[tokio::test(start_paused = true)]
async fn an_offer_not_accepted_in_15s_is_withdrawn_and_reoffered_and_a_late_accept_is_422() {
    let (state, app, auth, r1) = with_agent1(config()).await;
    let (eid, _, _) = customer_engagement(&app, &auth).await;
    assert_eq!(offer_id(&app, &auth, &r1, "agent1").await, eid.as_str());
    let r2 = login(&app, &auth, "agent2").await;

    pass(&state, 14).await;
    let nothing_yet = poll_now(&app, &auth, &r2, "agent2").await;
    assert_eq!(nothing_yet.status, StatusCode::NO_CONTENT);

    pass(&state, 1).await;
    let withdrawn = poll_now(&app, &auth, &r1, "agent1").await;
    assert_eq!(
        withdrawn.body["engagements"][0]["messages"][0]["messageType"],
        "system"
    );
    let got = accept(&app, &auth, &r1, &eid).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.text);
    assert_eq!(got.body["status"], 422);

    let reoffer = poll_now(&app, &auth, &r2, "agent2").await;
    assert_eq!(reoffer.body["engagements"][0]["id"], eid.as_str());
    assert_eq!(
        reoffer.body["engagements"][0]["messages"][0]["messageType"],
        "newRequest"
    );
    let got = accept(&app, &auth, &r2, &eid).await;
    assert_eq!(got.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn an_agent_silent_for_30s_loses_its_session_and_can_rejoin_after_login() {
    let (state, app, auth, reg) = with_agent1(config()).await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    poll_now(&app, &auth, &reg, "agent1").await;
    accept(&app, &auth, &reg, &eid).await;

    // Polling keeps the session alive (tokens live 59 s: fetch fresh ones as a client would).
    let mut auth = auth;
    for _ in 0..3 {
        auth = bearer(&app).await;
        tokio::time::advance(Duration::from_secs(20)).await;
        poll_now(&app, &auth, &reg, "agent1").await;
        state.reap();
    }
    let got = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::OK);

    pass(&state, 29).await;
    let still_alive = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(still_alive.status, StatusCode::OK);
    pass(&state, 1).await;
    let got = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        poll_now(&app, &auth, &reg, "agent1").await.status,
        StatusCode::UNAUTHORIZED
    );

    customer_sees(&app, &auth, (&eid, &cid), LOST).await;
    // The customer writes while the agent is away; the line waits for the rejoin.
    customer_send(&app, &auth, (&eid, &cid), &[("messageText", "hello?")]).await;

    let reg2 = login(&app, &auth, "agent1").await;
    let got = agent_op(&app, &auth, (&reg2, "agent1"), "joinEngagement", &eid, &[]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(
        got.body,
        json!({"agentId": "agent1", "engagementId": eid, "messageText": "", "status": "success"})
    );
    let got = poll_now(&app, &auth, &reg2, "agent1").await;
    assert_eq!(
        got.body["engagements"][0]["messages"][0]["messageText"],
        "hello?"
    );
    customer_sees(&app, &auth, (&eid, &cid), &["agentReconnected"]).await;
    // Another agent cannot join it.
    let other = login(&app, &auth, "agent2").await;
    let got = agent_op(&app, &auth, (&other, "agent2"), "joinEngagement", &eid, &[]).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_in_flight_keeps_the_session_alive() {
    let (state, app, auth, reg) = with_agent1(config()).await;
    let poll = spawn_get(&app, &auth, format!("{A}/messages?registeredId={reg}"));
    tokio::task::yield_now().await;
    pass(&state, 19).await;
    assert_eq!(poll.await.expect("poll").status, StatusCode::NO_CONTENT);
    pass(&state, 29).await;
    let got = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn built_in_customers_arrive_send_lines_and_close() {
    let mut cfg = config();
    cfg.arrival_rate = 1.0;
    cfg.seed = 7;
    cfg.customers.think_time = "constant 2s".parse().expect("distribution");
    cfg.customers.lines = "2".parse().expect("range");
    let (state, app) = sim(cfg);
    let tasks = sim::spawn_background(&state);
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let uri = format!("{A}/messages?registeredId={reg}");
    let got = get(&app, &auth, &uri).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let eid = got.body["engagements"][0]["id"]
        .as_str()
        .expect("offer")
        .to_string();
    accept(&app, &auth, &reg, &eid).await;
    let mut lines = Vec::new();
    let mut closed = false;
    for _ in 0..20 {
        let got = get(&app, &auth, &uri).await;
        for e in got.body["engagements"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            if e["id"] != eid.as_str() {
                continue;
            }
            for m in e["messages"].as_array().cloned().unwrap_or_default() {
                if m["messageType"] == "chatLine" {
                    lines.push(m["messageText"].as_str().unwrap_or("").to_string());
                }
                if m["state"] == "customerClosedEngagement" {
                    closed = true;
                }
            }
        }
        if closed {
            break;
        }
    }
    assert!(closed, "lines so far: {lines:?}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].ends_with("(2/2)"), "{lines:?}");
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(start_paused = true)]
async fn windows_hold_between_reaper_passes() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let (eid, _, _) = customer_engagement(&app, &auth).await;
    poll_now(&app, &auth, &reg, "agent1").await;
    tokio::time::advance(Duration::from_secs(15)).await;
    // No reaper pass has run: the deadline alone makes the accept late.
    let got = accept(&app, &auth, &reg, &eid).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::advance(Duration::from_secs(15)).await;
    let got = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = get(
        &app,
        &auth,
        &format!("{A}/messages?agentId=agent1&instantResponse=true"),
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn app_runs_its_own_reaper_inside_a_runtime() {
    let app = sim::app(config());
    let auth = bearer(&app).await;
    let r1 = login(&app, &auth, "agent1").await;
    let (eid, _, _) = customer_engagement(&app, &auth).await;
    poll_now(&app, &auth, &r1, "agent1").await;
    let r2 = login(&app, &auth, "agent2").await;
    tokio::time::sleep(Duration::from_secs(16)).await;
    let got = poll_now(&app, &auth, &r2, "agent2").await;
    assert_eq!(
        got.body["engagements"][0]["id"],
        eid.as_str(),
        "{}",
        got.text
    );
}

/// Issue 16, item 9: what ~30 s without GET messages ends is a setting. The default ends the
/// session (above); `keepalive_ends: engagements` ends only the agent's engagements (reference
/// line 204: the polls keep "the engagement" active): the registeredId stays valid, the customer
/// sees `agentLostConnection`, and the same session joins the engagement again.
#[tokio::test(start_paused = true)]
async fn item9_keepalive_ends_only_the_engagements_when_so_set() {
    let mut c = config();
    c.keepalive_ends = sim::KeepaliveEnds::Engagements;
    let (state, app, auth, reg) = with_agent1(c).await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    poll_now(&app, &auth, &reg, "agent1").await;
    accept(&app, &auth, &reg, &eid).await;

    pass(&state, 29).await;
    let got = agent_op(&app, &auth, (&reg, "agent1"), "joinEngagement", &eid, &[]).await;
    assert_eq!(got.status, StatusCode::OK, "still held: {}", got.text);
    pass(&state, 1).await;
    // The session lives on ...
    let got = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    // ... but the engagement is no longer held by it.
    let line = [("messageText", "still there?")];
    let got = agent_op(&app, &auth, (&reg, "agent1"), "messages", &eid, &line).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    customer_sees(&app, &auth, (&eid, &cid), LOST).await;
    // The same registeredId takes it back.
    let got = agent_op(&app, &auth, (&reg, "agent1"), "joinEngagement", &eid, &[]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    customer_sees(&app, &auth, (&eid, &cid), &["agentReconnected"]).await;
    // And the default still ends the whole session.
    let (state, app, auth, reg) = with_agent1(config()).await;
    pass(&state, 30).await;
    let got = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
}
