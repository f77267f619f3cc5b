//! Token endpoint and bearer checks of the simulator.

use std::time::Duration;

use crate::sim_common::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn token_returns_the_reference_fields_and_jwt_claims() {
    let (_, app) = sim(config());
    let got = token(&app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["token_type"], "bearer");
    assert_eq!(got.body["expires_in"], 59);
    assert_eq!(got.body["scope"], "read write");
    assert_eq!(got.body["sites"], json!(["154", "306"]));
    let jti = got.body["jti"].as_str().expect("jti");
    let jwt = got.body["access_token"].as_str().expect("token");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[0]).expect("b64")).expect("json");
    assert_eq!(header["alg"], "RS256");
    let claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).expect("b64")).expect("json");
    assert_eq!(claims["aud"], json!(["ceapi"]));
    assert_eq!(claims["scope"], json!(["read", "write"]));
    assert_eq!(claims["sites"], json!(["154", "306"]));
    assert_eq!(claims["client_id"], "ceapiClientId");
    assert_eq!(claims["jti"], jti);
    assert!(claims["exp"].as_u64().is_some());
}

#[tokio::test]
async fn token_rejects_bad_credentials_and_grants() {
    let (_, app) = sim(config());
    let grant = form(&[("grant_type", "client_credentials")]);
    let got = call(&app, Method::POST, TOKEN, None, grant.clone()).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = post_form(
        &app,
        "Basic bm9wZTpub3Bl",
        TOKEN,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert_eq!(got.body["error"], "invalid_client");
    let got = call(&app, Method::POST, TOKEN, Some("Basic !!!"), grant).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    for (pairs, error) in [
        (("x", "y"), "invalid_request"),
        (("grant_type", "implicit"), "unsupported_grant_type"),
    ] {
        let got = token(&app, &[pairs]).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{pairs:?}");
        assert_eq!(got.body["error"], error);
    }
}

#[tokio::test]
async fn password_grant_checks_the_agent_directory() {
    let (_, app) = sim(config());
    let grant = |password: Option<&'static str>| {
        let mut pairs = vec![("grant_type", "password"), ("username", "agent2")];
        pairs.extend(password.map(|p| ("password", p)));
        pairs
    };
    let got = token(&app, &grant(Some("agent-password"))).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let got = token(&app, &grant(Some("nope"))).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    let got = token(&app, &grant(None)).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn api_calls_without_a_usable_token_get_401_with_www_authenticate() {
    let (_, app) = sim(config());
    let uri = format!("{A}/login?output=json");
    let creds = form(&[("username", "agent1"), ("password", "agent-password")]);
    for auth in [
        None,
        Some("Bearer garbage"),
        Some("Bearer a.b.c"),
        Some("Basic xyz"),
    ] {
        let got = call(&app, Method::POST, &uri, auth, creds.clone()).await;
        assert_eq!(got.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(
            got.headers["www-authenticate"],
            "Bearer realm=\"aeapi\", error=\"unauthorized\", error_description=\"Full authentication is required to access this resource\""
        );
        assert_eq!(got.body["status"], 401);
    }
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_gets_401_access_token_expired() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let uri = format!("{A}/login?output=json");
    let creds = form(&[("username", "agent1"), ("password", "agent-password")]);
    let got = call(&app, Method::POST, &uri, Some(&auth), creds.clone()).await;
    assert_eq!(got.status, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(60)).await;
    let got = call(&app, Method::POST, &uri, Some(&auth), creds).await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert_eq!(got.body["message"], "Access Token Expired");
    assert_eq!(
        got.headers["www-authenticate"],
        "Bearer realm=\"aeapi\", error=\"invalid_token\", error_description=\"Access Token Expired\""
    );
}

#[tokio::test]
async fn a_site_outside_the_token_is_403() {
    let (_, app) = sim(config());
    let auth = bearer(&app).await;
    let uri = format!("{C}/agentAvailability?siteID=999&businessUnitID=22");
    let got = get(&app, &auth, &uri).await;
    assert_eq!(got.status, StatusCode::FORBIDDEN);
    assert_eq!(got.body["status"], 403);
}

#[tokio::test]
async fn pre_login_status_needs_no_token() {
    let (_, app) = sim(config());
    let uri = format!("{A}/preLoginStatus?username=agent1");
    let got = get_anonymous(&app, &uri).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, json!({"hasActiveSession": false}));
    let auth = bearer(&app).await;
    login(&app, &auth, "agent1").await;
    let got = get_anonymous(&app, &uri).await;
    assert_eq!(got.body, json!({"hasActiveSession": true}));
    let got = get_anonymous(&app, &format!("{A}/preLoginStatus")).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    assert_eq!(got.body["parameter"], "username");
}
