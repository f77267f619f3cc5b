//! OAuth2 tokens for the AEAPI: one store per client id (client_credentials grant, shared by
//! every agent of a run) or one per agent (password grant).
//!
//! A store hands out a token until `refresh_margin` before it expires, then fetches a new one;
//! concurrent callers wait for a single refresh (single flight). After the target answers
//! 401 "Access Token Expired", `invalidate` drops exactly the stale token so the next `get`
//! refreshes once. Token requests are timed separately (operation `token`), so the target's
//! API latency figures never include them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::client::{self, Observed, TransportError};
use super::ops;

/// A bearer token and when the harness considers it expired.
#[derive(Clone)]
pub struct Token {
    pub access_token: String,
    /// When the token expires, by the harness's clock (issue time + `expires_in`).
    pub expires_at: Instant,
    /// When the store fetches a new one: the refresh margin (at most half the lifetime) earlier.
    pub refresh_at: Instant,
    /// Site ids the token covers.
    pub sites: Vec<String>,
    /// A counter distinguishing successive tokens of one store.
    pub generation: u64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"****")
            .field("expires_at", &self.expires_at)
            .field("sites", &self.sites)
            .field("generation", &self.generation)
            .finish()
    }
}

/// How a token is asked for.
#[derive(Clone)]
pub struct TokenRequest {
    /// Full URL of the token endpoint.
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    /// `Some((username, password))` for the password grant.
    pub password_grant: Option<(String, String)>,
}

/// Why a token could not be had. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token request to {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("token request to {url} got no complete answer within {} s", after.as_secs_f64())]
    Timeout { url: String, after: Duration },
    #[error("token request to {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("token response from {url} is not a token: {detail}")]
    Body { url: String, detail: String },
}

/// One completed token request, for the caller's metrics.
#[derive(Debug, Clone)]
pub struct TokenFetch {
    pub status: Option<u16>,
    pub latency: Duration,
    pub ok: bool,
    /// The exchange as observed (operation `token`), for the caller to judge against the
    /// suite's `token` contract like any other call. Its body holds the token: a secret.
    pub observed: Observed,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    sites: Vec<String>,
}

/// A shared, refreshing token source.
pub struct TokenStore {
    request: TokenRequest,
    http: reqwest::Client,
    refresh_margin: Duration,
    /// The whole token request's bound, connect to last body byte.
    timeout: Duration,
    body_limit: usize,
    state: Mutex<Option<Arc<Token>>>,
}

/// The default bound on one token request (connect to last body byte).
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

impl TokenStore {
    pub fn new(request: TokenRequest, http: reqwest::Client) -> Self {
        TokenStore {
            request,
            http,
            refresh_margin: Duration::from_secs(5),
            timeout: DEFAULT_TOKEN_TIMEOUT,
            body_limit: client::DEFAULT_BODY_LIMIT,
            state: Mutex::new(None),
        }
    }

    /// Bounds each token request by `timeout` (connect to last byte) and its body by
    /// `body_limit` bytes (defaults: 10 s and 16 MiB).
    pub fn with_limits(mut self, timeout: Duration, body_limit: usize) -> Self {
        self.timeout = timeout;
        self.body_limit = body_limit;
        self
    }

    /// Refresh this long before expiry (default 5 s; at most half the token's lifetime).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// A token valid for at least the refresh margin; fetches one when needed. The second value
    /// is the token request made, if any, for the caller's metrics.
    pub async fn get(&self) -> (Result<Arc<Token>, TokenError>, Option<TokenFetch>) {
        let mut guard = self.state.lock().await;
        if let Some(tok) = guard.as_ref()
            && Instant::now() < tok.refresh_at
        {
            return (Ok(tok.clone()), None);
        }
        let generation = guard.as_ref().map_or(1, |t| t.generation + 1);
        let (result, fetch) = self.fetch(generation).await;
        if let Ok(tok) = &result {
            *guard = Some(tok.clone());
        }
        (result, Some(fetch))
    }

    /// Drops `stale` if it is still the current token, so the next `get` refreshes.
    pub async fn invalidate(&self, stale: &Token) {
        let mut guard = self.state.lock().await;
        if guard
            .as_ref()
            .is_some_and(|t| t.generation == stale.generation)
        {
            *guard = None;
        }
    }

    async fn fetch(&self, generation: u64) -> (Result<Arc<Token>, TokenError>, TokenFetch) {
        let r = &self.request;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", r.client_id, r.client_secret));
        let mut form: Vec<(&str, &str)> = Vec::with_capacity(3);
        match &r.password_grant {
            Some((user, pass)) => {
                form.push(("grant_type", "password"));
                form.push(("username", user));
                form.push(("password", pass));
            }
            None => form.push(("grant_type", "client_credentials")),
        }
        let (name, path) = ops::find("token").map_or(("token", ""), |op| (op.name, op.path));
        let mut obs = Observed::nothing_yet(name, ops::Method::Post, path);
        let sent = self
            .http
            .post(&r.url)
            .timeout(self.timeout)
            .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
            .form(&form)
            .send()
            .await;
        let url = r.url.clone();
        let error = match sent {
            Ok(resp) => {
                client::read_response(&mut obs, resp, self.body_limit).await;
                token_error(&obs, url, self.timeout)
            }
            Err(source) if source.is_timeout() => {
                obs.latency = obs.started.elapsed();
                obs.transport = Some(TransportError::Timeout);
                Some(TokenError::Timeout {
                    url,
                    after: self.timeout,
                })
            }
            Err(source) => {
                obs.latency = obs.started.elapsed();
                obs.transport = Some(TransportError::classify(&source));
                Some(TokenError::Transport { url, source })
            }
        };
        let parsed = match error {
            Some(e) => Err(e),
            None => obs
                .body
                .clone()
                .ok_or_else(|| "empty body".to_string())
                .and_then(|b| serde_json::from_value::<TokenResponse>(b).map_err(|e| e.to_string()))
                .map_err(|detail| {
                    // A 200 that is not a token breaks the `token` contract whatever its schema.
                    obs.decode_error = Some(format!("not a token: {detail}"));
                    TokenError::Body {
                        url: r.url.clone(),
                        detail,
                    }
                }),
        };
        let result = parsed.map(|t| {
            let started = obs.started;
            let ttl = Duration::from_secs_f64(t.expires_in.unwrap_or(59.0).clamp(0.0, 1e7));
            let margin = self.refresh_margin.min(ttl / 2);
            Arc::new(Token {
                access_token: t.access_token,
                expires_at: started + ttl,
                refresh_at: started + ttl - margin,
                sites: t.sites,
                generation,
            })
        });
        let fetch = TokenFetch {
            status: obs.status,
            latency: obs.latency,
            ok: result.is_ok(),
            observed: obs,
        };
        (result, fetch)
    }
}

/// Why a read token response is not a token, before its body is parsed.
fn token_error(obs: &Observed, url: String, after: Duration) -> Option<TokenError> {
    match (obs.status, &obs.transport, &obs.decode_error) {
        (Some(status), _, _) if status != 200 => Some(TokenError::Status { url, status }),
        (_, Some(TransportError::Timeout), _) => Some(TokenError::Timeout { url, after }),
        (_, Some(kind), detail) => Some(TokenError::Body {
            url,
            detail: detail
                .clone()
                .unwrap_or_else(|| format!("{} error", kind.as_str())),
        }),
        (_, None, Some(detail)) => Some(TokenError::Body {
            url,
            detail: detail.clone(),
        }),
        _ => None,
    }
}
