//! Bad input never yields a 500 (or a panic): random queries and bodies against every route.

mod sim_common;

use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use sim_common::*;

const PATHS: &[(&str, &str)] = &[
    ("POST", "/engagementAPI/v2/agent/login"),
    ("GET", "/engagementAPI/v2/agent/preLoginStatus"),
    ("POST", "/engagementAPI/v2/agent/agentStatus"),
    ("POST", "/engagementAPI/v2/agent/verifySession"),
    ("GET", "/engagementAPI/v2/agent/messages"),
    ("POST", "/engagementAPI/v2/agent/messages"),
    ("POST", "/engagementAPI/v2/agent/acceptEngagement"),
    ("POST", "/engagementAPI/v2/agent/denyEngagement"),
    ("POST", "/engagementAPI/v2/agent/joinEngagement"),
    ("POST", "/engagementAPI/v2/agent/closeEngagement"),
    ("GET", "/engagementAPI/v2/agent/dispositions"),
    ("GET", "/engagementAPI/v2/customer/agentAvailability"),
    ("GET", "/engagementAPI/v2/customer/engagement"),
    ("GET", "/engagementAPI/v2/customer/message"),
    ("POST", "/engagementAPI/v2/customer/message"),
    ("POST", "/engagementAPI/v2/customer/customerIsTyping"),
    ("POST", "/oauth-server/oauth/token"),
];

fn param(values: &'static str) -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "registeredId",
        "agentId",
        "engagementId",
        "engagementID",
        "customerID",
        "state",
        "messageType",
        "messageText",
        "chatLineReceiverType",
        "instantResponse",
        "output",
        "siteID",
        "siteId",
        "businessUnitID",
        "username",
        "password",
        "isTyping",
        "dispositions",
        "grant_type",
        "scriptTreeId",
        "requestEntireTranscript",
    ]);
    (names, values).prop_map(|(n, v)| format!("{n}={v}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn random_requests_get_a_4xx_or_2xx_never_5xx(
        route in 0..PATHS.len(),
        // Query values stay URI-legal (the request would not be built otherwise) but may carry
        // broken percent-escapes; body values may be anything printable.
        query in prop::collection::vec(param("[A-Za-z0-9%._~-]{0,12}"), 0..5),
        body in prop::collection::vec(param("[ -~]{0,12}"), 0..5),
        json in any::<bool>(),
        raw in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
        rt.block_on(async {
            let (_, app) = sim(config());
            let auth = bearer(&app).await;
            let reg = login(&app, &auth, "agent1").await;
            let (method, path) = PATHS[route];
            let mut q = query.join("&");
            if route % 2 == 0 {
                q.push_str(&format!("&registeredId={reg}"));
            }
            let uri = format!("{path}?{q}");
            let body = match raw {
                Some(bytes) => Some(("application/json", String::from_utf8_lossy(&bytes).into_owned())),
                None if json => {
                    let map: serde_json::Map<String, serde_json::Value> = body
                        .iter()
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                        .collect();
                    Some(("application/json", serde_json::Value::Object(map).to_string()))
                }
                None => Some(("application/x-www-form-urlencoded", body.join("&"))),
            };
            let m = if method == "GET" { Method::GET } else { Method::POST };
            let got = call(&app, m, &uri, Some(&auth), body).await;
            prop_assert!(got.status != StatusCode::INTERNAL_SERVER_ERROR, "{uri}: {}", got.text);
            prop_assert!(!got.status.is_server_error(), "{uri}: {}", got.text);
            if got.status.is_client_error() {
                prop_assert!(got.body.get("status").is_some() || got.body.get("error").is_some(), "{uri}: {}", got.text);
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_oversized_body_is_413_in_the_error_shape() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let big = "x".repeat(3 * 1024 * 1024);
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/login"),
        Some(&auth),
        Some(("application/x-www-form-urlencoded", big)),
    )
    .await;
    assert_eq!(got.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(got.body["status"], 413);
}
