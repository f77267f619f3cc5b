//! Success paths of the operations beyond the chat life cycle: profile (settings,
//! customSettings, customScript, changePassword, agentGroups, extraChat, metrics), follow-ups,
//! transcripts and masking, annotations, script trees, and their XML rendering.

use crate::sim_common::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// agent1's call about its engagement.
async fn post(w: &World, op: &str, pairs: &[(&str, &str)]) -> Got {
    w.op(1, op, pairs).await
}

/// GET `A/op?query`.
async fn get(w: &World, op: &str, query: &str) -> Got {
    w.get(op, query).await
}

fn ok(got: &Got) {
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
}

async fn transcript(w: &World) -> Vec<String> {
    let got = get(
        w,
        "requestEntireTranscripts",
        &format!("registeredId={}&username=agent1&chatIds={}", w.reg1, w.eid),
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
    let w = world(config(), false).await;
    let got = get(
        &w,
        "settings",
        &format!("registeredId={}&username=agent1", w.reg1),
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

    let settings = json!({"agentId": "agent1", "playSounds": false, "loginState": "loginAsBusy", "fontSize": 14, "clicking": "doubleClick"});
    let uri = format!("{A}/customSettings?agentID=agent1&includeLayout=true&output=json");
    let got = post_json(&w.app, &w.auth, &uri, settings).await;
    ok(&got);
    assert_eq!(got.body["fontSize"], 14);
    let got = get(&w, "settings", &format!("registeredId={}", w.reg1)).await;
    assert_eq!(got.body["enableAudibleAlert"], false);
    // loginAsBusy applies at the next login.
    let got = login_with(&w.app, &w.auth, "agent1", "agent-password").await;
    assert_eq!(got.body["loginAsAvailable"], false, "{}", got.text);
    let reg = got.body["registeredId"].as_str().unwrap_or("").to_string();
    let got = get(&w, "settings", &format!("registeredId={reg}&output=xml")).await;
    assert!(
        got.text.contains("<loginStatus>busy</loginStatus>"),
        "{}",
        got.text
    );
    assert!(got.text.starts_with("<?xml"), "{}", got.text);

    for (agent, pair, status) in [
        (
            "agent1",
            ("clicking", "tripleClick"),
            StatusCode::BAD_REQUEST,
        ),
        ("nobody", ("fontSize", "12"), StatusCode::UNAUTHORIZED),
    ] {
        let uri = format!("{A}/customSettings?agentID={agent}");
        let bad = post_form(&w.app, &w.auth, &uri, &[pair]).await;
        assert_eq!(bad.status, status, "{agent}");
    }
}

#[tokio::test]
async fn custom_scripts_persist_per_agent() {
    let w = world(config(), false).await;
    let got = get(&w, "customScript", "agentId=agent1").await;
    ok(&got);
    assert_eq!(got.body["userName"], "agent1");
    assert_eq!(got.body["customScripts"]["lastUpdateDate"], 0);
    assert_eq!(got.body["customScripts"]["scripts"][0]["type"], "HEADER");
    let script = json!({"agentId": "agent1", "customScripts": {"lng": "fr-FR", "scripts": [{"scriptValue": "Bonjour", "type": "TEXT", "nonEditable": false}]}});
    let got = post_json(
        &w.app,
        &w.auth,
        &format!("{A}/customScript?output=json"),
        script,
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
    let bold = json!({"agentId": "agent1", "customScripts": {"scripts": [{"type": "BOLD"}]}});
    let got = post_json(&w.app, &w.auth, &format!("{A}/customScript"), bold).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "customScripts");
    let got = get(&w, "customScript", "agentId=nobody").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn change_password_changes_what_login_accepts() {
    let w = world(config(), false).await;
    let uri = format!("{A}/changePassword?output=json");
    let change = |old: &'static str, new: &'static str, confirm: &'static str| {
        let pairs = [
            ("agentId", "agent3"),
            ("oldPassword", old),
            ("newPassword", new),
            ("confirmNewPassword", confirm),
        ];
        let (app, auth, uri) = (&w.app, &w.auth, &uri);
        async move { post_form(app, auth, uri, &pairs).await }
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
    for (pw, status) in [
        ("agent-password", StatusCode::UNAUTHORIZED),
        ("s3cret", StatusCode::OK),
    ] {
        assert_eq!(
            login_with(&w.app, &w.auth, "agent3", pw).await.status,
            status,
            "{pw}"
        );
    }
    // The password grant follows too.
    let grant = [
        ("grant_type", "password"),
        ("username", "agent3"),
        ("password", "s3cret"),
    ];
    ok(&token(&w.app, &grant).await);
}

#[tokio::test]
async fn agent_groups_extra_chat_and_metrics() {
    let w = world(config(), false).await;
    let got = get(&w, "agentGroups", "output=json").await;
    ok(&got);
    assert_eq!(got.body["agentGroups"].as_array().map(Vec::len), Some(5));
    assert_eq!(got.body["agentGroups"][1]["name"], "Billing");
    let q = format!(
        "registeredId={}&agentId=agent1&settingIds=activeChats,3,4",
        w.reg1
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
        &format!("registeredId={}&agentId=agent1&settingIds=2,99", w.reg1),
    )
    .await;
    assert_eq!(got.body, json!({"result": {"2": 1}, "setOrExpired": false}));
}

/// followUpEngagement as the reference has it: every body field optional.
async fn follow_up(w: &World, body: Value) -> Got {
    let uri = format!(
        "{A}/followUpEngagement?registeredId={}&agentId=agent1&output=json",
        w.reg1
    );
    post_json(&w.app, &w.auth, &uri, body).await
}

#[tokio::test]
async fn a_follow_up_is_listed_resumed_and_resolved() {
    let w = world(config(), false).await;
    let got = post(
        &w,
        "closeEngagement",
        &[("followUp", "true"), ("followUpNotes", "call back at 5")],
    )
    .await;
    ok(&got);
    let lq = format!("registeredId={}&username=agent1", w.reg1);
    let got = get(&w, "followUpConversations", &lq).await;
    ok(&got);
    let c = &got.body["conversations"][0];
    assert_eq!(c["conversationId"], w.eid.as_str());
    assert_eq!(c["customerId"], w.cid.as_str());
    assert_eq!(c["followUpNotes"], "call back at 5");
    assert_eq!(c.as_object().map(|o| o.len()), Some(14));

    // The customer writes while the conversation waits; the agent reads it on resuming.
    w.customer_says("any news?").await;
    let got = follow_up(&w, json!({"conversationId": w.eid})).await;
    ok(&got);
    assert_eq!(got.body["engagementId"], w.eid.as_str());
    assert_eq!(
        get(&w, "followUpConversations", &lq).await.body["conversations"],
        json!([])
    );
    let got = w.poll(1).await;
    assert_eq!(
        got.body["engagements"][0]["messages"][0]["messageText"], "any news?",
        "{}",
        got.text
    );
    // The customer is back in the same chat.
    let seen = w.customer_seen().await;
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
    let w = world(config(), false).await;
    ok(&post(&w, "closeEngagement", &[("followUp", "true")]).await);
    // A second conversation waits for agent1 too.
    let (eid2, cid2, status) = customer_engagement(&w.app, &w.auth).await;
    assert_eq!(status, "ACCEPTED");
    let on_second = |op, extra| agent_op(&w.app, &w.auth, w.agent(1), op, &eid2, extra);
    ok(&on_second("acceptEngagement", &[]).await);
    ok(&on_second("closeEngagement", &[("followUp", "true")]).await);

    let got = follow_up(&w, json!({"customerId": "4242"})).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{}", got.text);
    // customerId picks that customer's conversation, not the first.
    let got = follow_up(&w, json!({"customerId": cid2})).await;
    ok(&got);
    assert_eq!(got.body["engagementId"], eid2.as_str());
    ok(&on_second("resolveConversation", &[]).await);
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
    let w = world(config(), false).await;
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
    let w = world(config(), false).await;
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
    let seen: Vec<Value> = w.customer_seen().await;
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
            w.reg1, w.eid
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
    let w = world(config(), false).await;
    let got = get(
        &w,
        "scriptTree",
        &format!("registeredId={}&username=agent1&siteId=306", w.reg1),
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
    let got = get(&w, "fullScriptTree", &format!("registeredId={}", w.reg1)).await;
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
    let got = crate::sim_common::get(&app, &auth, &format!("{A}/agentGroups")).await;
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
