//! Sending one AEAPI call and observing what came back.
//!
//! `send` builds the request for an operation (bearer token, `output=` parameter, query and JSON
//! body), times it from just before sending until the whole body is read, classifies transport
//! failures by kind, and decodes the body (JSON, or XML mapped to JSON by `aeapi::xml`). It never
//! fails: every outcome is an `Observed` that the checks then judge.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::h1;
use super::ops::{Method, Operation};
use super::token::Token;

/// The body format a call asks for with `output=` (suites spell it `json` or `xml`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Json,
    Xml,
}

/// Where calls go.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// API base URL without a trailing slash, e.g. `http://127.0.0.1:8080`.
    pub api_base: String,
    /// `api_base` parsed once (parsing a URL per request costs more than the request's checks).
    base_url: Option<reqwest::Url>,
    /// The base URL's path without its trailing slash (`""` at the root), put before each
    /// operation's path.
    prefix: String,
    pub output: OutputFormat,
    /// Per-request timeout (connect to last body byte).
    pub timeout: Duration,
    /// The largest response body read; a longer one is a `body` error naming the limit.
    pub body_limit: usize,
}

/// The default response body cap: 16 MiB (no AEAPI response comes near it).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The default connect timeout of the harness's HTTP clients.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The client run, conform and replay share for a target: no Nagle delay, and a connect
/// timeout within the request timeout (`insecure_tls` for staging certificates).
pub fn http_client(
    insecure_tls: bool,
    request_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(insecure_tls)
        .tcp_nodelay(true)
        .connect_timeout(CONNECT_TIMEOUT.min(request_timeout))
        .build()
}

impl Endpoint {
    pub fn new(api_base: &str, output: OutputFormat, timeout: Duration) -> Self {
        let api_base = api_base.trim_end_matches('/').to_string();
        let base_url = reqwest::Url::parse(&api_base).ok();
        let prefix = base_url
            .as_ref()
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        Endpoint {
            base_url,
            prefix,
            api_base,
            output,
            timeout,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Caps response bodies at `limit` bytes instead of [`DEFAULT_BODY_LIMIT`].
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// The full URL of `op` (without query).
    fn url(&self, op: &Operation) -> Result<reqwest::Url, UrlError> {
        match &self.base_url {
            Some(base) => {
                let mut url = base.clone();
                if self.prefix.is_empty() {
                    url.set_path(op.path);
                } else {
                    url.set_path(&format!("{}{}", self.prefix, op.path));
                }
                Ok(url)
            }
            None => Err(UrlError::NoBase(self.api_base.clone())),
        }
    }
}

/// Checks a target's base URL: it must parse as an http(s) URL with a host (`http://` and
/// `http://[::1` do not). The error says what is wrong, without repeating the URL.
pub fn check_base_url(s: &str) -> Result<(), UrlError> {
    let url = reqwest::Url::parse(s).map_err(UrlError::Parse)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme(url.scheme().to_string()));
    }
    match url.host_str() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err(UrlError::NoHost),
    }
}

/// Why a base URL is not usable (the URL itself is not repeated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not a URL ({0})")]
    Parse(<reqwest::Url as std::str::FromStr>::Err),
    #[error("scheme `{0}` is not http or https")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    /// A client built without a parseable base.
    #[error("`{0}` is not a URL")]
    NoBase(String),
}

