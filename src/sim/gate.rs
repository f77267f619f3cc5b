//! The one middleware every request passes: it names the operation (path + method → the row of
//! `aeapi::ops`), applies faults (stall, slowdown, latency, dropped connection, error), checks the
//! bearer token and the site, hands the handler a [`Ctx`], and finally renders the handler's
//! deferred reply as JSON or XML (`output=`), applying schema drift on the way. Responses that
//! did not come from our handlers (axum rejections) are rewritten into the error shape, so no
//! client ever sees a plain-text 4xx.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Sim;
use super::auth::Claims;
use super::error::{ApiError, Deferred, error_body};
use super::faults::apply_drift;
use super::params::Params;
use super::xml;
use crate::aeapi::ops::{self, Auth, Method as OpMethod, Operation};

static TABLE: LazyLock<HashMap<(OpMethod, &'static str), &'static Operation>> =
    LazyLock::new(|| ops::served().map(|op| ((op.method, op.path), op)).collect());

/// The served operation a request names, if any.
fn served(method: &Method, path: &str) -> Option<&'static Operation> {
    let m = match *method {
        Method::GET | Method::HEAD => OpMethod::Get,
        Method::POST => OpMethod::Post,
        _ => return None,
    };
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    TABLE.get(&(m, path)).copied()
}

/// The name of the operation a request names ([`Operation::served_name`]), if any.
pub fn operation_of(method: &Method, path: &str) -> Option<&'static str> {
    served(method, path).map(Operation::served_name)
}

/// Response format chosen by `output=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// What the gate tells a handler about its request.
#[derive(Debug)]
pub struct Ctx {
    pub query: Params,
    pub claims: Option<Arc<Claims>>,
    /// The operation (the extractor checks a JSON body's types against its parameters).
    pub op: &'static Operation,
}

/// Marks a response whose connection must be closed without answering (a `drop_rate` fault).
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// A moment `d` from now, on the real clock and on tokio's (which tests may pause).
#[derive(Debug, Clone, Copy)]
struct Deadline {
    end: std::time::Instant,
    tokio_end: tokio::time::Instant,
}

impl Deadline {
    fn after(d: Duration) -> Self {
        Deadline {
            end: std::time::Instant::now() + d,
            tokio_end: tokio::time::Instant::now() + d,
        }
    }
}

/// Sleeps `d` to within a few microseconds (see [`sleep_until`]).
async fn precise_sleep(d: Duration) {
    sleep_until(Deadline::after(d)).await;
}

/// Sleeps until the deadline to within a few microseconds: tokio's timer rounds a deadline up
/// to the next millisecond, so an injected 20 ms would take 20–21 ms. It sleeps to 2 ms short of
/// the end on the timer, then yields until the end. The yielding is capped at 3 ms of real time,
/// so under a paused test clock (where the timer part takes no real time) it cannot spin long.
async fn sleep_until(deadline: Deadline) {
    const SPIN: Duration = Duration::from_millis(2);
    let Deadline { end, tokio_end } = deadline;
    let left = tokio_end.saturating_duration_since(tokio::time::Instant::now());
    if left > SPIN {
        tokio::time::sleep(left - SPIN).await;
    }
    let cap = std::time::Instant::now() + Duration::from_millis(3);
    loop {
        let now = std::time::Instant::now();
        if now >= end || now >= cap {
            break;
        }
        tokio::task::yield_now().await;
    }
    // Under a paused clock the spin above takes no tokio time: finish on the timer, which
    // then advances at once. With a running clock tokio's time has reached the end already.
    if tokio::time::Instant::now() < tokio_end {
        tokio::time::sleep_until(tokio_end).await;
    }
}

/// The middleware (see the module docs). An injected latency is measured from the request's
/// arrival: the handler runs at once and the answer leaves when the latency has passed (or at
/// once, when the handler took longer), so a `latency: 20ms` answers in 20 ms, not 20 ms plus
/// the handler's time.
pub async fn gate(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let op = served(req.method(), req.uri().path());
    let mut hold = None;
    let faults = &sim.config.faults;
    if faults.any() {
        if let Some(wait) = faults.stall_remaining(sim.clock.elapsed()) {
            precise_sleep(wait).await;
        }
        let decision = {
            let mut rng = sim.rng.lock();
            faults.decide(op.map_or("", Operation::served_name), sim.live(), &mut *rng)
        };
        if decision.drop || decision.error.is_some() {
            precise_sleep(decision.delay).await;
        }
        if decision.drop {
            let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            r.extensions_mut().insert(DropConnection);
            return r;
        }
        if let Some(status) = decision.error {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let e = ApiError::new(status, "injected fault");
            let format = match Params::from_query(req.uri().query()).get("output") {
                Some(o) if o.eq_ignore_ascii_case("xml") => Format::Xml,
                _ => Format::Json,
            };
            return render(e.deferred(), format, &[]);
        }
        if !decision.delay.is_zero() {
            hold = Some(Deadline::after(decision.delay));
        }
    }
    let resp = answer(&sim, op, req, next).await;
    if let Some(deadline) = hold {
        sleep_until(deadline).await;
    }
    resp
}

