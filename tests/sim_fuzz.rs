//! Bad input never yields a 500 (or a panic): random queries and bodies against every route.

use crate::sim_common::*;
use aeapi_harness::sim::ROUTES;
use axum::http::{Method, StatusCode};
use proptest::prelude::*;

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
        "targetAgentId",
        "agentGroupId",
        "businessUnitId",
        "conversationId",
        "followUp",
        "chatIds",
        "settingIds",
        "customScripts",
        "agentID",
        "includeLayout",
        "loginState",
        "fontSize",
        "oldPassword",
        "newPassword",
        "confirmNewPassword",
        "maskedChatLine",
        "previousMaskedChatLine",
        "command",
        "action",
        "resolutionCode",
        "enabled",
        "scriptGroupId",
        "illegalWord",
        "settingIds",
    ]);
    (names, values).prop_map(|(n, v)| format!("{n}={v}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn random_requests_get_a_4xx_or_2xx_never_5xx(
        salt in 0..2usize,
        // Query values stay URI-legal (the request would not be built otherwise) but may carry
        // broken percent-escapes; body values may be anything printable.
        query in prop::collection::vec(param("[A-Za-z0-9%._~-]{0,12}"), 0..5),
        body in prop::collection::vec(param("[ -~]{0,12}"), 0..5),
        json in any::<bool>(),
        raw in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        engaged in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
        rt.block_on(async {
            let (_, app, auth, reg) = with_agent1(config()).await;
            // Half the cases run with an engagement held by the agent (named in the query), so
            // calls about it get past the ownership checks.
            let mut held = String::new();
            if engaged {
                let (eid, _, _) = customer_engagement(&app, &auth).await;
                accept(&app, &auth, &reg, &eid).await;
                held = format!("&engagementId={eid}&conversationId={eid}&chatIds={eid}&agentId=agent1&username=agent1");
            }
            // Every route gets the same random input; state carries over from one to the next.
            for (route, def) in ROUTES.iter().enumerate() {
                let (method, path) = (def.method.as_str(), def.path);
                let mut q = query.join("&");
                if (route + salt) % 2 == 0 {
                    q.push_str(&format!("&registeredId={reg}"));
                }
                q.push_str(&held);
                let uri = format!("{path}?{q}");
                let body = match &raw {
                    Some(bytes) => Some(("application/json", String::from_utf8_lossy(bytes).into_owned())),
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
                prop_assert!(!got.status.is_server_error(), "{uri}: {}", got.text);
                if got.status.is_client_error() {
                    if def.op == "token" && got.body["error_description"].is_string() {
                        prop_assert!(got.body["error"].is_string(), "{uri}: {}", got.text);
                    } else {
                        prop_assert_eq!(got.body["status"].as_u64(), Some(u64::from(got.status.as_u16())), "{}: {}", uri, got.text);
                        prop_assert!(got.body["error"].is_string() && got.body["message"].is_string(), "{uri}: {}", got.text);
                    }
                }
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
