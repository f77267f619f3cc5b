//! Fault injection of the simulator: latency, errors, drift, stalls, slowdown, dropped connections.

use std::net::SocketAddr;
use std::time::Duration;

use crate::sim_common::*;
use aeapi_harness::sim::{self, SimConfig};
use axum::http::StatusCode;

fn faulty(yaml: &str) -> SimConfig {
    let mut c = config();
    c.faults = serde_yaml::from_str(yaml).expect("fault yaml");
    c
}

#[tokio::test(start_paused = true)]
async fn latency_is_added_to_the_named_operation_only() {
    let (_, app) = sim(faulty("ops:\n  - op: login\n    latency: 250ms\n"));
    let auth = bearer(&app).await;
    let t = tokio::time::Instant::now();
    let reg = login(&app, &auth, "agent1").await;
    assert_eq!(t.elapsed(), Duration::from_millis(250));
    let t = tokio::time::Instant::now();
    poll_now(&app, &auth, &reg, "agent1").await;
    assert_eq!(t.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn error_rate_answers_with_the_chosen_status() {
    let (_, app, auth, reg) = with_agent1(faulty(
        "ops:\n  - op: verifySession\n    error_rate: 1.0\n    error_status: 503\n",
    ))
    .await;
    let got = verify(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(got.body["message"], "injected fault");
}

#[tokio::test]
async fn schema_drift_drops_and_retypes_fields() {
    let (_, app) = sim(faulty(
        "ops:\n  - op: login\n    drift:\n      - { field: publicUserId, action: drop }\n      - { field: loginAsAvailable, action: retype, to: string }\n",
    ));
    let auth = bearer(&app).await;
    let got = login_with(&app, &auth, "agent1", "agent-password").await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.body.get("publicUserId").is_none(), "{}", got.text);
    assert_eq!(got.body["loginAsAvailable"], "true");
    assert!(got.body["registeredId"].is_string());
}

#[tokio::test(start_paused = true)]
async fn a_stall_freezes_every_request_until_it_ends() {
    let (_, app) = sim(faulty("stalls:\n  - { at: 10s, duration: 3s }\n"));
    let auth = bearer(&app).await;
    tokio::time::advance(Duration::from_secs(11)).await;
    let t = tokio::time::Instant::now();
    let got = get_anonymous(&app, &format!("{A}/preLoginStatus?username=agent1")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(t.elapsed(), Duration::from_secs(2));
    let t = tokio::time::Instant::now();
    login(&app, &auth, "agent1").await;
    assert_eq!(t.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn slowdown_starts_above_the_agent_count() {
    let (_, app) = sim(faulty("slowdown_above_agents: 2\nslowdown_latency: 40ms\n"));
    let auth = bearer(&app).await;
    let t = tokio::time::Instant::now();
    login(&app, &auth, "agent1").await;
    login(&app, &auth, "agent2").await;
    let r3 = login(&app, &auth, "agent3").await;
    assert_eq!(t.elapsed(), Duration::ZERO);
    let t = tokio::time::Instant::now();
    poll_now(&app, &auth, &r3, "agent3").await;
    assert_eq!(t.elapsed(), Duration::from_millis(40));
}

#[tokio::test]
async fn invalid_fault_configs_are_refused() {
    let bad = faulty("ops:\n  - op: acceptEngagment\n    latency: 1ms\n");
    assert!(sim::Sim::new(bad.clone()).is_err());
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    assert!(sim::start(bad, addr).await.is_err());
    let rate = faulty("ops:\n  - op: login\n    error_rate: 2\n");
    assert!(sim::Sim::new(rate).is_err());
}

#[tokio::test]
async fn dropped_connections_close_without_a_response() {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let handle = sim::start(
        faulty("ops:\n  - op: preLoginStatus\n    drop_rate: 1.0\n"),
        addr,
    )
    .await
    .expect("start");
    let client = reqwest::Client::new();
    let url = format!("{}{A}/preLoginStatus?username=agent1", handle.api_base);
    let err = client.get(&url).send().await.expect_err("no response");
    // Sent, then the connection closed before any answer: not a refused connect, not a timeout.
    let hyper_error = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
        .find_map(|e| e.downcast_ref::<hyper::Error>());
    assert!(
        err.is_request() && !err.is_connect() && !err.is_timeout(),
        "{err:?}"
    );
    assert!(
        hyper_error.is_some_and(hyper::Error::is_incomplete_message),
        "{err:?}"
    );
    // Other operations are unaffected.
    let ok = client
        .post(format!("{}/oauth-server/oauth/token", handle.auth_base))
        .header("authorization", basic())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(ok.status(), 200);
    handle.shutdown().await;
}
