//! Request parameters, parsed by hand so that bad input always becomes our own 400.
//!
//! The reference shows JSON bodies; real clients (field notes) post form-encoded bodies. Both are
//! accepted, chosen by `Content-Type` (or by a leading `{` when there is none). A body parameter
//! may also be given in the query string, and names match exactly first, then ignoring case
//! (the reference itself spells `agentId`/`agentID`, `siteId`/`siteID`).

use std::borrow::Cow;

use axum::http::HeaderMap;
use serde_json::Value;

use super::error::ApiError;
use crate::aeapi::ops::{Operation, ParamIn};

/// Parsed `name=value` pairs (query string or body).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, Value)>,
}

impl Params {
    /// Parses a query string (without `?`).
    pub fn from_query(q: Option<&str>) -> Self {
        let pairs = q
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Params { pairs }
    }

    /// Parses a request body as JSON (an object) or form-encoded.
    pub fn from_body(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        let ctype = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let trimmed = body.trim_ascii_start();
        if trimmed.is_empty() {
            return Ok(Params::default());
        }
        let json = ctype.contains("json") || (ctype.is_empty() && trimmed.starts_with(b"{"));
        if json {
            let v: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::invalid("body", format!("not valid JSON: {e}")))?;
            match v {
                Value::Object(map) => Ok(Params {
                    pairs: map.into_iter().collect(),
                }),
                _ => Err(ApiError::invalid("body", "expected a JSON object")),
            }
        } else if ctype.is_empty() || ctype.contains("x-www-form-urlencoded") {
            Ok(Params {
                pairs: form_urlencoded::parse(body)
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                    .collect(),
            })
        } else {
            Err(ApiError::invalid(
                "Content-Type",
                format!("unsupported body type `{ctype}` (use JSON or form-encoded)"),
            ))
        }
    }

    fn raw(&self, name: &str) -> Option<&Value> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| {
                self.pairs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v)
    }

    /// A required parameter (400 naming it when absent).
    pub fn require(&self, name: &'static str) -> Result<Cow<'_, str>, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// A scalar parameter as text (numbers and booleans are written out); `None` when absent,
    /// null, or empty.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.raw(name)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(Cow::Borrowed(s.as_str())),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            _ => None,
        }
    }

    /// Checks a JSON body's values against the operation's parameter types: an object, array or
    /// null where a string, boolean or integer belongs is 400 naming the parameter, and so is a
    /// number or boolean where a boolean or an integer belongs and a string is not. A number or
    /// boolean where a string belongs is written out (the reference's examples send ids both
    /// ways) unless `strict`. Form values are strings and always pass; parameters the table does
    /// not list are left to the handler.
    pub fn check_types(&self, op: &Operation, strict: bool) -> Result<(), ApiError> {
        if self.pairs.iter().all(|(_, v)| v.is_string()) {
            return Ok(());
        }
        let params = op.params();
        for (k, v) in &self.pairs {
            let Some(p) = params.iter().find(|p| {
                p.location != ParamIn::Query
                    && p.location != ParamIn::Header
                    && p.name.eq_ignore_ascii_case(k)
            }) else {
                continue;
            };
            let fits = match (p.kind, v) {
                (_, Value::String(_)) => true,
                ("object", Value::Object(_)) | ("array", Value::Array(_)) => true,
                ("boolean", Value::Bool(_)) => true,
                ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
                ("string", Value::Number(_) | Value::Bool(_)) => !strict,
                _ => false,
            };
            if !fits {
                let found = match v {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    Value::Array(_) => "an array",
                    Value::Object(_) => "an object",
                };
                return Err(ApiError::invalid(
                    p.name,
                    format!("expected {} {}, found {found}", article(p.kind), p.kind),
                ));
            }
        }
        Ok(())
    }

    /// Any JSON value (objects such as `dispositions`).
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.raw(name)
    }

    /// A boolean flag (`true`/`false`, any case); absent means `default`.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::unexpected(name, "true or false", &v)),
        }
    }
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// A request's query and body parameters, looked up body first.
#[derive(Debug, Clone)]
pub struct Input<'q> {
    pub query: &'q Params,
    pub body: &'q Params,
}

