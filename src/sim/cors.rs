//! CORS for the simulator, so an agent desktop served from another origin (another local port,
//! a dev server) can call the sandbox from a browser, and a browser can record a HAR against it.
//!
//! A separate layer wrapped around the whole router (outermost, so preflight `OPTIONS` requests
//! are answered here and never reach the operation gate). Origins come from `SimConfig::cors`:
//! empty (the default) allows any origin on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`,
//! any port, http or https); a list allows exactly those origins, and `"*"` allows any origin.
//! Credentials (cookies) are not allowed: the AEAPI authenticates with bearer tokens.

use axum::http::{HeaderValue, Method, header};
use serde::Deserialize;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// Which browser origins may call the simulator.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Exact origins (`http://localhost:3000`), or `"*"` for any; empty: any loopback origin.
    pub origins: Vec<String>,
}

/// The CORS layer for `config`.
pub fn layer(config: &CorsConfig) -> CorsLayer {
    let origins = config.origins.clone();
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin.to_str().is_ok_and(|o| origin_allowed(&origins, o))
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        // `*` would not cover Authorization (Fetch spec): echo what the preflight asks for.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([header::WWW_AUTHENTICATE, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}

/// Whether `origin` (the `Origin` header's value) may call, per `origins` (see the module doc).
pub fn origin_allowed(origins: &[String], origin: &str) -> bool {
    if origins.is_empty() {
        return is_loopback_origin(origin);
    }
    origins
        .iter()
        .any(|o| o == "*" || o.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// `http(s)://HOST[:PORT]` with HOST `localhost`, an IPv4 loopback address or `[::1]`.
fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, port)) if port.is_empty() || port.strip_prefix(':').is_some_and(is_port) => {
                return h == "::1";
            }
            _ => return false,
        }
    } else {
        match rest.split_once(':') {
            Some((h, port)) if is_port(port) => h,
            Some(_) => return false,
            None => rest,
        }
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allows_loopback_origins_only() {
        let none: Vec<String> = Vec::new();
        for ok in [
            "http://127.0.0.1:8000",
            "http://localhost:3000",
            "https://localhost",
            "http://127.1.2.3:1",
            "http://[::1]:5173",
            "http://[::1]",
        ] {
            assert!(origin_allowed(&none, ok), "{ok}");
        }
        for no in [
            "null",
            "http://example.com",
            "http://127.0.0.1.example.com",
            "http://localhost.evil:80",
            "http://192.168.1.2:8000",
            "http://[::2]:80",
            "file://",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:",
        ] {
            assert!(!origin_allowed(&none, no), "{no}");
        }
    }

    #[test]
    fn a_list_allows_exactly_its_origins_and_star_any() {
        let list = vec!["https://desk.example.com/".to_string()];
        assert!(origin_allowed(&list, "https://desk.example.com"));
        assert!(!origin_allowed(&list, "http://127.0.0.1:8000"));
        assert!(origin_allowed(&["*".to_string()], "https://anything.test"));
    }
}
