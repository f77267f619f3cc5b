//! Rejections of every route, driven by the route table (`sim::ROUTES`): a missing required
//! parameter is 400 naming it, no token is 401, an unknown registeredId is 401, another agent's
//! engagement is 401, a site outside the token is 403.

use crate::sim_common::*;
use aeapi_harness::aeapi::ops::ParamIn;
use aeapi_harness::sim::{ROUTES, RouteDef};
use axum::http::{Method, StatusCode};

/// Optional parameters worth sending (they select what the call is about).
const USEFUL: &[&str] = &["engagementId", "agentId", "username"];

/// A valid value for a parameter, as agent `who` (1 or 2).
fn value(w: &World, name: &str, who: u8) -> String {
    let (reg, user) = if who == 1 {
        (&w.reg1, "agent1")
    } else {
        (&w.reg2, "agent2")
    };
    match name {
        "registeredId" => reg.clone(),
        "agentId" | "agentID" | "username" => user.into(),
        "engagementId" | "engagementID" | "conversationId" | "chatIds" => w.eid.clone(),
        "customerID" => w.cid.clone(),
        "siteId" | "siteID" => "306".into(),
        "businessUnitID" => "22".into(),
        "scriptTreeId" => "1".into(),
        "settingIds" => "1".into(),
        "scriptGroupId" => "11".into(),
        "customScripts" => r#"{"scripts":[]}"#.into(),
        "oldPassword" | "password" => "agent-password".into(),
        "newPassword" | "confirmNewPassword" => "new-password".into(),
        "resolutionCode" => "NL".into(),
        "command" => "RESEND".into(),
        "action" => "DIALED".into(),
        "illegalWord" => "darn".into(),
        "maskedChatLine" => "h***o".into(),
        "previousMaskedChatLine" => "hello".into(),
        "isTyping" => "true".into(),
        "state" => "available".into(),
        _ => "x".into(),
    }
}

/// Sends the route's request with its required (and useful) parameters, minus `skip`, with
/// `set` overriding values, as agent `who`.
async fn send(
    w: &World,
    def: &RouteDef,
    who: u8,
    skip: Option<&str>,
    set: &[(&str, &str)],
    token: bool,
) -> Got {
    let mut query = vec![("output".to_string(), "json".to_string())];
    let mut body = Vec::new();
    for p in def.params() {
        if !(p.required || USEFUL.contains(&p.name)) || Some(p.name) == skip {
            continue;
        }
        let v = set
            .iter()
            .find(|(k, _)| *k == p.name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| value(w, p.name, who));
        match p.location {
            ParamIn::Query => query.push((p.name.to_string(), v)),
            ParamIn::Body | ParamIn::Form => body.push((p.name.to_string(), v)),
            ParamIn::Header => {}
        }
    }
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&query)
        .finish();
    let b = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&body)
        .finish();
    let method = if def.method.as_str() == "GET" {
        Method::GET
    } else {
        Method::POST
    };
    let payload = (method == Method::POST).then_some(("application/x-www-form-urlencoded", b));
    let auth = token.then_some(w.auth.as_str());
    call(&w.app, method, &format!("{}?{q}", def.path), auth, payload).await
}

/// Floors under how many cases each route-driven test checks (the table has 123 required
/// parameters, 51 routes taking a token, 36 needing a registeredId, 26 about an engagement): a
/// filter that matches nothing must not pass unchecked.
const MIN_REQUIRED: usize = 100;
const MIN_TOKENED: usize = 45;
const MIN_SESSIONED: usize = 30;
const MIN_ENGAGED: usize = 20;

fn served() -> impl Iterator<Item = &'static RouteDef> {
    ROUTES.iter().filter(|r| r.op != "token")
}

#[tokio::test]
async fn a_missing_required_parameter_is_400_naming_it() {
    let mut checked = 0;
    for def in served() {
        for p in def.params().into_iter().filter(|p| p.required) {
            checked += 1;
            let w = world(config(), true).await;
            let got = send(&w, def, 1, Some(p.name), &[], true).await;
            assert_eq!(
                got.status,
                StatusCode::BAD_REQUEST,
                "{def:?} without {}: {}",
                p.name,
                got.text
            );
            assert_eq!(got.body["parameter"], p.name, "{def:?}: {}", got.text);
        }
    }
    assert!(
        checked >= MIN_REQUIRED,
        "only {checked} required parameters"
    );
}

#[tokio::test]
async fn no_token_is_401_on_every_route_but_pre_login_status() {
    let w = world(config(), true).await;
    let mut checked = 0;
    for def in served().filter(|d| d.op != "preLoginStatus") {
        checked += 1;
        let got = send(&w, def, 1, None, &[], false).await;
        assert_eq!(
            got.status,
            StatusCode::UNAUTHORIZED,
            "{def:?}: {}",
            got.text
        );
        assert_eq!(got.body["status"], 401, "{def:?}");
        assert!(got.headers.contains_key("www-authenticate"), "{def:?}");
    }
    assert!(checked >= MIN_TOKENED, "only {checked} routes");
}

#[tokio::test]
async fn an_unknown_registered_id_is_401() {
    let mut checked = 0;
    for def in served().filter(|d| {
        d.params()
            .iter()
            .any(|p| p.name == "registeredId" && p.required)
    }) {
        checked += 1;
        let w = world(config(), true).await;
        let got = send(&w, def, 1, None, &[("registeredId", "999-0000abcd")], true).await;
        assert_eq!(
            got.status,
            StatusCode::UNAUTHORIZED,
            "{def:?}: {}",
            got.text
        );
    }
    assert!(checked >= MIN_SESSIONED, "only {checked} routes");
}

#[tokio::test]
async fn another_agents_engagement_is_401() {
    let about = ["engagementId", "conversationId", "chatIds"];
    let mut checked = 0;
    for def in served().filter(|d| {
        d.path.contains("/agent/") && d.params().iter().any(|p| about.contains(&p.name))
    }) {
        checked += 1;
        let w = world(config(), true).await;
        let got = send(&w, def, 2, None, &[], true).await;
        assert_eq!(
            got.status,
            StatusCode::UNAUTHORIZED,
            "{def:?} as agent2: {}",
            got.text
        );
    }
    assert!(checked >= MIN_ENGAGED, "only {checked} routes");
}

#[tokio::test]
async fn a_site_outside_the_token_is_403() {
    let sited: Vec<_> = served()
        .filter(|d| {
            d.params()
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case("siteId"))
        })
        .collect();
    assert!(sited.len() >= 7, "{sited:?}");
    for def in sited {
        let w = world(config(), true).await;
        let got = send(
            &w,
            def,
            1,
            None,
            &[("siteId", "999"), ("siteID", "999")],
            true,
        )
        .await;
        // Optional site parameters are not sent by default: add one.
        let got = if got.status == StatusCode::FORBIDDEN {
            got
        } else {
            let path = format!(
                "{}?siteId=999&registeredId={}&username=agent1",
                def.path, w.reg1
            );
            let m = if def.method.as_str() == "GET" {
                Method::GET
            } else {
                Method::POST
            };
            call(&w.app, m, &path, Some(&w.auth), None).await
        };
        assert_eq!(got.status, StatusCode::FORBIDDEN, "{def:?}: {}", got.text);
    }
}
