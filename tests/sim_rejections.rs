//! Rejections of the simulator's agent-side routes: every bad input gets its documented status
//! and the one error shape.

use crate::sim_common::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// Form pairs, expected status, expected `parameter`.
type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, Option<&'a str>);

#[tokio::test]
async fn login_rejects_bad_credentials_and_missing_fields() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let uri = format!("{A}/login");
    for (user, password) in [("agent1", "x"), ("agent9", "agent-password")] {
        let got = login_with(&app, &auth, user, password).await;
        assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{user}");
    }
    let got = post_form(&app, &auth, &uri, &[("password", "agent-password")]).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        got.body,
        json!({"status": 400, "error": "Bad Request", "parameter": "username",
               "message": "missing required parameter `username`"})
    );
    let got = call(
        &app,
        Method::POST,
        &uri,
        Some(&auth),
        Some(("application/json", "{not json".into())),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "body");
}

#[tokio::test]
async fn empty_instant_poll_is_204_and_unknown_session_is_401() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let got = poll_now(&app, &auth, &reg, "agent1").await;
    assert_eq!(got.status, StatusCode::NO_CONTENT);
    assert_eq!(got.text, "");
    let got = poll_now(&app, &auth, "1-00000000", "agent1").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = poll_now(&app, &auth, &reg, "agent2").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    for (q, parameter) in [
        (
            format!("?instantResponse=maybe&registeredId={reg}"),
            "instantResponse",
        ),
        (String::new(), "agentId"),
    ] {
        let got = get(&app, &auth, &format!("{A}/messages{q}")).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(got.body["parameter"], parameter, "{q}");
    }
}

#[tokio::test]
async fn message_post_rejections_name_the_parameter() {
    let (_, app, auth, reg) = with_agent1(config()).await;
    let (eid, _, _) = customer_engagement(&app, &auth).await;
    let base = [("agentId", "agent1"), ("engagementId", eid.as_str())];
    let cases: Vec<Case> = vec![
        (
            vec![("agentId", "agent1")],
            StatusCode::BAD_REQUEST,
            Some("engagementId"),
        ),
        (
            [&base[..], &[("messageType", "fax")]].concat(),
            StatusCode::BAD_REQUEST,
            Some("messageType"),
        ),
        (
            [&base[..], &[("state", "sleeping")]].concat(),
            StatusCode::BAD_REQUEST,
            Some("state"),
        ),
        (
            [
                &base[..],
                &[("messageText", "x"), ("chatLineReceiverType", "both")],
            ]
            .concat(),
            StatusCode::BAD_REQUEST,
            Some("chatLineReceiverType"),
        ),
        (base.to_vec(), StatusCode::BAD_REQUEST, Some("messageText")),
        // Offered but not accepted: not this agent's engagement yet.
        (
            [&base[..], &[("messageText", "x")]].concat(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            vec![
                ("agentId", "agent1"),
                ("engagementId", "nope"),
                ("messageText", "x"),
            ],
            StatusCode::UNAUTHORIZED,
            None,
        ),
    ];
    for (pairs, status, param) in cases {
        let got = agent_post(&app, &auth, "messages", &reg, &pairs).await;
        assert_eq!(got.status, status, "{pairs:?}: {}", got.text);
        if let Some(p) = param {
            assert_eq!(got.body["parameter"], p, "{pairs:?}");
        }
    }
    let with_text = [&base[..], &[("messageText", "x")]].concat();
    let got = agent_post(&app, &auth, "messages", "bad", &with_text).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = post_form(&app, &auth, &format!("{A}/messages"), &with_text).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "registeredId");
}

#[tokio::test]
async fn unknown_paths_methods_and_outputs_get_the_error_shape() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let got = get(&app, &auth, "/engagementAPI/v2/agent/nothing").await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
    assert_eq!(got.body["status"], 404);
    let got = call(
        &app,
        Method::DELETE,
        &format!("{A}/login"),
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(got.body["status"], 405);
    let got = get_anonymous(&app, &format!("{A}/preLoginStatus?username=a&output=csv")).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "output");
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/login"),
        Some(&auth),
        Some(("text/plain", "hi".into())),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "Content-Type");
    let got = call(
        &app,
        Method::POST,
        &format!("{A}/login"),
        Some(&auth),
        Some(("application/json", "[]".into())),
    )
    .await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deny_join_and_close_rejections() {
    let (_, app, auth, r1) = with_agent1(config()).await;
    let r2 = login(&app, &auth, "agent2").await;
    let (eid, _, _) = customer_engagement(&app, &auth).await;
    // agent1 (lowest session id) got the offer.
    assert_eq!(offer_id(&app, &auth, &r1, "agent1").await, eid.as_str());
    let got = agent_op(&app, &auth, (&r2, "agent2"), "denyEngagement", &eid, &[]).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = agent_post(
        &app,
        &auth,
        "denyEngagement",
        &r1,
        &[("engagementId", &eid)],
    )
    .await;
    assert_eq!(
        (got.status, got.body["parameter"].clone()),
        (StatusCode::BAD_REQUEST, json!("agentId"))
    );
    let got = agent_post(&app, &auth, "joinEngagement", &r1, &[("agentId", "agent1")]).await;
    assert_eq!(got.body["parameter"], "engagementId");
    accept(&app, &auth, &r1, &eid).await;

    let uri = format!("{A}/closeEngagement?registeredId={r1}");
    // agent1's close of `eid`, with `extra` fields added to the body.
    let close = |extra: serde_json::Value| {
        let mut body = json!({"agentId": "agent1", "engagementId": eid});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        post_json(&app, &auth, &uri, body)
    };
    let got = close(json!({"dispositions": [1, 2]})).await;
    assert_eq!(
        (got.status, got.body["parameter"].clone()),
        (StatusCode::BAD_REQUEST, json!("dispositions"))
    );
    for (parameter, bad) in [("transferConferenceMode", "merge"), ("followUp", "perhaps")] {
        let got = close(json!({ parameter: bad })).await;
        assert_eq!(got.body["parameter"], parameter);
    }
    let other = format!("{A}/closeEngagement?registeredId={r2}");
    let got = post_json(
        &app,
        &auth,
        &other,
        json!({"agentId": "agent2", "engagementId": eid}),
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = close(json!({"followUp": false, "dispositions": {"message": "ok"}})).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
}