/// One call to make.
pub struct Call<'a> {
    pub op: &'static Operation,
    pub query: Vec<(&'static str, String)>,
    /// JSON body for POSTs (the reference documents JSON bodies).
    pub body: Option<Value>,
    /// Form body (the customer-side calls are form-encoded).
    pub form: Option<Vec<(&'static str, String)>>,
    pub token: Option<&'a Token>,
    /// A timeout for this call instead of the endpoint's (long-polls).
    pub timeout_override: Option<Duration>,
    /// Query parameters named at run time (conformance cases), after `query`.
    pub owned_query: Vec<(String, String)>,
    /// A form body named at run time (used when `body` and `form` are `None`).
    pub owned_form: Option<Vec<(String, String)>>,
    /// Extra headers (e.g. `Authorization: Basic` for the token endpoint). Never logged.
    pub headers: Vec<(String, String)>,
}

impl<'a> Call<'a> {
    pub fn new(op: &'static Operation, token: Option<&'a Token>) -> Self {
        Call {
            op,
            query: Vec::new(),
            body: None,
            form: None,
            token,
            timeout_override: None,
            owned_query: Vec::new(),
            owned_form: None,
            headers: Vec::new(),
        }
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn form(mut self, form: Vec<(&'static str, String)>) -> Self {
        self.form = Some(form);
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout_override = Some(t);
        self
    }
}

/// Kinds of transport failure (no HTTP status was received, or the body could not be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    Connect,
    Reset,
    Timeout,
    /// The body could not be read or decoded (garbage).
    Body,
    Other,
}

impl TransportError {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportError::Connect => "connect",
            TransportError::Reset => "reset",
            TransportError::Timeout => "timeout",
            TransportError::Body => "body",
            TransportError::Other => "other",
        }
    }

    pub(crate) fn classify(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            TransportError::Timeout
        } else if e.is_connect() {
            TransportError::Connect
        } else if e.is_body() || e.is_decode() {
            TransportError::Body
        } else if e.is_request() {
            // hyper reports a peer that closed mid-exchange as a request error.
            TransportError::Reset
        } else {
            TransportError::Other
        }
    }
}

/// What one call observed.
#[derive(Debug, Clone)]
pub struct Observed {
    pub op: &'static str,
    pub method: Method,
    /// The operation's path; with `query`, the request line (see `request_line`).
    pub path: &'static str,
    /// The query sent (never a token: tokens travel in headers).
    pub query: Vec<(Cow<'static, str>, String)>,
    pub started: Instant,
    pub latency: Duration,
    pub status: Option<u16>,
    pub transport: Option<TransportError>,
    /// The decoded body (JSON, or XML mapped to JSON); `None` when empty or undecodable.
    pub body: Option<Value>,
    /// Why the body could not be decoded, if it could not.
    pub decode_error: Option<String>,
    /// The body as received (shared, not copied), for failure examples.
    pub raw: bytes::Bytes,
    pub www_authenticate: Option<String>,
    /// The response's `Content-Type`, as sent.
    pub content_type: Option<String>,
}

impl Observed {
    /// A call of operation `op` (`method path`) starting now, with nothing observed yet.
    pub fn nothing_yet(op: &'static str, method: Method, path: &'static str) -> Observed {
        Observed {
            op,
            method,
            path,
            query: Vec::new(),
            started: Instant::now(),
            latency: Duration::ZERO,
            status: None,
            transport: None,
            body: None,
            decode_error: None,
            raw: bytes::Bytes::new(),
            www_authenticate: None,
            content_type: None,
        }
    }

    /// `GET /path?k=v&...`, built only when a failure example needs it.
    pub fn request_line(&self) -> String {
        let qs: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} {}?{}", self.method.as_str(), self.path, qs.join("&"))
    }

    /// The first bytes of the body, for failure examples.
    pub fn excerpt(&self) -> String {
        excerpt(&self.raw)
    }

    /// Whether the target said the token expired (401 with "Access Token Expired").
    pub fn token_expired(&self) -> bool {
        self.status == Some(401)
            && (self
                .www_authenticate
                .as_deref()
                .is_some_and(|h| h.contains("invalid_token") || h.contains("Access Token Expired"))
                || String::from_utf8_lossy(&self.raw).contains("Access Token Expired"))
    }

    /// A string field of the top-level JSON body.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.body.as_ref()?.get(name)?.as_str()
    }
}

const EXCERPT: usize = 512;

