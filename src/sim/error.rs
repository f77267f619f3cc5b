//! Replies and errors as handlers produce them, before rendering.
//!
//! Handlers return a [`Reply`] (status + a JSON value + the XML root name) or an [`ApiError`];
//! both travel to the gate middleware as a [`Deferred`] response extension, where schema-drift
//! faults are applied and the body is rendered as JSON or XML (`output=`). Every error, including
//! axum's own rejections, ends up in one shape:
//! `{"status": 400, "error": "Bad Request", "message": "...", "parameter": "engagementId"}`
//! (`parameter` only when one parameter is to blame), or `<error>` with the same children in XML.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A reply waiting to be rendered by the gate.
#[derive(Debug, Clone)]
pub struct Deferred {
    pub status: StatusCode,
    /// XML root element name.
    pub root: &'static str,
    /// `None` for an empty body.
    pub body: Option<Value>,
    /// Extra `WWW-Authenticate` header value (401s from auth).
    pub www_authenticate: Option<String>,
}

/// A successful reply.
#[derive(Debug, Clone)]
pub struct Reply(pub Deferred);

impl Reply {
    /// 200 with a JSON object body rendered under the XML root `root`.
    pub fn ok(root: &'static str, body: Value) -> Self {
        Reply(Deferred {
            status: StatusCode::OK,
            root,
            body: Some(body),
            www_authenticate: None,
        })
    }

    /// 200 with no body (most POST operations of the reference).
    pub fn empty() -> Self {
        Self::status(StatusCode::OK)
    }

    /// A bodiless reply with this status (204 for an empty long-poll).
    pub fn status(status: StatusCode) -> Self {
        Reply(Deferred {
            status,
            root: "response",
            body: None,
            www_authenticate: None,
        })
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut r = self.0.status.into_response();
        r.extensions_mut().insert(self.0);
        r
    }
}

/// An error reply in the simulator's one error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub parameter: Option<&'static str>,
    pub www_authenticate: Option<String>,
}

/// Shorthand for handler results.
pub type ApiResult = Result<Reply, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            parameter: None,
            www_authenticate: None,
        }
    }

    /// 400: a required parameter is absent.
    pub fn missing(parameter: &'static str) -> Self {
        ApiError {
            parameter: Some(parameter),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                format!("missing required parameter `{parameter}`"),
            )
        }
    }

    /// 400: a parameter has a value the operation does not accept.
    pub fn invalid(parameter: &'static str, detail: impl AsRef<str>) -> Self {
        ApiError {
            parameter: Some(parameter),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                format!("invalid parameter `{parameter}`: {}", detail.as_ref()),
            )
        }
    }

    /// 400: a parameter's value is not one the operation accepts; `expected` names those it does.
    pub fn unexpected(parameter: &'static str, expected: &str, found: &str) -> Self {
        Self::invalid(parameter, format!("expected {expected}, found `{found}`"))
    }

    /// 401: unknown agent, session, engagement or customer (the reference's "no such agent").
    pub fn unknown(what: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, what)
    }

    /// 422: too late (expired offer, closed engagement).
    pub fn expired(what: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, what)
    }

    /// The error as a deferred reply.
    pub fn deferred(&self) -> Deferred {
        Deferred {
            status: self.status,
            root: "error",
            body: Some(error_body(self.status, &self.message, self.parameter)),
            www_authenticate: self.www_authenticate.clone(),
        }
    }
}

/// The one error body shape.
pub fn error_body(status: StatusCode, message: &str, parameter: Option<&str>) -> Value {
    let mut v = json!({
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
    });
    if let (Some(p), Some(obj)) = (parameter, v.as_object_mut()) {
        obj.insert("parameter".into(), Value::String(p.into()));
    }
    v
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Reply(self.deferred()).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_names_the_parameter() {
        let e = ApiError::missing("engagementId");
        assert_eq!(
            e.deferred().body,
            Some(json!({
                "status": 400,
                "error": "Bad Request",
                "message": "missing required parameter `engagementId`",
                "parameter": "engagementId"
            }))
        );
    }
}
