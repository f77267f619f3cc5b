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
use tower::ServiceExt;

pub const A: &str = "/engagementAPI/v2/agent";
pub const C: &str = "/engagementAPI/v2/customer";

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

/// Mints a client-credentials token; returns the `Authorization` header value.
pub async fn bearer(app: &Router) -> String {
    let got = call(
        app,
        Method::POST,
        "/oauth-server/oauth/token",
        Some(&basic()),
        form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    format!(
        "Bearer {}",
        got.body["access_token"].as_str().expect("token")
    )
}

/// Logs an agent in; returns its registeredId.
pub async fn login(app: &Router, auth: &str, user: &str) -> String {
    let got = call(
        app,
        Method::POST,
        &format!("{A}/login?output=json"),
        Some(auth),
        form(&[("username", user), ("password", "agent-password")]),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.body["registeredId"]
        .as_str()
        .expect("registeredId")
        .to_string()
}

/// GET messages with instantResponse=true.
pub async fn poll_now(app: &Router, auth: &str, reg: &str, user: &str) -> Got {
    call(
        app,
        Method::GET,
        &format!("{A}/messages?registeredId={reg}&agentId={user}&instantResponse=true&output=json"),
        Some(auth),
        None,
    )
    .await
}

/// Creates a customer engagement; returns (engagementID, customerID, status).
pub async fn customer_engagement(app: &Router, auth: &str) -> (String, String, String) {
    let got = call(
        app,
        Method::GET,
        &format!("{C}/engagement?siteID=306&businessUnitID=22&InitialMessage=hello&output=json"),
        Some(auth),
        None,
    )
    .await;
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
    call(
        app,
        Method::POST,
        &format!("{A}/{op}?registeredId={reg}&output=json"),
        Some(auth),
        form(pairs),
    )
    .await
}

/// The customer's pending messages.
pub async fn customer_messages(app: &Router, auth: &str, eid: &str, cid: &str) -> Vec<Value> {
    let got = call(
        app,
        Method::GET,
        &format!(
            "{C}/message?customerID={cid}&engagementID={eid}&instantResponse=true&output=json"
        ),
        Some(auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    got.body["messages"].as_array().cloned().unwrap_or_default()
}
