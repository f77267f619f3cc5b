//! The simulator answers CORS: a preflight from a loopback origin is allowed (Authorization and
//! Content-Type echoed back), a foreign origin gets no allow headers, and a configured list
//! replaces the loopback default.

use crate::sim_common::{A, config, sim};
use aeapi_harness::sim::cors::CorsConfig;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tower::ServiceExt;

async fn preflight(router: axum::Router, origin: &str) -> axum::http::Response<Body> {
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{A}/login"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .body(Body::empty())
        .expect("request");
    router.oneshot(req).await.expect("infallible")
}

/// The response's header `name`, if it has one.
fn header(r: &axum::http::Response<Body>, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn allow_origin(r: &axum::http::Response<Body>) -> Option<String> {
    header(r, "access-control-allow-origin")
}

#[tokio::test]
async fn preflight_from_a_loopback_origin_is_allowed_with_authorization() {
    let (_s, router) = sim(config());
    let r = preflight(router, "http://127.0.0.1:5173").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(allow_origin(&r).as_deref(), Some("http://127.0.0.1:5173"));
    let headers = header(&r, "access-control-allow-headers").unwrap_or_default();
    assert_eq!(headers.to_ascii_lowercase(), "authorization,content-type");
    let methods = header(&r, "access-control-allow-methods").unwrap_or_default();
    assert_eq!(methods, "GET,POST,OPTIONS");
}

#[tokio::test]
async fn a_foreign_origin_gets_no_allow_origin() {
    let (_s, router) = sim(config());
    let r = preflight(router, "https://evil.example.com").await;
    assert_eq!(allow_origin(&r), None);
}

#[tokio::test]
async fn a_simple_get_from_a_loopback_origin_carries_allow_origin() {
    let (_s, router) = sim(config());
    let req = Request::builder()
        .uri(format!("{A}/preLoginStatus?username=agent1&output=json"))
        .header("origin", "http://localhost:3000")
        .body(Body::empty())
        .expect("request");
    let r = router.oneshot(req).await.expect("infallible");
    assert_eq!(allow_origin(&r).as_deref(), Some("http://localhost:3000"));
}

#[tokio::test]
async fn a_configured_list_replaces_the_loopback_default() {
    let mut c = config();
    c.cors = CorsConfig {
        origins: vec!["https://desk.example.com".into()],
    };
    let (_s, router) = sim(c.clone());
    let r = preflight(router, "https://desk.example.com").await;
    assert_eq!(
        allow_origin(&r).as_deref(),
        Some("https://desk.example.com")
    );
    let (_s, router) = sim(c);
    let r = preflight(router, "http://127.0.0.1:5173").await;
    assert_eq!(allow_origin(&r), None);
}
