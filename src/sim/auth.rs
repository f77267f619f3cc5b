//! The OAuth2 token endpoint and bearer-token checks.
//!
//! Tokens are RS256 JWTs with the claims of the reference's sample token. They are signed with a
//! fixed development key pair shipped in `src/sim/keys/` — a PUBLIC SANDBOX KEY, never a secret:
//! anyone can mint tokens this simulator accepts, which is fine for a local sandbox and avoids
//! generating a 2048-bit key at every start (seconds in a debug build) while keeping tokens
//! stable across restarts. Verified tokens are cached by their string so each token costs one
//! RSA verification, not one per request; expiry is checked on every request against the
//! simulator's clock (tokio time, so paused-clock tests can expire tokens).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::config::SimConfig;
use super::error::ApiError;
use super::params::Params;
use super::state::Clock;

const DEV_PRIVATE_PEM: &[u8] = include_bytes!("keys/dev-private.pem");
const DEV_PUBLIC_PEM: &[u8] = include_bytes!("keys/dev-public.pem");

/// `WWW-Authenticate` of a request without a usable token (the reference's smsCommand example).
pub const WWW_UNAUTHORIZED: &str = "Bearer realm=\"aeapi\", error=\"unauthorized\", error_description=\"Full authentication is required to access this resource\"";
/// `WWW-Authenticate` of a request with an expired token.
pub const WWW_EXPIRED: &str =
    "Bearer realm=\"aeapi\", error=\"invalid_token\", error_description=\"Access Token Expired\"";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub aud: Vec<String>,
    pub scope: Vec<String>,
    pub sites: Vec<String>,
    pub exp: u64,
    pub jti: String,
    pub client_id: String,
    /// The agent, for `grant_type=password` tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

const SHARDS: usize = 16;

/// Hashes only the last 32 bytes of each write: for a JWT that is the tail of its RS256
/// signature, random enough to spread keys, and it saves hashing ~700 bytes per request.
/// Equality still compares whole tokens, and only verified tokens are ever inserted.
#[derive(Debug, Default, Clone)]
struct TailState(std::collections::hash_map::RandomState);

struct TailHasher(std::collections::hash_map::DefaultHasher);

impl BuildHasher for TailState {
    type Hasher = TailHasher;
    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

impl std::hash::Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let start = bytes.len().saturating_sub(32);
        self.0.write(&bytes[start..]);
    }
    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

type TokenCache = HashMap<Box<str>, Arc<Claims>, TailState>;

/// Signing, verification and the verified-token cache.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    cache: Vec<RwLock<TokenCache>>,
    hasher: TailState,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl Auth {
    /// Loads the shipped development key pair.
    pub fn new() -> Result<Self, String> {
        let encoding = EncodingKey::from_rsa_der(&pem_to_der(DEV_PRIVATE_PEM)?);
        let decoding = DecodingKey::from_rsa_der(&pem_to_der(DEV_PUBLIC_PEM)?);
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.set_audience(&["ceapi"]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        Ok(Auth {
            encoding,
            decoding,
            validation,
            cache: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::with_hasher(TailState::default())))
                .collect(),
            hasher: Default::default(),
        })
    }

    fn shard(&self, token: &str) -> &RwLock<TokenCache> {
        &self.cache[(self.hasher.hash_one(token) as usize) % SHARDS]
    }

    /// Signs a token.
    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &self.encoding)
            .map_err(|e| format!("signing failed: {e}"))
    }

    /// Checks a request's bearer token. No or a garbled token is 401 (the reference's example,
    /// lines 3326-3340), or 403 when `strict` (its code table, line 225: "User is not
    /// authenticated"); an expired one is 401 either way (line 117).
    pub fn check(
        &self,
        headers: &HeaderMap,
        clock: &Clock,
        strict: bool,
    ) -> Result<Arc<Claims>, ApiError> {
        let unauthorized = || {
            if strict {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "Full authentication is required to access this resource",
                )
            } else {
                unauthorized()
            }
        };
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let claims = self.verify(token).ok_or_else(unauthorized)?;
        if clock.unix_secs() >= claims.exp {
            return Err(ApiError {
                www_authenticate: Some(WWW_EXPIRED.into()),
                ..ApiError::new(StatusCode::UNAUTHORIZED, "Access Token Expired")
            });
        }
        Ok(claims)
    }

    fn verify(&self, token: &str) -> Option<Arc<Claims>> {
        let shard = self.shard(token);
        if let Some(c) = shard.read().get(token) {
            return Some(c.clone());
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let claims = Arc::new(data.claims);
        shard.write().insert(token.into(), claims.clone());
        Some(claims)
    }

    /// Forgets cached tokens that expired before `now_secs - grace`.
    pub fn evict(&self, now_secs: u64, grace: u64) {
        for shard in &self.cache {
            let stale = shard
                .read()
                .values()
                .any(|c| c.exp.saturating_add(grace) < now_secs);
            if stale {
                shard
                    .write()
                    .retain(|_, c| c.exp.saturating_add(grace) >= now_secs);
            }
        }
    }
}

