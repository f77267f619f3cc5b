//! Shared helpers for the simulator's tests: a small config, token minting and one-shot calls.
#![allow(dead_code)]

use std::sync::Arc;

use aeapi_harness::sim::{self, Sim, SimConfig};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::task::JoinHandle;
use tower::ServiceExt;

pub const A: &str = "/engagementAPI/v2/agent";
pub const C: &str = "/engagementAPI/v2/customer";
pub const TOKEN: &str = "/oauth-server/oauth/token";

/// A config with 5 agents (`agent1..agent5`) and short defaults untouched.
pub fn config() -> SimConfig {
    let mut c = SimConfig::default();
    c.agents.count = 5;
    c
}

/// The state and a router over it.
pub fn sim(config: SimConfig) -> (Arc<Sim>, Router) {
    let s = Sim::new(config).expect("valid config");
    (s.clone(), sim::router(s))
}

pub fn basic() -> String {
    let raw = format!("{}:{}", sim::DEV_CLIENT_ID, sim::DEV_CLIENT_SECRET);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A response, with the body parsed as JSON when it is JSON (else `Value::String`).
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Sends one request through the router.
pub async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    auth: Option<&str>,
    body: Option<(&str, String)>,
) -> Got {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    let req = match body {
        Some((ctype, text)) => b.header("content-type", ctype).body(Body::from(text)),
        None => b.body(Body::empty()),
    }
    .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    Got {
        status,
        headers,
        body,
        text,
    }
}

pub fn form(pairs: &[(&str, &str)]) -> Option<(&'static str, String)> {
    let s = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Some(("application/x-www-form-urlencoded", s))
}

pub fn json_body(v: Value) -> Option<(&'static str, String)> {
    Some(("application/json", v.to_string()))
}

/// GET `uri` with the `Authorization` header `auth`.
pub async fn get(app: &Router, auth: &str, uri: &str) -> Got {
    call(app, Method::GET, uri, Some(auth), None).await
}

/// GET `uri` without a token.
pub async fn get_anonymous(app: &Router, uri: &str) -> Got {
    call(app, Method::GET, uri, None, None).await
}

/// POST `uri` with the `Authorization` header `auth` and a form body.
pub async fn post_form(app: &Router, auth: &str, uri: &str, pairs: &[(&str, &str)]) -> Got {
    call(app, Method::POST, uri, Some(auth), form(pairs)).await
}

/// POST `uri` with the `Authorization` header `auth` and a JSON body.
pub async fn post_json(app: &Router, auth: &str, uri: &str, body: Value) -> Got {
    call(app, Method::POST, uri, Some(auth), json_body(body)).await
}

/// A GET of `uri` on its own task (a long-poll left waiting while the test goes on).
pub fn spawn_get(app: &Router, auth: &str, uri: String) -> JoinHandle<Got> {
    let (app, auth) = (app.clone(), auth.to_string());
    tokio::spawn(async move { get(&app, &auth, &uri).await })
}

/// POST to the token endpoint with the application's Basic credentials and a form.
pub async fn token(app: &Router, pairs: &[(&str, &str)]) -> Got {
    post_form(app, &basic(), TOKEN, pairs).await
}

/// A simulator with the default config and an application token for it.
pub async fn app_and_token() -> (Router, String) {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    (app, auth)
}

