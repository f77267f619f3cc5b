//! A whole engagement over real HTTP against `sim::start` on an ephemeral port.

use std::net::SocketAddr;
use std::time::Duration;

use crate::sim_common::{A, C, basic, config};
use aeapi_harness::sim;
use serde_json::{Value, json};

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Client {
    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).form(form))
            .await
    }

    /// Sends with the bearer token; the status and the body as JSON (Null when not JSON).
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let r = req
            .header("authorization", &self.auth)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Waits until a GET messages of `user` is parked on the server, by asking the state (no fixed
/// sleeps); fails if none is within 10 s.
async fn wait_parked(sim: &sim::Sim, user: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim.polling(user).unwrap_or(0) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no long-poll of {user} parked within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn token_login_poll_offer_accept_lines_and_close_over_http() {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let handle = sim::start(config(), addr).await.expect("start");
    let http = reqwest::Client::new();
    let tok: Value = http
        .post(format!("{}/oauth-server/oauth/token", handle.auth_base))
        .header("authorization", basic())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let auth = format!("Bearer {}", tok["access_token"].as_str().expect("token"));
    let c = Client {
        http,
        base: handle.api_base.clone(),
        auth,
    };

    let (s, login) = c
        .post(
            &format!("{A}/login?output=json"),
            &[("username", "agent1"), ("password", "agent-password")],
        )
        .await;
    assert_eq!(s, 200);
    let reg = login["registeredId"].as_str().expect("reg").to_string();

    // A real long-poll, parked before the customer arrives.
    let poll = {
        let (c, uri) = (
            c.clone(),
            format!("{A}/messages?registeredId={reg}&agentId=agent1&output=json"),
        );
        tokio::spawn(async move { c.get(&uri).await })
    };
    assert_eq!(handle.sim.live(), 1);
    wait_parked(&handle.sim, "agent1").await;
    let (s, created) = c
        .get(&format!(
            "{C}/engagement?siteID=306&businessUnitID=22&InitialMessage=Hi%20there&output=json"
        ))
        .await;
    assert_eq!(s, 200);
    let eid = created["engagementID"].as_str().expect("eid").to_string();
    let cid = created["customerID"].as_str().expect("cid").to_string();
    let (s, offer) = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("the long-poll answers when the offer arrives")
        .expect("task");
    assert_eq!(s, 200);
    assert_eq!(offer["engagements"][0]["id"], eid.as_str());

    let q = format!("?registeredId={reg}&output=json");
    // agent1's POST `op` about the engagement, and the first line of its next poll.
    let agent = |op: &str, extra: &'static [(&'static str, &'static str)]| {
        let path = format!("{A}/{op}{q}");
        let form = [
            &[("agentId", "agent1"), ("engagementId", eid.as_str())],
            extra,
        ]
        .concat();
        let c = &c;
        async move { c.post(&path, &form).await.0 }
    };
    let first_line = || {
        let (c, path) = (&c, format!("{A}/messages{q}&agentId=agent1"));
        async move {
            let (s, got) = c.get(&path).await;
            assert_eq!(s, 200);
            got["engagements"][0]["messages"][0]["messageText"].clone()
        }
    };
    assert_eq!(agent("acceptEngagement", &[]).await, 200);
    assert_eq!(first_line().await, "Hi there");

    let line = &[
        ("messageType", "chatLine"),
        ("chatLineReceiverType", "external"),
        ("messageText", "Hello, how can I help?"),
    ];
    assert_eq!(agent("messages", line).await, 200);
    let (s, _) = c
        .post(
            &format!("{C}/message?output=json"),
            &[
                ("customerID", &cid),
                ("engagementID", &eid),
                ("messageType", "chatLine"),
                ("messageText", "Where is my order?"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(first_line().await, "Where is my order?");
    assert_eq!(agent("closeEngagement", &[]).await, 200);

    let (s, seen) = c
        .get(&format!(
            "{C}/message?customerID={cid}&engagementID={eid}&instantResponse=true&output=json"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        seen["messages"],
        json!([
            {"messageType": "stateChange", "state": "agentConnected"},
            {"messageType": "chatLine", "messageText": "Hello, how can I help?", "agentId": "agent1"},
            {"messageType": "stateChange", "state": "agentClosedEngagement"}
        ])
    );

    // Shutdown is prompt even with a long-poll parked, which it answers at once.
    let parked = {
        let c = c.clone();
        tokio::spawn(async move { c.get(&format!("{A}/messages{q}")).await })
    };
    wait_parked(&handle.sim, "agent1").await;
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown())
        .await
        .expect("shutdown within 5 s");
    let (s, _) = parked.await.expect("the parked long-poll was answered");
    assert_eq!(s, 204);
}
