//! The OpenAPI document is generated from the route table: every served route is in it, and
//! every documented path answers (never 404 or 405).

use std::collections::BTreeSet;

use crate::sim_common::*;
use aeapi_harness::sim::{OPENAPI_PATH, ROUTES};
use axum::http::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn the_document_is_served_without_a_token_and_lists_every_route() {
    let (_, app) = sim(config());
    let got = call(&app, Method::GET, OPENAPI_PATH, None, None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let doc = &got.body;
    assert_eq!(doc["openapi"], "3.0.3");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(op["responses"]["200"].is_object(), "{method} {path}");
            assert!(op["operationId"].is_string(), "{method} {path}");
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.as_str().to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, served);
    // Every operation of the reference is documented.
    for op in aeapi_harness::aeapi::ops::OPERATIONS {
        assert!(
            documented.contains(&(op.method.as_str().to_string(), op.path.to_string())),
            "{}",
            op.name
        );
    }
}

#[tokio::test]
async fn every_documented_path_answers() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let doc = aeapi_harness::sim::openapi_document();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            let m = if method == "get" {
                Method::GET
            } else {
                Method::POST
            };
            for token in [Some(auth.as_str()), None] {
                let got = call(&app, m.clone(), path, token, None).await;
                assert!(
                    got.status != StatusCode::NOT_FOUND
                        && got.status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}: {} {}",
                    got.status,
                    got.text
                );
                assert!(
                    !got.status.is_server_error(),
                    "{method} {path}: {}",
                    got.text
                );
            }
        }
    }
    let got = get(&app, &auth, "/engagementAPI/v2/agent/nope").await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
}

/// Checks that `actual` has the example's shape: the same keys (a subset for the map-like
/// objects in `LOOSE`), the same JSON types, recursively (arrays by their first elements).
fn same_shape(example: &Value, actual: &Value, at: &str) -> Result<(), String> {
    const LOOSE: &[&str] = &["settings", "result"];
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let ek: BTreeSet<&String> = e.keys().collect();
            let ak: BTreeSet<&String> = a.keys().collect();
            let name = at.rsplit('.').next().unwrap_or("");
            let ok = if LOOSE.contains(&name) {
                ek.is_subset(&ak)
            } else {
                ek == ak
            };
            if !ok {
                return Err(format!("{at}: documented {ek:?}, answered {ak:?}"));
            }
            for (k, v) in e {
                if let Some(av) = a.get(k) {
                    same_shape(v, av, &format!("{at}.{k}"))?;
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => match (e.first(), a.first()) {
            (Some(x), Some(y)) => same_shape(x, y, &format!("{at}[0]")),
            _ => Ok(()),
        },
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, _) => Ok(()),
        (e, a) => Err(format!("{at}: documented {e}, answered {a}")),
    }
}

/// (operation, GET query or POST registeredId/query, POST form)
type Step<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

