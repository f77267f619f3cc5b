//! From HAR exchanges to AEAPI calls: which operation each entry is (method and path matched
//! against the operation table), its API base, parsed request and response bodies, and every
//! secret the entry carries (names counted for the user, values kept only to prove that none
//! reaches an output file).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde_json::{Map, Value};

use crate::aeapi::ops::{self, Operation};
use crate::har::{Body, Exchange};

/// One recorded AEAPI call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Position in `log.entries`.
    pub entry: usize,
    pub op: &'static Operation,
    /// `scheme://host[:port][/prefix]`, the URL without the operation's path (no userinfo).
    pub base: String,
    pub started_ms: f64,
    pub ended_ms: f64,
    pub time_ms: f64,
    pub status: u16,
    pub query: Vec<(String, String)>,
    /// JSON body, or a form body as an object of strings.
    pub request: Option<Value>,
    /// JSON body, or an XML body mapped to JSON (`aeapi::xml`).
    pub response: Option<Value>,
    /// A text body that is neither JSON nor XML.
    pub response_unreadable: bool,
}

impl Call {
    /// A query parameter, else a request body field, as text.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.body_field(name))
    }

    /// A top-level request body field as text.
    pub fn body_field(&self, name: &str) -> Option<String> {
        match self.request.as_ref()?.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The operation `method` + `url` calls and the API base before its path, if any.
pub fn recognise(method: &str, url: &str) -> Option<(&'static Operation, String)> {
    let u = reqwest::Url::parse(url).ok()?;
    let path = u.path();
    let op = ops::OPERATIONS
        .iter()
        .chain(ops::CUSTOMER_OPERATIONS)
        .find(|op| {
            op.method.as_str() == method
                && path
                    .strip_suffix(op.path)
                    .is_some_and(|prefix| !prefix.ends_with('/'))
        })?;
    let prefix = &path[..path.len() - op.path.len()];
    let host = u.host_str()?;
    let base = match u.port() {
        Some(p) => format!("{}://{host}:{p}{prefix}", u.scheme()),
        None => format!("{}://{host}{prefix}", u.scheme()),
    };
    Some((op, base))
}

/// Why an AEAPI entry cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry {
    pub entry: usize,
    pub reason: String,
}

/// The call `x` makes, or `None` when it is not an AEAPI operation.
pub fn to_call(x: &Exchange) -> Result<Option<Call>, BadEntry> {
    let Some((op, base)) = recognise(&x.method, &x.url) else {
        return Ok(None);
    };
    let bad = |reason: String| BadEntry {
        entry: x.index,
        reason,
    };
    let (response, response_unreadable) = match &x.response_body {
        None => (None, false),
        Some(Body::Binary { len }) => {
            return Err(bad(format!(
                "the response of `{}` is binary ({len} bytes), not JSON or XML",
                op.name
            )));
        }
        Some(Body::Text(t)) => match parse_response(t) {
            Some(v) => (Some(v), false),
            None => (None, true),
        },
    };
    let request = match &x.request_body {
        Some(Body::Text(t)) => parse_request(t, &x.request_mime),
        _ => None,
    };
    Ok(Some(Call {
        entry: x.index,
        op,
        base,
        started_ms: x.started_ms,
        ended_ms: x.ended_ms(),
        time_ms: x.time_ms.max(0.0),
        status: x.status,
        query: x.query.clone(),
        request,
        response,
        response_unreadable,
    }))
}

fn parse_response(text: &str) -> Option<Value> {
    let t = text.trim_start();
    if t.is_empty() {
        return None;
    }
    if t.starts_with('<') {
        return crate::aeapi::xml::to_json(t.as_bytes()).ok();
    }
    serde_json::from_str(t).ok()
}

fn parse_request(text: &str, mime: &str) -> Option<Value> {
    let t = text.trim_start();
    if mime.contains("x-www-form-urlencoded") || (!t.starts_with('{') && t.contains('=')) {
        let map: Map<String, Value> = form_urlencoded::parse(t.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Some(Value::Object(map));
    }
    serde_json::from_str(t).ok()
}

/// Secrets seen in the recording: what they were (names with counts, for the user) and their
/// values (only to check that no output file contains one; never printed).
#[derive(Debug, Default)]
pub struct Secrets {
    pub found: BTreeMap<String, usize>,
    values: BTreeSet<String>,
}

/// Field and parameter names whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "oldPassword",
    "newPassword",
    "confirmNewPassword",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
];

