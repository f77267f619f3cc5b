//! Success paths of the operations beyond the chat life cycle: profile (settings,
//! customSettings, customScript, changePassword, agentGroups, extraChat, metrics), follow-ups,
//! transcripts and masking, annotations, script trees, and their XML rendering.

mod sim_common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sim_common::*;

struct World {
    app: axum::Router,
    auth: String,
    reg: String,
    eid: String,
    cid: String,
}

/// agent1 holds one engagement (the customer said "hello").
async fn world() -> World {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    let got = agent_post(
        &app,
        &auth,
        "acceptEngagement",
        &reg,
        &[("engagementId", &eid)],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    poll_now(&app, &auth, &reg, "agent1").await;
    customer_messages(&app, &auth, &eid, &cid).await;
    World {
        app,
        auth,
        reg,
        eid,
        cid,
    }
}

async fn get(w: &World, op: &str, query: &str) -> Got {
    call(
        &w.app,
        Method::GET,
        &format!("{A}/{op}?{query}"),
        Some(&w.auth),
        None,
    )
    .await
}

async fn post(w: &World, op: &str, pairs: &[(&str, &str)]) -> Got {
    let mut all = vec![("agentId", "agent1"), ("engagementId", w.eid.as_str())];
    all.extend_from_slice(pairs);
    agent_post(&w.app, &w.auth, op, &w.reg, &all).await
}

fn ok(got: &Got) {
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
}

async fn transcript(w: &World) -> Vec<String> {
    let got = get(
        w,
        "requestEntireTranscripts",
        &format!("registeredId={}&username=agent1&chatIds={}", w.reg, w.eid),
    )
    .await;
    ok(&got);
    got.body["engagements"][0]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["messageText"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn settings_reflect_the_session_the_seed_and_custom_settings() {
    let w = world().await;
    let got = get(
        &w,
        "settings",
        &format!("registeredId={}&username=agent1", w.reg),
    )
    .await;
    ok(&got);
    let b = &got.body;
    assert_eq!(b["loginStatus"], "available");
    assert_eq!(b["maxChats"], 1);
    assert_eq!(b["busyStatuses"]["status"][0], "Lunch");
    assert_eq!(
        b["siteSettings"]["sites"][0]["businessUnits"][0]["id"],
        "22"
    );
    assert_eq!(b["enableAudibleAlert"], true);
    let keys: Vec<&String> = b
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), 15, "{keys:?}");

    let got = call(
        &w.app,
        Method::POST,
        &format!("{A}/customSettings?agentID=agent1&includeLayout=true&output=json"),
        Some(&w.auth),
        json_body(json!({"agentId": "agent1", "playSounds": false, "loginState": "loginAsBusy", "fontSize": 14, "clicking": "doubleClick"})),
    )
    .await;
    ok(&got);
    assert_eq!(got.body["fontSize"], 14);
    let got = get(&w, "settings", &format!("registeredId={}", w.reg)).await;
    assert_eq!(got.body["enableAudibleAlert"], false);
    // loginAsBusy applies at the next login.
    let got = call(
        &w.app,
        Method::POST,
        &format!("{A}/login?output=json"),
        Some(&w.auth),
        form(&[("username", "agent1"), ("password", "agent-password")]),
    )
    .await;
    assert_eq!(got.body["loginAsAvailable"], false, "{}", got.text);
    let reg = got.body["registeredId"].as_str().unwrap_or("").to_string();
    let got = get(&w, "settings", &format!("registeredId={reg}&output=xml")).await;
    assert!(
        got.text.contains("<loginStatus>busy</loginStatus>"),
        "{}",
        got.text
    );
    assert!(got.text.starts_with("<?xml"), "{}", got.text);

    let bad = call(
        &w.app,
        Method::POST,
        &format!("{A}/customSettings?agentID=agent1"),
        Some(&w.auth),
        form(&[("clicking", "tripleClick")]),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = call(
        &w.app,
        Method::POST,
        &format!("{A}/customSettings?agentID=nobody"),
        Some(&w.auth),
        form(&[("fontSize", "12")]),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn custom_scripts_persist_per_agent() {
    let w = world().await;
    let got = get(&w, "customScript", "agentId=agent1").await;
    ok(&got);
    assert_eq!(got.body["userName"], "agent1");
    assert_eq!(got.body["customScripts"]["lastUpdateDate"], 0);
    assert_eq!(got.body["customScripts"]["scripts"][0]["type"], "HEADER");
    let got = call(
        &w.app,
        Method::POST,
        &format!("{A}/customScript?output=json"),
        Some(&w.auth),
        json_body(json!({"agentId": "agent1", "customScripts": {"lng": "fr-FR", "scripts": [{"scriptValue": "Bonjour", "type": "TEXT", "nonEditable": false}]}})),
    )
    .await;
    ok(&got);
    let got = get(&w, "customScript", "agentId=agent1").await;
    let s = &got.body["customScripts"];
    assert_eq!(s["lng"], "fr-FR");
    assert_eq!(
        s["scripts"],
        json!([{"nonEditable": false, "scriptValue": "Bonjour", "type": "TEXT"}])
    );
    assert!(s["lastUpdateDate"].as_u64().is_some_and(|t| t > 0));
    // Other agents keep the default.
    let got = get(&w, "customScript", "agentId=agent2").await;
    assert_eq!(got.body["customScripts"]["lastUpdateDate"], 0);
    let got = call(
        &w.app,
        Method::POST,
        &format!("{A}/customScript"),
        Some(&w.auth),
        json_body(json!({"agentId": "agent1", "customScripts": {"scripts": [{"type": "BOLD"}]}})),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "customScripts");
    let got = get(&w, "customScript", "agentId=nobody").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn change_password_changes_what_login_accepts() {
    let w = world().await;
    let change = |old: &'static str, new: &'static str, confirm: &'static str| {
        let app = w.app.clone();
        let auth = w.auth.clone();
        async move {
            call(
                &app,
                Method::POST,
                &format!("{A}/changePassword?output=json"),
                Some(&auth),
                form(&[
                    ("agentId", "agent3"),
                    ("oldPassword", old),
                    ("newPassword", new),
                    ("confirmNewPassword", confirm),
                ]),
            )
            .await
        }
    };
    assert_eq!(
        change("agent-password", "n1", "n2").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        change("wrong", "n1", "n1").await.status,
        StatusCode::UNAUTHORIZED
    );
    ok(&change("agent-password", "s3cret", "s3cret").await);
    let login_with = |pw: &'static str| {
        let app = w.app.clone();
        let auth = w.auth.clone();
        async move {
            call(
                &app,
                Method::POST,
                &format!("{A}/login"),
                Some(&auth),
                form(&[("username", "agent3"), ("password", pw)]),
            )
            .await
            .status
        }
    };
    assert_eq!(login_with("agent-password").await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_with("s3cret").await, StatusCode::OK);
    // The password grant follows too.
    let got = call(
        &w.app,
        Method::POST,
        "/oauth-server/oauth/token",
        Some(&basic()),
        form(&[
            ("grant_type", "password"),
            ("username", "agent3"),
            ("password", "s3cret"),
        ]),
    )
    .await;
    ok(&got);
}

#[tokio::test]
async fn agent_groups_extra_chat_and_metrics() {
    let w = world().await;
    let got = get(&w, "agentGroups", "output=json").await;
    ok(&got);
    assert_eq!(got.body["agentGroups"].as_array().map(Vec::len), Some(5));
    assert_eq!(got.body["agentGroups"][1]["name"], "Billing");
    let q = format!(
        "registeredId={}&agentId=agent1&settingIds=activeChats,3,4",
        w.reg
    );
    let got = get(&w, "activePerformanceMetrics", &q).await;
    assert_eq!(
        got.body,
        json!({"result": {"activeChats": 1, "3": 1, "4": 0}, "setOrExpired": true})
    );
    ok(&post(&w, "extraChat", &[("enabled", "true")]).await);
    let got = get(&w, "activePerformanceMetrics", &q).await;
    assert_eq!(
        got.body["result"],
        json!({"activeChats": 1, "3": 2, "4": 1})
    );
    // The extra slot takes a new chat.
    let (_, _, status) = customer_engagement(&w.app, &w.auth).await;
    assert_eq!(status, "ACCEPTED");
    let got = get(
        &w,
        "activePerformanceMetrics",
        &format!("registeredId={}&agentId=agent1&settingIds=2,99", w.reg),
    )
    .await;
    assert_eq!(got.body, json!({"result": {"2": 1}, "setOrExpired": false}));
}

/// followUpEngagement as the reference has it: every body field optional.
async fn follow_up(w: &World, body: Value) -> Got {
    call(
        &w.app,
        Method::POST,
        &format!(
            "{A}/followUpEngagement?registeredId={}&agentId=agent1&output=json",
            w.reg
        ),
        Some(&w.auth),
        json_body(body),
    )
    .await
}

#[tokio::test]
async fn a_follow_up_is_listed_resumed_and_resolved() {
    let w = world().await;
    let got = post(
        &w,
        "closeEngagement",
        &[("followUp", "true"), ("followUpNotes", "call back at 5")],
    )
    .await;
    ok(&got);
    let lq = format!("registeredId={}&username=agent1", w.reg);
    let got = get(&w, "followUpConversations", &lq).await;
    ok(&got);
    let c = &got.body["conversations"][0];
    assert_eq!(c["conversationId"], w.eid.as_str());
    assert_eq!(c["customerId"], w.cid.as_str());
    assert_eq!(c["followUpNotes"], "call back at 5");
    assert_eq!(c.as_object().map(|o| o.len()), Some(14));

    // The customer writes while the conversation waits; the agent reads it on resuming.
    let got = call(
        &w.app,
        Method::POST,
        &format!("{C}/message"),
        Some(&w.auth),
        form(&[
            ("customerID", &w.cid),
            ("engagementID", &w.eid),
            ("messageType", "chatLine"),
            ("messageText", "any news?"),
        ]),
    )
    .await;
    ok(&got);
    let got = follow_up(&w, json!({"conversationId": w.eid})).await;
    ok(&got);
    assert_eq!(got.body["engagementId"], w.eid.as_str());
    assert_eq!(
        get(&w, "followUpConversations", &lq).await.body["conversations"],
        json!([])
    );
    let got = poll_now(&w.app, &w.auth, &w.reg, "agent1").await;
    assert_eq!(
        got.body["engagements"][0]["messages"][0]["messageText"], "any news?",
        "{}",
        got.text
    );
    // The customer is back in the same chat.
    let seen = customer_messages(&w.app, &w.auth, &w.eid, &w.cid).await;
    assert_eq!(
        seen.last().map(|m| m["state"].clone()),
        Some("agentConnected".into())
    );
    ok(&post(
        &w,
        "messages",
        &[("messageText", "Following up as promised")],
    )
    .await);

    // resolveConversation closes it; with followUp=true it waits again, and resolving that ends it.
    let got = post(&w, "resolveConversation", &[("followUp", "true")]).await;
    ok(&got);
    assert_eq!(
        got.body,
        json!({"resolveState": "OK", "warnParams": "", "warning": ""})
    );
    assert_eq!(
        get(&w, "followUpConversations", &lq).await.body["conversations"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    ok(&post(&w, "resolveConversation", &[]).await);
    assert_eq!(
        get(&w, "followUpConversations", &lq).await.body["conversations"],
        json!([])
    );
    let got = post(&w, "resolveConversation", &[]).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.text);
    assert!(
        transcript(&w)
            .await
            .contains(&"Following up as promised".to_string())
    );
}

#[tokio::test]
async fn a_follow_up_is_resumed_without_conversation_id_by_customer_or_the_first_waiting() {
    let w = world().await;
    ok(&post(&w, "closeEngagement", &[("followUp", "true")]).await);
    // A second conversation waits for agent1 too.
    let (eid2, cid2, status) = customer_engagement(&w.app, &w.auth).await;
    assert_eq!(status, "ACCEPTED");
    let second = [("agentId", "agent1"), ("engagementId", eid2.as_str())];
    ok(&agent_post(&w.app, &w.auth, "acceptEngagement", &w.reg, &second).await);
    let close = [&second[..], &[("followUp", "true")]].concat();
    ok(&agent_post(&w.app, &w.auth, "closeEngagement", &w.reg, &close).await);

    let got = follow_up(&w, json!({"customerId": "4242"})).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    // customerId picks that customer's conversation, not the first.
    let got = follow_up(&w, json!({"customerId": cid2})).await;
    ok(&got);
    assert_eq!(got.body["engagementId"], eid2.as_str());
    ok(&agent_post(&w.app, &w.auth, "resolveConversation", &w.reg, &second).await);
    // Nothing at all: the first conversation waiting for this agent.
    let got = follow_up(&w, json!({})).await;
    ok(&got);
    assert_eq!(got.body["conversationId"], w.eid.as_str());
    let got = follow_up(&w, json!({})).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    assert!(
        got.text
            .contains("no conversation is waiting for a follow-up by this agent"),
        "{}",
        got.text
    );
}

#[tokio::test]
async fn mask_text_changes_the_stored_transcript() {
    let w = world().await;
    ok(&post(&w, "messages", &[("messageText", "My card is 4111 1111")]).await);
    let got = post(
        &w,
        "maskText",
        &[
            ("previousMaskedChatLine", "My card is 4111 1111"),
            ("maskedChatLine", "My card is **** ****"),
        ],
    )
    .await;
    ok(&got);
    let t = transcript(&w).await;
    assert!(t.contains(&"My card is **** ****".to_string()), "{t:?}");
    assert!(!t.iter().any(|l| l.contains("4111")), "{t:?}");
    let got = post(
        &w,
        "maskText",
        &[
            ("previousMaskedChatLine", "never said"),
            ("maskedChatLine", "x"),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "previousMaskedChatLine");
}

#[tokio::test]
async fn annotations_are_recorded_and_reach_whom_they_concern() {
    let w = world().await;
    ok(&post(
        &w,
        "escalateEngagement",
        &[("escalateReason", "angry customer")],
    )
    .await);
    ok(&post(&w, "event/startDisposition", &[]).await);
    ok(&post(
        &w,
        "logging/agent",
        &[("message", "render error"), ("level", "error")],
    )
    .await);
    ok(&post(
        &w,
        "sendIllegalWordNotification",
        &[("illegalWord", "darn"), ("transcriptLine", "darn it")],
    )
    .await);
    ok(&post(&w, "ninaCoachChatTakeOver", &[("havaSessionId", "h1")]).await);
    ok(&post(
        &w,
        "ninaCoachEscalationResolution",
        &[("resolutionCode", "NL")],
    )
    .await);
    ok(&post(&w, "webrtc/action", &[("action", "DIALED")]).await);
    ok(&post(&w, "messages", &[("messageText", "Are you there?")]).await);
    ok(&post(&w, "smsCommand", &[("command", "RESEND")]).await);
    ok(&post(&w, "smsCommand", &[("command", "SKIP")]).await);
    let t = transcript(&w).await;
    for needle in [
        "Escalated by agent1: angry customer",
        "Disposition started by agent1",
        "Illegal word used: darn",
        "agent1 took over the chat from the virtual assistant",
        "Virtual assistant resolution: NL",
        "webRTC call: DIALED",
        "SMS line skipped",
    ] {
        assert!(t.iter().any(|l| l == needle), "{needle}: {t:?}");
    }
    let seen: Vec<Value> = customer_messages(&w.app, &w.auth, &w.eid, &w.cid).await;
    let texts: Vec<&str> = seen
        .iter()
        .filter_map(|m| m["messageText"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "agent1 took over the chat from the virtual assistant",
            "webRTC call: DIALED",
            "Are you there?",
            "Are you there?"
        ]
    );
    for (op, k, v) in [
        ("webrtc/action", "action", "RING"),
        ("smsCommand", "command", "NOW"),
        ("ninaCoachEscalationResolution", "resolutionCode", "XX"),
    ] {
        let got = post(&w, op, &[(k, v)]).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{op}");
        assert_eq!(got.body["parameter"], k);
    }
    let got = get(
        &w,
        "ninaCoachContentMetaInfo",
        &format!(
            "registeredId={}&engagementId={}&contentVersion=2",
            w.reg, w.eid
        ),
    )
    .await;
    ok(&got);
    assert_eq!(got.body["contentVersion"], "2");
    assert!(
        got.body["contentMetaInfo"]
            .as_str()
            .is_some_and(|s| s.contains("intents"))
    );
}

#[tokio::test]
async fn script_trees_and_groups_come_from_the_seed() {
    let w = world().await;
    let got = get(
        &w,
        "scriptTree",
        &format!("registeredId={}&username=agent1&siteId=306", w.reg),
    )
    .await;
    ok(&got);
    let site = &got.body["scriptTreesOfSite"][0];
    assert_eq!(site["siteId"], "306");
    assert_eq!(
        site["scriptTrees"][0]["scriptGroupFolder"][0]["scriptGroup"][0]["id"],
        "11"
    );
    assert_eq!(
        site["scriptTrees"][0]["scriptGroups"][0]["scriptGroup"],
        json!([])
    );
    let got = get(&w, "fullScriptTree", &format!("registeredId={}", w.reg)).await;
    ok(&got);
    assert_eq!(
        got.body["scriptTreesOfSite"].as_array().map(Vec::len),
        Some(2)
    );
    let g =
        &got.body["scriptTreesOfSite"][0]["scriptTrees"][0]["scriptGroups"][0]["scriptGroup"][0];
    assert_eq!(g.as_object().map(|o| o.len()), Some(9));
    let got = get(&w, "scriptGroup", "username=agent1&scriptGroupId=12").await;
    ok(&got);
    assert_eq!(got.body["name"], "Closings");
    assert_eq!(got.body["errorMsg"], "");
    let got = get(&w, "scriptGroup", "username=agent1&scriptGroupId=404").await;
    ok(&got);
    assert_eq!(got.body["errorMsg"], "no script group 404");
    let got = get(&w, "scriptGroup", "username=nobody&scriptGroupId=11").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = get(
        &w,
        "scriptGroup",
        "username=agent1&scriptGroupId=11&output=xml",
    )
    .await;
    assert!(
        got.text
            .contains("<ScriptGroupResponse><errorMsg/><id>11</id>")
            || got
                .text
                .contains("<ScriptGroupResponse><errorMsg></errorMsg><id>11</id>"),
        "{}",
        got.text
    );
}

#[tokio::test]
async fn a_seed_file_replaces_the_built_in_seed() {
    let dir = std::env::temp_dir().join(format!("sim-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("seed.yaml");
    std::fs::write(
        &path,
        "business_units:\n  - {id: '22', name: Solo, site_id: '306', agent_groups: [{id: '1', name: Everyone}]}\nbusy_statuses: [Nap]\n",
    )
    .expect("write");
    let mut c = config();
    c.seed_file = Some(path.clone());
    let (_, app) = sim(c);
    let auth = bearer(&app).await;
    let got = call(
        &app,
        Method::GET,
        &format!("{A}/agentGroups"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(
        got.body["agentGroups"],
        json!([{"businessUnitId": "22", "businessUnitName": "Solo", "displayName": "Everyone", "id": "1", "name": "Everyone"}])
    );
    let mut bad = config();
    bad.seed_file = Some(dir.join("missing.yaml"));
    assert!(aeapi_harness::sim::Sim::new(bad).is_err());
    let inline: aeapi_harness::sim::SimConfig = serde_yaml::from_str(
        "seed_data:\n  business_units: [{id: '9', name: Inline, site_id: '306'}]\n",
    )
    .expect("inline seed parses");
    assert!(aeapi_harness::sim::Sim::new(inline).is_ok());
    let _ = std::fs::remove_dir_all(dir);
}