/// The request of `call` to `url` with `query` (`output=` included): timeout, bearer token,
/// headers and the JSON or form body.
fn request(
    http: &reqwest::Client,
    ep: &Endpoint,
    url: reqwest::Url,
    call: &Call<'_>,
    query: &[(Cow<'static, str>, String)],
) -> reqwest::RequestBuilder {
    let mut rb = match call.op.method {
        Method::Get => http.get(url),
        Method::Post => http.post(url),
    };
    rb = rb
        .query(query)
        .timeout(call.timeout_override.unwrap_or(ep.timeout));
    if let Some(tok) = call.token {
        rb = rb.bearer_auth(&tok.access_token);
    }
    for (k, v) in &call.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    if let Some(body) = &call.body {
        rb = rb.json(body);
    } else if let Some(form) = &call.form {
        rb = rb.form(form);
    } else if let Some(form) = &call.owned_form {
        rb = rb.form(form);
    }
    rb
}

/// The query of `call` (`output=` appended) in an `Observed` of its operation, nothing seen yet.
fn observe_start(ep: &Endpoint, call: &mut Call<'_>) -> Observed {
    let op = call.op;
    let output = match ep.output {
        OutputFormat::Json => "json",
        OutputFormat::Xml => "xml",
    };
    let mut query = Vec::with_capacity(call.query.len() + call.owned_query.len() + 1);
    query.extend(call.query.drain(..).map(|(k, v)| (Cow::Borrowed(k), v)));
    query.extend(call.owned_query.drain(..).map(|(k, v)| (Cow::Owned(k), v)));
    query.push((Cow::Borrowed("output"), output.to_string()));
    let mut obs = Observed::nothing_yet(op.name, op.method, op.path);
    obs.query = query;
    obs
}

/// Sends `call` with reqwest and observes the outcome. Never panics, never returns an error.
pub async fn send(http: &reqwest::Client, ep: &Endpoint, mut call: Call<'_>) -> Observed {
    let mut obs = observe_start(ep, &mut call);
    let url = match ep.url(call.op) {
        Ok(u) => u,
        Err(e) => {
            obs.transport = Some(TransportError::Other);
            obs.decode_error = Some(e.to_string());
            return obs;
        }
    };
    let rb = request(http, ep, url, &call, &obs.query);
    let started = Instant::now();
    obs.started = started;
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            obs.latency = started.elapsed();
            obs.transport = Some(TransportError::classify(&e));
            return obs;
        }
    };
    read_response(&mut obs, resp, ep.body_limit).await;
    obs
}

/// How calls reach a target: reqwest, or the lean HTTP/1.1 client (`aeapi::h1`) for plain
/// `http://` targets, which holds a long-poll in a socket and a small buffer.
#[derive(Clone)]
pub enum Transport {
    Reqwest(reqwest::Client),
    Lean(Arc<h1::Client>),
}

impl Transport {
    /// The lean client for an `http://` endpoint, else `http`. An HTTP proxy set in the
    /// environment keeps `http`, which goes through it (the lean client would not).
    pub fn for_endpoint(http: reqwest::Client, ep: &Endpoint) -> Transport {
        let connect_timeout = CONNECT_TIMEOUT.min(ep.timeout);
        let proxied = http_proxy_set(|k| std::env::var_os(k));
        match ep
            .base_url
            .as_ref()
            .filter(|_| !proxied)
            .and_then(|u| h1::Client::new(u, connect_timeout))
        {
            Some(lean) => Transport::Lean(Arc::new(lean)),
            None => Transport::Reqwest(http),
        }
    }

    /// Sends `call` and observes the outcome (see [`send`]).
    pub async fn send(&self, ep: &Endpoint, call: Call<'_>) -> Observed {
        match self {
            Transport::Reqwest(http) => send(http, ep, call).await,
            Transport::Lean(lean) => send_lean(lean, ep, call).await,
        }
    }
}

/// Whether the environment (`var` reads it) names a proxy that reqwest sends `http://`
/// requests through: `HTTP_PROXY` or `ALL_PROXY`, in either case, not empty.
fn http_proxy_set(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|k| var(k).is_some_and(|v| !v.is_empty()))
}