/// Decodes a PEM block's base64 body (jsonwebtoken's PEM parser needs a feature we do without).
fn pem_to_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "built-in key is not text".to_string())?;
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("built-in key is not valid PEM: {e}"))
}

fn unauthorized() -> ApiError {
    ApiError {
        www_authenticate: Some(WWW_UNAUTHORIZED.into()),
        ..ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource",
        )
    }
}

/// An OAuth2 error (RFC 6749 §5.2 shape), used by the token endpoint only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(v) = header::HeaderValue::from_str("Basic realm=\"oauth2/client\"")
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

fn oauth(status: StatusCode, error: &'static str, description: &str) -> OAuthError {
    OAuthError {
        status,
        error,
        description: description.into(),
    }
}

/// Decodes `Authorization: Basic base64(id:secret)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Handles `POST /oauth-server/oauth/token` (grants `client_credentials` and `password`).
/// `changed_password` is the agent's password set by changePassword, if any.
pub fn issue_token(
    config: &SimConfig,
    auth: &Auth,
    clock: &Clock,
    jti: String,
    headers: &HeaderMap,
    form: &Params,
    changed_password: Option<&str>,
) -> Result<serde_json::Value, OAuthError> {
    let id = known_client(config, headers)?;
    let user_name = granted_user(config, form, changed_password)?;
    let ttl = config.token_ttl.0.as_secs();
    // The `token_lifetime` fault: the token dies before the `expires_in` it is announced with.
    let lifetime = config
        .faults
        .token_lifetime
        .map_or(ttl, |l| l.0.as_secs().min(ttl));
    let claims = Claims {
        aud: vec!["ceapi".into()],
        scope: vec!["read".into(), "write".into()],
        sites: config.sites.clone(),
        exp: clock.unix_secs() + lifetime,
        jti: jti.clone(),
        client_id: id,
        user_name,
    };
    let token = auth.sign(&claims).map_err(|e| {
        oauth(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        )
    })?;
    Ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": "read write",
        "sites": config.sites,
        "jti": jti,
    }))
}

/// The client id of a request whose Basic credentials are a configured client's.
fn known_client(config: &SimConfig, headers: &HeaderMap) -> Result<String, OAuthError> {
    let (id, secret) = basic_credentials(headers).ok_or_else(|| {
        oauth(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Full authentication is required to access this resource",
        )
    })?;
    let known = config
        .clients
        .iter()
        .any(|c| c.client_id == id && c.client_secret == secret);
    if !known {
        return Err(oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        ));
    }
    Ok(id)
}

/// The grant's user: none for `client_credentials`, the authenticated agent for `password`.
fn granted_user(
    config: &SimConfig,
    form: &Params,
    changed_password: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let user_name = match form.get("grant_type").as_deref() {
        None => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing grant type",
            ));
        }
        Some("client_credentials") => None,
        Some("password") => {
            let (Some(u), Some(p)) = (form.get("username"), form.get("password")) else {
                return Err(oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The password grant needs username and password",
                ));
            };
            let ok = match changed_password {
                Some(pw) => pw == p.as_ref() && config.agents.knows(&u),
                None => config
                    .agents
                    .authenticate(&u, &p, &config.agent_group)
                    .is_some(),
            };
            if !ok {
                return Err(oauth(
                    StatusCode::UNAUTHORIZED,
                    "invalid_grant",
                    "Bad credentials",
                ));
            }
            Some(u.into_owned())
        }
        Some(other) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            ));
        }
    };
    Ok(user_name)
}