/// Mints a client-credentials token; returns the `Authorization` header value.
pub async fn bearer(app: &Router) -> String {
    let got = token(app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    format!(
        "Bearer {}",
        got.body["access_token"].as_str().expect("token")
    )
}

/// POST login with `user` and `password`.
pub async fn login_with(app: &Router, auth: &str, user: &str, password: &str) -> Got {
    let creds = [("username", user), ("password", password)];
    post_form(app, auth, &format!("{A}/login?output=json"), &creds).await
}

/// A simulator over `config`, a token, and agent1 logged in: (state, router, the
/// `Authorization` header, agent1's registeredId).
pub async fn with_agent1(config: SimConfig) -> (Arc<Sim>, Router, String, String) {
    let (state, app) = sim(config);
    let auth = bearer(&app).await;
    let reg = login(&app, &auth, "agent1").await;
    (state, app, auth, reg)
}

/// Logs an agent in; returns its registeredId.
pub async fn login(app: &Router, auth: &str, user: &str) -> String {
    let got = login_with(app, auth, user, "agent-password").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.body["registeredId"]
        .as_str()
        .expect("registeredId")
        .to_string()
}

/// GET messages with instantResponse=true.
pub async fn poll_now(app: &Router, auth: &str, reg: &str, user: &str) -> Got {
    let q = format!("registeredId={reg}&agentId={user}&instantResponse=true&output=json");
    get(app, auth, &format!("{A}/messages?{q}")).await
}

/// The id of the first engagement an instant poll of `user` returns (Null when none).
pub async fn offer_id(app: &Router, auth: &str, reg: &str, user: &str) -> Value {
    poll_now(app, auth, reg, user).await.body["engagements"][0]["id"].clone()
}

/// Creates a customer engagement; returns (engagementID, customerID, status).
pub async fn customer_engagement(app: &Router, auth: &str) -> (String, String, String) {
    let q = "siteID=306&businessUnitID=22&InitialMessage=hello&output=json";
    let got = get(app, auth, &format!("{C}/engagement?{q}")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    (
        got.body["engagementID"].as_str().expect("id").to_string(),
        got.body["customerID"].as_str().expect("cid").to_string(),
        got.body["status"].as_str().expect("status").to_string(),
    )
}

/// Agent-side POST with a form body.
pub async fn agent_post(
    app: &Router,
    auth: &str,
    op: &str,
    reg: &str,
    pairs: &[(&str, &str)],
) -> Got {
    post_form(
        app,
        auth,
        &format!("{A}/{op}?registeredId={reg}&output=json"),
        pairs,
    )
    .await
}

/// acceptEngagement naming only the engagement.
pub async fn accept(app: &Router, auth: &str, reg: &str, eid: &str) -> Got {
    agent_post(app, auth, "acceptEngagement", reg, &[("engagementId", eid)]).await
}

/// An agent's call about one engagement: agentId and engagementId, then `extra`.
pub async fn agent_op(
    app: &Router,
    auth: &str,
    (reg, user): (&str, &str),
    op: &str,
    eid: &str,
    extra: &[(&str, &str)],
) -> Got {
    let mut pairs = vec![("agentId", user), ("engagementId", eid)];
    pairs.extend_from_slice(extra);
    agent_post(app, auth, op, reg, &pairs).await
}

/// verifySession of `user`'s session `reg`.
pub async fn verify(app: &Router, auth: &str, reg: &str, user: &str) -> Got {
    agent_post(app, auth, "verifySession", reg, &[("agentId", user)]).await
}

/// agentStatus: sets `user`'s state.
pub async fn set_state(app: &Router, auth: &str, reg: &str, user: &str, state: &str) -> Got {
    agent_post(
        app,
        auth,
        "agentStatus",
        reg,
        &[("agentId", user), ("state", state)],
    )
    .await
}

/// The customer's POST message with exactly `pairs`.
pub async fn customer_post(app: &Router, auth: &str, pairs: &[(&str, &str)]) -> Got {
    post_form(app, auth, &format!("{C}/message"), pairs).await
}

/// The customer's POST message about its engagement: customerID and engagementID, then `extra`.
pub async fn customer_send(
    app: &Router,
    auth: &str,
    (eid, cid): (&str, &str),
    extra: &[(&str, &str)],
) -> Got {
    let mut pairs = vec![("customerID", cid), ("engagementID", eid)];
    pairs.extend_from_slice(extra);
    customer_post(app, auth, &pairs).await
}

/// The customer closes its engagement (a `closed` state change).
pub async fn customer_close(app: &Router, auth: &str, ids: (&str, &str)) -> Got {
    let closed = [("messageType", "stateChange"), ("state", "closed")];
    customer_send(app, auth, ids, &closed).await
}

/// The customer's pending messages.
pub async fn customer_messages(app: &Router, auth: &str, eid: &str, cid: &str) -> Vec<Value> {
    let q = format!("customerID={cid}&engagementID={eid}&instantResponse=true&output=json");
    let got = get(app, auth, &format!("{C}/message?{q}")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.body["messages"].as_array().cloned().unwrap_or_default()
}

/// A simulator in which agent1 holds one engagement: offered, accepted, its first lines (the
/// customer's "hello") and the customer's `agentConnected` already read.
pub struct World {
    pub state: Arc<Sim>,
    pub app: Router,
    pub auth: String,
    pub reg1: String,
    /// agent2's registeredId, or empty when agent2 was not logged in.
    pub reg2: String,
    pub eid: String,
    pub cid: String,
}

/// agent1 holding one engagement, and agent2 logged in (after the engagement was offered to
/// agent1) when `agent2` is true.
pub async fn world(config: SimConfig, agent2: bool) -> World {
    let (state, app, auth, reg1) = with_agent1(config).await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    let reg2 = if agent2 {
        login(&app, &auth, "agent2").await
    } else {
        String::new()
    };
    let got = agent_op(
        &app,
        &auth,
        (&reg1, "agent1"),
        "acceptEngagement",
        &eid,
        &[],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    poll_now(&app, &auth, &reg1, "agent1").await;
    customer_messages(&app, &auth, &eid, &cid).await;
    World {
        state,
        app,
        auth,
        reg1,
        reg2,
        eid,
        cid,
    }
}

impl World {
    /// agent `n`'s (registeredId, username): 1 or 2.
    pub fn agent(&self, n: u8) -> (&str, &'static str) {
        match n {
            1 => (&self.reg1, "agent1"),
            _ => (&self.reg2, "agent2"),
        }
    }

    /// agent `n`'s call about the engagement: agentId and engagementId, then `extra`.
    pub async fn op(&self, n: u8, name: &str, extra: &[(&str, &str)]) -> Got {
        agent_op(&self.app, &self.auth, self.agent(n), name, &self.eid, extra).await
    }

    /// agent `n`'s instant poll.
    pub async fn poll(&self, n: u8) -> Got {
        let (reg, user) = self.agent(n);
        poll_now(&self.app, &self.auth, reg, user).await
    }

    /// POST `A/op?query` with a JSON body.
    pub async fn post(&self, op_query: &str, body: Value) -> Got {
        post_json(&self.app, &self.auth, &format!("{A}/{op_query}"), body).await
    }

    /// GET `A/op?query`.
    pub async fn get(&self, op: &str, query: &str) -> Got {
        get(&self.app, &self.auth, &format!("{A}/{op}?{query}")).await
    }

    /// The customer writes `text` (a chat line); asserts it was taken.
    pub async fn customer_says(&self, text: &str) {
        let line = [("messageType", "chatLine"), ("messageText", text)];
        let got = customer_send(&self.app, &self.auth, (&self.eid, &self.cid), &line).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    }

    /// The customer's pending messages.
    pub async fn customer_seen(&self) -> Vec<Value> {
        customer_messages(&self.app, &self.auth, &self.eid, &self.cid).await
    }
}