/// The bytes of `call`'s request for the lean client: path and query, token, headers, body.
fn lean_request(
    lean: &h1::Client,
    ep: &Endpoint,
    call: &Call<'_>,
    query: &[(Cow<'static, str>, String)],
) -> Result<Vec<u8>, h1::Error> {
    let mut target = form_urlencoded::Serializer::new(format!("{}{}?", ep.prefix, call.op.path));
    for (k, v) in query {
        target.append_pair(k, v);
    }
    let target = target.finish();
    let encode_form = |pairs: &mut dyn Iterator<Item = (&str, &str)>| {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(pairs);
        form.finish().into_bytes()
    };
    let body = if let Some(json) = &call.body {
        let bytes = serde_json::to_vec(json).map_err(|e| h1::Error::Invalid(e.to_string()))?;
        Some(("application/json", bytes))
    } else if let Some(form) = &call.form {
        let bytes = encode_form(&mut form.iter().map(|(k, v)| (*k, v.as_str())));
        Some(("application/x-www-form-urlencoded", bytes))
    } else {
        call.owned_form.as_ref().map(|form| {
            let bytes = encode_form(&mut form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            ("application/x-www-form-urlencoded", bytes)
        })
    };
    h1::request(
        call.op.method.as_str(),
        &target,
        lean.authority(),
        call.token.map(|t| t.access_token.as_str()),
        &call.headers,
        body.as_ref().map(|(ct, b)| (*ct, b.as_slice())),
    )
}

/// Sends `call` with the lean client and observes the outcome, as [`send`] does with reqwest:
/// the same timing, timeout (the whole exchange), body limit and error kinds.
pub async fn send_lean(lean: &h1::Client, ep: &Endpoint, mut call: Call<'_>) -> Observed {
    let mut obs = observe_start(ep, &mut call);
    let timeout = call.timeout_override.unwrap_or(ep.timeout);
    obs.started = Instant::now();
    // Built again should a reused connection turn out closed: a request is freed once written.
    let build = || lean_request(lean, ep, &call, &obs.query);
    let error = match tokio::time::timeout(timeout, lean.send(build, ep.body_limit)).await {
        Ok(Ok(resp)) => {
            obs.status = Some(resp.status);
            obs.www_authenticate = resp.www_authenticate;
            obs.content_type = resp.content_type;
            let is_xml = obs
                .content_type
                .as_deref()
                .is_some_and(|ct| ct.contains("xml"));
            decode_body(&mut obs, resp.body, is_xml);
            return obs;
        }
        Ok(Err(e)) => e,
        Err(_elapsed) => {
            obs.latency = obs.started.elapsed();
            obs.transport = Some(TransportError::Timeout);
            return obs;
        }
    };
    obs.latency = obs.started.elapsed();
    obs.transport = Some(match &error {
        h1::Error::ConnectTimeout => TransportError::Timeout,
        h1::Error::Connect(_) => TransportError::Connect,
        h1::Error::Reset(_) => TransportError::Reset,
        h1::Error::Malformed(_) | h1::Error::TooLong { .. } => TransportError::Body,
        h1::Error::Io(_) | h1::Error::Invalid(_) => TransportError::Other,
    });
    match error {
        h1::Error::TooLong { status, excerpt } => {
            obs.status = Some(status);
            obs.raw = excerpt;
            obs.decode_error = Some(format!(
                "response body exceeds the limit of {}",
                size_label(ep.body_limit)
            ));
        }
        h1::Error::Malformed(_) | h1::Error::Invalid(_) => {
            obs.decode_error = Some(error.to_string())
        }
        _ => {}
    }
    obs
}

/// `limit` bytes in words, e.g. `16 MiB`, `512 KiB` or `100 bytes`.
pub fn size_label(limit: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else if limit >= 1024 && limit.is_multiple_of(1024) {
        format!("{} KiB", limit / 1024)
    } else {
        format!("{limit} bytes")
    }
}

/// Reads `resp` into `obs` (status, `WWW-Authenticate`, body, decoded body, latency since
/// `obs.started`). The body is read chunk by chunk and never past `limit` bytes: a longer body
/// (announced or not) is a `body` error naming the limit, with what was read kept for excerpts.
pub async fn read_response(obs: &mut Observed, mut resp: reqwest::Response, limit: usize) {
    obs.status = Some(resp.status().as_u16());
    obs.www_authenticate = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    obs.content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let is_xml = obs
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.contains("xml"));
    let too_long = || format!("response body exceeds the limit of {}", size_label(limit));
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        obs.latency = obs.started.elapsed();
        obs.transport = Some(TransportError::Body);
        obs.decode_error = Some(too_long());
        return;
    }
    // An announced length within the limit bounds what hyper reads: take the body whole (one
    // chunk, the usual case, is not copied).
    if resp.content_length().is_some() {
        match resp.bytes().await {
            Ok(bytes) => decode_body(obs, bytes, is_xml),
            Err(e) => {
                obs.latency = obs.started.elapsed();
                obs.transport = Some(TransportError::classify(&e));
            }
        }
        return;
    }
    let mut buf = bytes::BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    obs.latency = obs.started.elapsed();
                    // A copy: a slice of `buf` would keep the whole buffer alive.
                    obs.raw = bytes::Bytes::copy_from_slice(&buf[..EXCERPT.min(buf.len())]);
                    obs.transport = Some(TransportError::Body);
                    obs.decode_error = Some(too_long());
                    return;
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                obs.latency = obs.started.elapsed();
                obs.transport = Some(TransportError::classify(&e));
                return;
            }
        }
    }
    decode_body(obs, buf.freeze(), is_xml);
}

