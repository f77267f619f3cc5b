//! What every handler starts from: the shared state and the request's parameters ([`Req`], an
//! axum extractor), and the lookups most handlers make next (the session named by
//! `registeredId`, an engagement id).
//!
//! A POST's body is read and parsed (JSON or form, see `params`) before the handler runs, so a
//! bad body is our own 400 and a handler never sees it; a GET's body is never read. So are the
//! values of enumerated and bounded parameters (the operation table's `=values`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Sim;
use super::error::ApiError;
use super::gate::Ctx;
use super::params::{Input, Params};
use super::state::Core;

/// A request as a handler takes it.
pub struct Req {
    pub sim: Arc<Sim>,
    /// What the gate found (query, token claims).
    pub ctx: Arc<Ctx>,
    /// The parsed body (empty for a GET).
    body: Params,
}

impl Req {
    /// The request's parameters: body first, then query.
    pub fn input(&self) -> Input<'_> {
        Input {
            query: &self.ctx.query,
            body: &self.body,
        }
    }

    /// The state and the parameters, the opening of most handlers.
    pub fn parts(&self) -> (&Arc<Sim>, Input<'_>) {
        (&self.sim, self.input())
    }
}

impl FromRequest<Arc<Sim>> for Req {
    type Rejection = Response;

    async fn from_request(req: Request, sim: &Arc<Sim>) -> Result<Self, Response> {
        let Some(ctx) = req.extensions().get::<Arc<Ctx>>().cloned() else {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request did not pass the gate",
            )
            .into_response());
        };
        let body = if matches!(*req.method(), Method::GET | Method::HEAD) {
            Params::default()
        } else {
            let headers = req.headers().clone();
            let bytes = Bytes::from_request(req, sim)
                .await
                .map_err(IntoResponse::into_response)?;
            let body = Params::from_body(&headers, &bytes).map_err(IntoResponse::into_response)?;
            body.check_types(ctx.op, sim.config.strict)
                .map_err(IntoResponse::into_response)?;
            body
        };
        let input = Input {
            query: &ctx.query,
            body: &body,
        };
        input
            .check_values(ctx.op)
            .map_err(IntoResponse::into_response)?;
        Ok(Req {
            sim: sim.clone(),
            ctx,
            body,
        })
    }
}

/// The session named by `registeredId` (query); `agentId`, when given or required, must match.
pub fn session(core: &Core, input: &Input, require_agent: bool) -> Result<u64, ApiError> {
    let registered = input.require_query("registeredId")?;
    let sid = core
        .session_by_registered(&registered)
        .ok_or_else(|| ApiError::unknown("There is no such agent on the server: log in again"))?;
    let agent = if require_agent {
        Some(input.require("agentId")?)
    } else {
        input.get("agentId")
    };
    if let (Some(a), Some(s)) = (agent, core.sessions.get(&sid))
        && *a != *s.username
    {
        return Err(ApiError::unknown(format!(
            "agentId `{a}` does not own this session"
        )));
    }
    Ok(sid)
}

/// The session named by `registeredId`; without one (unless `strict`) the logged-in session of
/// `agentId` (logging/agent: the reference's table requires registeredId, line 1801; its
/// example URL has none, line 1807).
pub fn session_or_agent(core: &Core, input: &Input, strict: bool) -> Result<u64, ApiError> {
    if strict || input.query.get("registeredId").is_some() {
        return session(core, input, true);
    }
    let agent = input.require("agentId")?;
    let now = tokio::time::Instant::now();
    core.by_user
        .get(&*agent)
        .copied()
        .filter(|sid| core.sessions.get(sid).is_some_and(|s| !core.silent(s, now)))
        .ok_or_else(|| ApiError::unknown(format!("agent {agent} is not logged in")))
}

/// The session named by `registeredId` (`agentId` optional), which `username`, when given,
/// must own.
pub fn user_session(core: &Core, input: &Input, username: Option<&str>) -> Result<u64, ApiError> {
    let sid = session(core, input, false)?;
    if let Some(u) = username
        && core.sessions.get(&sid).is_some_and(|s| *s.username != *u)
    {
        return Err(ApiError::unknown(format!(
            "username `{u}` does not own this session"
        )));
    }
    Ok(sid)
}

/// The engagement id parameter; a non-numeric id is simply an unknown engagement (401).
pub fn engagement_id(input: &Input, name: &'static str) -> Result<u64, ApiError> {
    let raw = input.require(name)?;
    raw.trim()
        .parse()
        .map_err(|_| ApiError::unknown(format!("no such engagement {raw}")))
}