/// Headers whose values are secrets (lower case).
const SECRET_HEADERS: &[&str] = &[
    "cookie",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-auth-token",
];

impl Secrets {
    fn add(&mut self, what: String, value: &str) {
        *self.found.entry(what).or_default() += 1;
        let v = value.trim();
        if !v.is_empty() {
            self.values.insert(v.to_string());
        }
    }

    /// Records every secret `x` carries; `op` names where bodies came from.
    pub fn scan(&mut self, x: &Exchange, op: Option<&str>) {
        let place = op.map_or_else(|| "a non-AEAPI".to_string(), |o| format!("`{o}`"));
        for (name, value) in &x.request_headers {
            let lower = name.to_ascii_lowercase();
            if lower == "authorization" {
                self.authorization(value);
            } else if SECRET_HEADERS.contains(&lower.as_str()) {
                self.add(format!("{name} request header"), value);
            }
        }
        for (name, value) in &x.request_cookies {
            self.add(format!("cookie `{name}`"), value);
        }
        for (name, value) in &x.response_headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                let v = value.split(';').next().unwrap_or_default();
                let (cookie, val) = v.split_once('=').unwrap_or(("", v));
                self.add(format!("Set-Cookie `{}`", cookie.trim()), val);
            }
        }
        for (name, value) in &x.query {
            if SECRET_FIELDS.contains(&name.as_str()) {
                self.add(format!("query parameter `{name}`"), value);
            }
        }
        if let Some(Body::Text(t)) = &x.request_body
            && let Some(Value::Object(m)) = parse_request(t, &x.request_mime)
        {
            self.fields(&m, &format!("{place} request body field"));
        }
        if let Some(Body::Text(t)) = &x.response_body
            && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(t)
        {
            self.fields(&m, &format!("{place} response field"));
        }
        if let Ok(u) = reqwest::Url::parse(&x.url)
            && let Some(p) = u.password()
        {
            self.add("password in a URL".into(), p);
        }
    }

    fn fields(&mut self, m: &Map<String, Value>, what: &str) {
        for (k, v) in m {
            if let (true, Some(s)) = (SECRET_FIELDS.contains(&k.as_str()), v.as_str()) {
                self.add(format!("{what} `{k}`"), s);
            }
        }
    }

    fn authorization(&mut self, value: &str) {
        let (scheme, cred) = value.trim().split_once(' ').unwrap_or(("", value));
        self.add(
            format!(
                "Authorization header ({})",
                if scheme.is_empty() { "raw" } else { scheme }
            ),
            value,
        );
        let cred = cred.trim();
        self.values.insert(cred.to_string());
        if scheme.eq_ignore_ascii_case("basic")
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(cred)
            && let Ok(text) = String::from_utf8(bytes)
        {
            // id:secret: the secret is the part after the first colon.
            if let Some((_, secret)) = text.split_once(':') {
                self.values.insert(secret.to_string());
            }
            self.values.insert(text);
        }
    }

    /// The first of `texts` that contains a secret value (values shorter than 4 characters are
    /// not checked: they would match by chance), by its position in `texts`.
    pub fn leaked_into(&self, texts: &[&str]) -> Option<usize> {
        texts.iter().position(|t| {
            self.values
                .iter()
                .any(|v| v.chars().count() >= 4 && t.contains(v.as_str()))
        })
    }

    /// Lines like `Authorization header (Bearer) ×40`, sorted by name.
    pub fn summary(&self) -> Vec<String> {
        self.found
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(method: &str, url: &str) -> Exchange {
        Exchange {
            index: 7,
            method: method.into(),
            url: url.into(),
            started_ms: 1000.0,
            time_ms: 5.0,
            request_headers: Vec::new(),
            request_cookies: Vec::new(),
            query: Vec::new(),
            request_body: None,
            request_mime: String::new(),
            status: 200,
            response_headers: Vec::new(),
            response_body: None,
            response_mime: String::new(),
        }
    }

    #[test]
    fn operations_are_recognised_by_method_and_path_with_any_base_prefix() {
        for (method, url, name, want_base) in [
            (
                "GET",
                "https://api.example.com/ae/engagementAPI/v2/agent/messages?x=1",
                "messages.get",
                Some("https://api.example.com/ae"),
            ),
            (
                "POST",
                "http://127.0.0.1:8080/engagementAPI/v2/agent/messages",
                "messages.post",
                Some("http://127.0.0.1:8080"),
            ),
            (
                "POST",
                "http://u:p@auth.example.com/oauth-server/oauth/token",
                "token",
                None,
            ),
        ] {
            let (op, base) = recognise(method, url).expect(name);
            assert_eq!(op.name, name);
            if let Some(want) = want_base {
                assert_eq!(base, want, "{url}");
            }
        }
        assert!(recognise("OPTIONS", "http://h/engagementAPI/v2/agent/login").is_none());
        assert!(recognise("GET", "http://h/desk.html").is_none());
        assert!(recognise("POST", "http://h/xengagementAPI/v2/agent/login").is_none());
        assert!(recognise("POST", "http://h/x/engagementAPI/v2/agent/login").is_some());
        assert!(recognise("POST", "http://h/engagementAPI/v2/agent/login/").is_none());
        assert!(recognise("GET", "not a url").is_none());
    }

    #[test]
    fn a_binary_aeapi_body_is_an_error_naming_the_entry_and_operation() {
        let mut x = exchange("POST", "http://h/engagementAPI/v2/agent/login");
        x.response_body = Some(Body::Binary { len: 12 });
        assert_eq!(
            to_call(&x).map(|_| ()),
            Err(BadEntry {
                entry: 7,
                reason: "the response of `login` is binary (12 bytes), not JSON or XML".into()
            })
        );
        let mut other = exchange("GET", "http://h/logo.png");
        other.response_body = Some(Body::Binary { len: 12 });
        assert!(matches!(to_call(&other), Ok(None)));
    }

    #[test]
    fn bodies_parse_as_json_form_or_xml() {
        let mut x = exchange("POST", "http://h/oauth-server/oauth/token");
        x.request_body = Some(Body::Text("grant_type=password&username=a%40b".into()));
        x.request_mime = "application/x-www-form-urlencoded".into();
        x.response_body = Some(Body::Text("<r><a>1</a><b>x</b><b>y</b></r>".into()));
        let c = to_call(&x).expect("ok").expect("token");
        assert_eq!(c.param("username").as_deref(), Some("a@b"));
        assert_eq!(
            c.response,
            Some(serde_json::json!({"a": "1", "b": ["x", "y"]}))
        );
        x.response_body = Some(Body::Text("<html>oops".into()));
        x.status = 502;
        let c = to_call(&x).expect("ok").expect("token");
        assert!(c.response_unreadable && c.response.is_none());
    }

    #[test]
    fn secrets_are_named_and_counted_and_their_values_found_in_texts() {
        let mut s = Secrets::default();
        let mut x = exchange("POST", "http://h/oauth-server/oauth/token");
        // "id:s3cret-value"
        x.request_headers = vec![
            ("Authorization".into(), "Basic aWQ6czNjcmV0LXZhbHVl".into()),
            ("Cookie".into(), "JSESSIONID=cookie-value".into()),
        ];
        x.request_cookies = vec![("JSESSIONID".into(), "cookie-value".into())];
        x.request_body = Some(Body::Text(
            r#"{"username":"a","password":"pw-1234"}"#.into(),
        ));
        x.response_body = Some(Body::Text(r#"{"access_token":"tok.en.value"}"#.into()));
        s.scan(&x, Some("token"));
        assert_eq!(
            s.summary(),
            vec![
                "Authorization header (Basic) ×1",
                "Cookie request header ×1",
                "`token` request body field `password` ×1",
                "`token` response field `access_token` ×1",
                "cookie `JSESSIONID` ×1",
            ]
        );
        for leak in [
            "x s3cret-value y",
            "pw-1234",
            "tok.en.value",
            "cookie-value",
            "aWQ6czNjcmV0LXZhbHVl",
        ] {
            assert_eq!(s.leaked_into(&["clean", leak]), Some(1), "{leak}");
        }
        assert_eq!(s.leaked_into(&["username: a", "id"]), None);
    }
}