#[tokio::test]
async fn documented_examples_have_the_fields_of_real_answers() {
    let (_, app, auth, reg1) = with_agent1(config()).await;
    let (eid, cid, _) = customer_engagement(&app, &auth).await;
    let reg2 = login(&app, &auth, "agent2").await;
    let reg3 = login(&app, &auth, "agent3").await;
    accept(&app, &auth, &reg1, &eid).await;
    let e = eid.as_str();
    let a1 = [("agentId", "agent1"), ("engagementId", e)];
    let a2 = [("agentId", "agent2"), ("engagementId", e)];
    let q1 = format!("registeredId={reg1}&agentId=agent1&username=agent1");
    let q2 = format!("registeredId={reg2}&agentId=agent2&username=agent2");
    customer_messages(&app, &auth, &eid, &cid).await;
    let steps: Vec<Step> = vec![
        (
            "messages.post",
            reg1.clone(),
            [&a1[..], &[("messageText", "Hi")]].concat(),
        ),
        ("agentGroups", String::new(), vec![]),
        ("settings", q1.clone(), vec![]),
        ("customScript.get", q1.clone(), vec![]),
        (
            "activePerformanceMetrics",
            format!("{q1}&settingIds=1,4"),
            vec![],
        ),
        ("summaryData", q1.clone(), vec![]),
        (
            "transferConferenceOptions",
            format!("{q1}&engagementId={e}"),
            vec![],
        ),
        (
            "transferEngagement",
            reg1.clone(),
            [&a1[..], &[("targetAgentId", "agent3")]].concat(),
        ),
        (
            "denyEngagement",
            reg3.clone(),
            vec![("agentId", "agent3"), ("engagementId", e)],
        ),
        ("autoTransferEngagement", reg1.clone(), a1.to_vec()),
        ("denyEngagement", reg2.clone(), a2.to_vec()),
        (
            "conferenceEngagement",
            reg1.clone(),
            [&a1[..], &[("targetAgentId", "agent2")]].concat(),
        ),
        ("acceptEngagement", reg2.clone(), a2.to_vec()),
        ("transferOwnership", reg1.clone(), a1.to_vec()),
        ("refuseOwnership", reg2.clone(), a2.to_vec()),
        ("transferOwnership", reg1.clone(), a1.to_vec()),
        ("acceptOwnership", reg2.clone(), a2.to_vec()),
        ("joinEngagement", reg2.clone(), a2.to_vec()),
        ("scriptTree", format!("{q1}&siteId=306"), vec![]),
        ("fullScriptTree", q1.clone(), vec![]),
        ("scriptGroup", format!("{q1}&scriptGroupId=11"), vec![]),
        (
            "ninaCoachContentMetaInfo",
            format!("{q2}&engagementId={e}"),
            vec![],
        ),
        (
            "requestEntireTranscripts",
            format!("{q1}&chatIds={e}"),
            vec![],
        ),
        (
            "dispositions",
            format!("{q1}&siteId=306&scriptTreeId=1"),
            vec![],
        ),
        ("preLoginStatus", "username=agent1".into(), vec![]),
        ("closeEngagement", reg1.clone(), a1.to_vec()),
        (
            "resolveConversation",
            reg2.clone(),
            [&a2[..], &[("followUp", "true")]].concat(),
        ),
        ("followUpConversations", q2.clone(), vec![]),
        (
            "followUpEngagement",
            format!("registeredId={reg2}&agentId=agent2"),
            vec![("conversationId", e)],
        ),
        (
            "agentAvailability",
            "siteID=306&businessUnitID=22".into(),
            vec![],
        ),
        (
            "customerEngagement.post",
            "siteID=306&businessUnitID=22".into(),
            vec![],
        ),
        (
            "agentAvailability.get",
            "siteID=306&businessUnitID=22".into(),
            vec![],
        ),
        (
            "customerMessage.get",
            format!("customerID={cid}&engagementID={e}"),
            vec![],
        ),
        (
            "customerEngagement",
            "siteID=306&businessUnitID=22".into(),
            vec![],
        ),
        ("messages.get", format!("{q1}&instantResponse=true"), vec![]),
        (
            "login",
            String::new(),
            vec![("username", "agent4"), ("password", "agent-password")],
        ),
    ];
    let mut compared = BTreeSet::new();
    let mut xml = BTreeSet::new();
    for (op, q, pairs) in steps {
        let def = ROUTES.iter().find(|r| r.op == op).expect("route");
        let got = if def.method.as_str() == "GET" {
            get(&app, &auth, &format!("{}?{q}", def.path)).await
        } else {
            let uri = if q.contains('=') {
                format!("{}?{q}", def.path)
            } else {
                format!("{}?registeredId={q}", def.path)
            };
            post_form(&app, &auth, &uri, &pairs).await
        };
        assert!(got.status.is_success(), "{op}: {}", got.text);
        // The same answer in XML under the documented root (GETs are safe to repeat).
        if def.method.as_str() == "GET" && def.doc.example.is_some() && op != "messages.get" {
            let uri = format!("{}?{q}&output=xml", def.path);
            let x = get(&app, &auth, &uri).await;
            assert!(
                x.text.starts_with("<?xml")
                    && (x.text.contains(&format!("<{}>", def.doc.root))
                        || x.text.contains(&format!("<{}/>", def.doc.root))),
                "{op}: {}",
                x.text
            );
            assert_eq!(
                x.headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/xml"),
                "{op}"
            );
            xml.insert(op);
        }
        if let Some(example) = def.doc.example {
            let example: Value = serde_json::from_str(example).expect("example");
            if let Err(e) = same_shape(&example, &got.body, op) {
                panic!("{e}\n{}", got.text);
            }
            compared.insert(op);
        }
    }
    let documented = ROUTES.iter().filter(|r| r.doc.example.is_some()).count();
    // Every documented body but the token's (checked by the auth tests) is compared.
    assert_eq!(compared.len() + 1, documented, "{compared:?}");
    assert_eq!(xml.len(), 17, "{xml:?}");
}
