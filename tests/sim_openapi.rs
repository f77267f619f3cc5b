//! The OpenAPI document is generated from the route table: every served route is in it, and
//! every documented path answers (never 404 or 405).

mod sim_common;

use std::collections::BTreeSet;

use aeapi_harness::sim::{OPENAPI_PATH, ROUTES};
use axum::http::{Method, StatusCode};
use sim_common::*;

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
    let got = call(
        &app,
        Method::GET,
        "/engagementAPI/v2/agent/nope",
        Some(&auth),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
}