/// Everything after the faults: format, token, site, the handler, rendering.
async fn answer(
    sim: &Sim,
    op: Option<&'static Operation>,
    mut req: Request,
    next: Next,
) -> Response {
    let query = Params::from_query(req.uri().query());
    let format = match query.get("output") {
        Some(o) if o.eq_ignore_ascii_case("xml") => Format::Xml,
        _ => Format::Json,
    };
    if let Some(serde_json::Value::String(o)) = query.value("output")
        && !o.eq_ignore_ascii_case("xml")
        && !o.eq_ignore_ascii_case("json")
    {
        return render(
            ApiError::unexpected("output", "json or xml", o).deferred(),
            Format::Json,
            &[],
        );
    }
    let faults = &sim.config.faults;
    let Some(op) = op else {
        let resp = next.run(req).await;
        return finish(resp, format, &[]);
    };
    let claims = if op.auth != Auth::Bearer {
        None
    } else {
        match sim.auth.check(req.headers(), &sim.clock, sim.config.strict) {
            Ok(c) => Some(c),
            Err(e) => return render(e.deferred(), format, &[]),
        }
    };
    if let Some(c) = &claims {
        for name in ["siteID", "siteId"] {
            if let Some(site) = query.get(name)
                && !c.sites.iter().any(|s| *s == *site)
            {
                let e = ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("site {site} is not covered by this token"),
                );
                return render(e.deferred(), format, &[]);
            }
        }
    }
    req.extensions_mut()
        .insert(Arc::new(Ctx { query, claims, op }));
    let resp = next.run(req).await;
    let drift = if faults.ops.is_empty() {
        Vec::new()
    } else {
        faults.drift_for(op.served_name())
    };
    finish(resp, format, &drift)
}

/// Renders a handler's deferred reply, or rewrites a foreign error response into our shape.
fn finish(mut resp: Response, format: Format, drift: &[super::faults::Drift]) -> Response {
    if let Some(d) = resp.extensions_mut().remove::<Deferred>() {
        return render(d, format, drift);
    }
    let status = resp.status();
    let is_ours = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/json")
            || v.as_bytes().starts_with(b"application/xml")
    });
    if (status.is_client_error() || status.is_server_error()) && !is_ours {
        let message = match status {
            StatusCode::NOT_FOUND => "no such operation".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "method not allowed for this operation".to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => "request body too large".to_string(),
            other => other
                .canonical_reason()
                .unwrap_or("request rejected")
                .to_string(),
        };
        let d = Deferred {
            status,
            root: "error",
            body: Some(error_body(status, &message, None)),
            www_authenticate: None,
        };
        return render(d, format, &[]);
    }
    resp
}

/// Turns a deferred reply into a response.
pub fn render(d: Deferred, format: Format, drift: &[super::faults::Drift]) -> Response {
    let mut resp = match d.body {
        None => d.status.into_response(),
        Some(mut body) => {
            if !drift.is_empty() && d.status.is_success() {
                apply_drift(&mut body, drift);
            }
            let (bytes, ctype) = match format {
                Format::Json => (
                    serde_json::to_vec(&body).unwrap_or_default(),
                    "application/json",
                ),
                Format::Xml => match xml::to_xml(d.root, &body) {
                    Ok(s) => (s.into_bytes(), "application/xml"),
                    Err(_) => (
                        serde_json::to_vec(&body).unwrap_or_default(),
                        "application/json",
                    ),
                },
            };
            let mut r = Response::new(Body::from(bytes));
            *r.status_mut() = d.status;
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            r
        }
    };
    if let Some(w) = d.www_authenticate
        && let Ok(v) = HeaderValue::from_str(&w)
    {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_from_path_and_method() {
        let p = "/engagementAPI/v2/agent/messages";
        assert_eq!(operation_of(&Method::GET, p), Some("messages.get"));
        assert_eq!(operation_of(&Method::POST, p), Some("messages.post"));
        assert_eq!(
            operation_of(&Method::POST, "/oauth-server/oauth/token"),
            Some("token")
        );
        assert_eq!(
            operation_of(&Method::GET, "/engagementAPI/v2/customer/agentAvailability"),
            Some("agentAvailability.get")
        );
        assert_eq!(operation_of(&Method::HEAD, p), Some("messages.get"));
        assert_eq!(operation_of(&Method::PUT, p), None);
        assert_eq!(operation_of(&Method::GET, "/nope"), None);
    }
}