impl Input<'_> {
    /// Looks in the body, then the query string.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.body.get(name).or_else(|| self.query.get(name))
    }

    /// Checks the values of the operation's enumerated and bounded parameters (the table's
    /// `=values`, which the OpenAPI document lists too) wherever they are given: anything else is
    /// 400 naming the parameter, before the handler runs.
    pub fn check_values(&self, op: &Operation) -> Result<(), ApiError> {
        for p in op.params() {
            if p.location == ParamIn::Header {
                continue;
            }
            let Some(v) = self.get(p.name) else {
                continue;
            };
            if p.allowed().is_some_and(|a| !a.contains(&v.as_ref())) {
                return Err(ApiError::unexpected(p.name, &p.allowed_phrase(), &v));
            }
            if let Some((lo, hi)) = p.bounds() {
                match v.trim().parse::<i64>() {
                    Ok(n) if (lo..=hi).contains(&n) => {}
                    Ok(_) => {
                        let range = format!("an integer from {lo} to {hi}");
                        return Err(ApiError::unexpected(p.name, &range, &v));
                    }
                    Err(_) => return Err(ApiError::unexpected(p.name, "an integer", &v)),
                }
            }
        }
        Ok(())
    }

    /// A required parameter (400 naming it when absent).
    pub fn require(&self, name: &'static str) -> Result<Cow<'_, str>, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// A required parameter the reference's table puts in the query but its example in the body
    /// (customSettings' `agentID`, followUpEngagement's `agentId`): either place, unless
    /// `strict` (query only).
    pub fn require_query_or_body(
        &self,
        name: &'static str,
        strict: bool,
    ) -> Result<Cow<'_, str>, ApiError> {
        if strict {
            self.require_query(name)
        } else {
            self.require(name)
        }
    }

    /// A required parameter from the query string only.
    pub fn require_query(&self, name: &'static str) -> Result<Cow<'_, str>, ApiError> {
        self.query.require(name)
    }

    /// A boolean flag from body or query.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ApiError> {
        if self.body.get(name).is_some() {
            self.body.flag(name, default)
        } else {
            self.query.flag(name, default)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, header};

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(ct) {
            h.insert(header::CONTENT_TYPE, v);
        }
        h
    }

    #[test]
    fn form_and_json_bodies_give_the_same_parameters() {
        let f = Params::from_body(
            &headers("application/x-www-form-urlencoded"),
            b"agentId=agent1&engagementId=42",
        )
        .expect("form");
        let j = Params::from_body(
            &headers("application/json"),
            br#"{"agentId":"agent1","engagementId":42}"#,
        )
        .expect("json");
        for p in [&f, &j] {
            assert_eq!(p.get("agentId").as_deref(), Some("agent1"));
            assert_eq!(p.get("engagementID").as_deref(), Some("42"));
        }
    }

    #[test]
    fn bad_bodies_are_400_naming_the_body() {
        let e = Params::from_body(&headers("application/json"), b"{nope").expect_err("bad");
        assert_eq!(e.parameter, Some("body"));
        let e = Params::from_body(&headers("application/json"), b"[1]").expect_err("bad");
        assert_eq!(e.parameter, Some("body"));
        let e = Params::from_body(&headers("text/plain"), b"x").expect_err("bad");
        assert_eq!(e.parameter, Some("Content-Type"));
    }

    #[test]
    fn flags_reject_non_booleans() {
        let q = Params::from_query(Some("instantResponse=TRUE&x=maybe"));
        assert_eq!(q.flag("instantResponse", false), Ok(true));
        assert!(q.flag("x", false).is_err());
        assert_eq!(q.flag("absent", true), Ok(true));
    }
}