/// Notes the latency of a body read to its end, keeps the body and decodes it.
fn decode_body(obs: &mut Observed, bytes: bytes::Bytes, is_xml: bool) {
    obs.latency = obs.started.elapsed();
    obs.raw = bytes.clone();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let decoded = if is_xml {
        super::xml::to_json(&bytes).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string())
    };
    match decoded {
        Ok(v) => obs.body = Some(v),
        Err(e) => obs.decode_error = Some(e),
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let cut = bytes.len().min(EXCERPT);
    let mut s = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > EXCERPT {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_label_names_the_largest_whole_unit() {
        assert_eq!(size_label(DEFAULT_BODY_LIMIT), "16 MiB");
        assert_eq!(size_label(512 * 1024), "512 KiB");
        assert_eq!(size_label(1000), "1000 bytes");
    }

    #[test]
    fn an_http_proxy_in_the_environment_is_seen_in_either_case() {
        let env = |set: &'static [(&'static str, &'static str)]| {
            move |k: &str| set.iter().find(|(n, _)| *n == k).map(|(_, v)| v.into())
        };
        assert!(!http_proxy_set(env(&[])));
        assert!(!http_proxy_set(env(&[
            ("HTTP_PROXY", ""),
            ("HTTPS_PROXY", "http://p:3128")
        ])));
        assert!(http_proxy_set(env(&[("http_proxy", "http://p:3128")])));
        assert!(http_proxy_set(env(&[("ALL_PROXY", "socks5://p:1080")])));
    }

    #[test]
    fn base_urls_need_an_http_scheme_and_a_host() {
        assert_eq!(check_base_url("http://127.0.0.1:8080"), Ok(()));
        assert_eq!(check_base_url("https://api.example.com/base/"), Ok(()));
        for (url, want) in [
            ("http://", "not a URL (empty host)"),
            ("http://[::1", "not a URL (invalid IPv6 address)"),
            ("ftp://host", "scheme `ftp` is not http or https"),
        ] {
            let got = check_base_url(url).map_err(|e| e.to_string());
            assert_eq!(got, Err(want.to_string()), "{url}");
        }
    }
}
