//! Agent-side handlers (`/engagementAPI/v2/agent/...`) and the token endpoint.
//!
//! Each handler takes its parameters from the extractor (`extract::Req`), resolves the session
//! from `registeredId`, and calls into the world (`routing`) under the lock, never across an
//! await.
//! GET messages is a real long-poll: it waits on the session's `Notify` until a message is
//! pending or `long_poll_hold` has passed (then 204).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::{Value, json};

use super::Sim;
use super::auth;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{Req, engagement_id, session, user_session};
use super::gate::Ctx;
use super::params::Params;
use super::state::{Core, Member, Msg, MsgKind};

/// POST /oauth-server/oauth/token.
pub async fn token(
    State(sim): State<Arc<Sim>>,
    Extension(_ctx): Extension<Arc<Ctx>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match Params::from_body(&headers, &body) {
        Ok(f) => f,
        Err(e) => {
            return auth::OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_request",
                description: e.message,
            }
            .into_response();
        }
    };
    let jti = uuid::Uuid::new_v4().to_string();
    let changed = form
        .get("username")
        .and_then(|u| sim.core.lock().changed(&u, |p| p.password.clone()));
    match auth::issue_token(
        &sim.config,
        &sim.auth,
        &sim.clock,
        jti,
        &headers,
        &form,
        changed.as_deref(),
    ) {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// POST login: one live session per agent; a second login replaces the first.
pub async fn login(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let username = input.require("username")?;
    let password = input.require("password")?;
    if let Some(owner) = req.ctx.claims.as_ref().and_then(|c| c.user_name.as_deref())
        && owner != username.as_ref()
    {
        return Err(ApiError::unknown(format!(
            "this token was issued to agent `{owner}`"
        )));
    }
    let changed = sim.core.lock().changed(&username, |p| p.password.clone());
    let dir = &sim.config.agents;
    let profile = match changed {
        Some(pw) if pw == *password => dir.profile(&username, &sim.config.agent_group),
        Some(_) => None,
        None => dir.authenticate(&username, &password, &sim.config.agent_group),
    }
    .ok_or_else(|| ApiError::unknown("There is no such agent on the server (bad credentials)"))?;
    let tag = sim.random_u32();
    let (now, ms) = sim.now();
    let (registered, available, live) = {
        let mut core = sim.core.lock();
        let sid = core.login(
            &username,
            &profile.agent_group,
            profile.max_chats,
            tag,
            now,
            ms,
        );
        let (reg, available) = core
            .sessions
            .get(&sid)
            .map(|s| (s.registered_id(sid), s.available))
            .unwrap_or_default();
        (reg, available, core.live())
    };
    sim.set_live(live);
    Ok(Reply::ok(
        "AgentLoginResponse",
        json!({
            "loginAsAvailable": available,
            "publicUserId": format!("pub-{username}"),
            "registeredId": registered,
            "status": "success",
            "userId": &*username,
        }),
    ))
}

/// GET preLoginStatus (no token needed).
pub async fn pre_login_status(req: Req) -> ApiResult {
    let (sim, ctx) = (&req.sim, &req.ctx);
    let username = ctx.query.require("username")?;
    let active = sim.core.lock().by_user.contains_key(&*username);
    Ok(Reply::ok(
        "PreLoginStatusResponse",
        json!({ "hasActiveSession": active }),
    ))
}

/// POST agentStatus: `available` agents get offers, `busy` ones do not.
pub async fn agent_status(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    // `available` or `busy`: the operation table's values, checked before the handler.
    let available = input.require("state")? == "available";
    let (now, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    core.set_session(sid, |s| s.available = available, now, ms)?;
    Ok(Reply::empty())
}

/// POST verifySession: 200 while the session lives, 401 after.
pub async fn verify_session(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    session(&sim.core.lock(), &input, true)?;
    Ok(Reply::empty())
}

/// Marks a long-poll in flight; when it ends (answered or abandoned) the agent counts as seen.
struct PollGuard {
    sim: Arc<Sim>,
    sid: u64,
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        let now = tokio::time::Instant::now();
        if let Some(s) = self.sim.core.lock().sessions.get_mut(&self.sid) {
            s.polling = s.polling.saturating_sub(1);
            s.last_seen = now;
        }
    }
}

/// GET messages: the long-poll.
pub async fn get_messages(req: Req) -> ApiResult {
    let (sim, ctx) = (&req.sim, &req.ctx);
    let q = &ctx.query;
    let instant = q.flag("instantResponse", false)?;
    let entire = q.flag("requestEntireTranscript", false)?;
    let (sid, notify) = {
        let mut core = sim.core.lock();
        let sid = match q.get("registeredId") {
            Some(r) => core.session_by_registered(&r).ok_or_else(|| {
                ApiError::unknown("There is no such agent on the server: log in again")
            })?,
            None => {
                let agent = q.require("agentId")?;
                *core
                    .by_user
                    .get(&*agent)
                    .ok_or_else(|| ApiError::unknown(format!("agent {agent} is not logged in")))?
            }
        };
        let now = tokio::time::Instant::now();
        if core.sessions.get(&sid).is_some_and(|s| core.silent(s, now)) {
            return Err(ApiError::unknown(
                "the session has ended (no poll within the keep-alive window)",
            ));
        }
        let Some(s) = core.sessions.get_mut(&sid) else {
            return Err(ApiError::unknown("no such session"));
        };
        if let Some(a) = q.get("agentId")
            && *a != *s.username
        {
            return Err(ApiError::unknown(format!(
                "agentId `{a}` does not own this session"
            )));
        }
        s.polling = s.polling.saturating_add(1);
        s.last_seen = now;
        (sid, s.notify.clone())
    };
    let _guard = PollGuard {
        sim: sim.clone(),
        sid,
    };
    if entire {
        let body = sim.core.lock().entire_transcript(sid);
        return match body {
            Some(b) => Ok(Reply::ok("EngagementMessagesResponse", b)),
            None => Err(ApiError::unknown("the session has ended")),
        };
    }
    let deadline = tokio::time::Instant::now() + sim.config.long_poll_hold.0;
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut core = sim.core.lock();
            if !core.sessions.contains_key(&sid) {
                return Err(ApiError::unknown("the session has ended: log in again"));
            }
            if let Some(body) = core.drain(sid) {
                return Ok(Reply::ok("EngagementMessagesResponse", body));
            }
        }
        if instant || sim.closing() {
            return Ok(Reply::status(StatusCode::NO_CONTENT));
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {
                return Ok(Reply::status(StatusCode::NO_CONTENT));
            }
        }
    }
}

/// POST messages: chat lines (external or internal), dynamic forms, typing states.
pub async fn post_messages(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    // `state`, `messageType` and `chatLineReceiverType` take the operation table's values,
    // checked before the handler runs.
    let state = match input.get("state").as_deref() {
        None => None,
        Some("agentIsTyping") => Some("agentIsTyping"),
        Some(_) => Some("agentStopsTyping"),
    };
    let kind = match input.get("messageType").as_deref() {
        None if state.is_some() => MsgKind::StateChange,
        None | Some("chatLine") => MsgKind::ChatLine,
        Some("dynamicForm") => MsgKind::DynamicForm,
        Some("stateChange") => MsgKind::StateChange,
        Some(_) => MsgKind::Script,
    };
    let internal = input.get("chatLineReceiverType").as_deref() == Some("internal");
    if kind == MsgKind::StateChange && state.is_none() {
        return Err(ApiError::missing("state"));
    }
    let text: Option<Arc<str>> = input
        .get("messageText")
        .or_else(|| input.get("messageData"))
        .map(|t| Arc::from(t.as_ref()));
    if kind != MsgKind::StateChange && text.is_none() {
        return Err(ApiError::missing("messageText"));
    }
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    let sender = core.sessions.get(&sid).map(|s| s.username.clone());
    let msg = Msg {
        kind,
        state,
        text: if kind == MsgKind::StateChange {
            None
        } else {
            text
        },
        from: Member::Agent,
        internal,
        sender,
        at_ms: ms,
    };
    core.agent_message(sid, eid, msg)?;
    Ok(Reply::empty())
}

/// What accept/deny/join/close do to the world: `(core, session, engagement, now, now_ms)`.
pub(super) type EngagementCall =
    fn(&mut Core, u64, u64, tokio::time::Instant, u64) -> Result<(), ApiError>;

/// The shared body of accept/deny/join/close.
fn engagement_call(
    req: &Req,
    require_agent: bool,
    call: EngagementCall,
) -> Result<(u64, String), ApiError> {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    let (now, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, require_agent)?;
    call(&mut core, sid, eid, now, ms)?;
    let user = core
        .sessions
        .get(&sid)
        .map(|s| s.username.to_string())
        .unwrap_or_default();
    Ok((eid, user))
}

/// The route of an answer to an offer (or to a transfer or conference request), with an empty
/// 200: POST acceptEngagement when `accept` (`agentId` optional; 422 once the offer was
/// withdrawn), else POST denyEngagement (`agentId` required; the engagement is offered to
/// another agent).
pub fn offer_answer_route(accept: bool) -> MethodRouter<Arc<Sim>> {
    let (require_agent, call): (bool, EngagementCall) = if accept {
        (false, Core::accept)
    } else {
        (true, Core::deny)
    };
    post(move |req: Req| async move {
        engagement_call(&req, require_agent, call).map(|_| Reply::empty())
    })
}

/// POST joinEngagement: re-enter an engagement after a lost session.
pub async fn join(req: Req) -> ApiResult {
    let (eid, user) = engagement_call(&req, true, Core::join)?;
    Ok(Reply::ok(
        "JoinEngagementResponse",
        json!({
            "agentId": user,
            "engagementId": eid.to_string(),
            "messageText": "",
            "status": "success",
        }),
    ))
}

/// POST closeEngagement, with optional disposition fields.
pub async fn close(req: Req) -> ApiResult {
    let (sim, pre) = req.parts();
    match pre.body.value("dispositions") {
        None | Some(Value::Object(_)) | Some(Value::Null) => {}
        Some(Value::String(s)) if serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_object()) => {
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "dispositions",
                "expected an object (categoryReasons, dispositions, message)",
            ));
        }
    }
    for flag in ["autoTransferFailed", "followUp", "ninaCoachTransfer"] {
        pre.flag(flag, false)?;
    }
    let follow = super::conversation::follow_up_request(sim, &pre)?;
    let (eid, user) = engagement_call(&req, true, Core::close_by_agent)?;
    if let Some((agent, notes)) = follow {
        let (now, ms) = sim.now();
        let until = now + sim.config.follow_up_timeout.0;
        let who = agent.unwrap_or(user);
        sim.core
            .lock()
            .start_follow_up(eid, &who, &notes, now, until, ms);
    }
    Ok(Reply::empty())
}

/// GET dispositions: a fixed, realistic set of categories and reasons.
pub async fn dispositions(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let username = input.require_query("username")?;
    let site = input.require_query("siteId")?;
    let tree = input.require_query("scriptTreeId")?;
    user_session(&sim.core.lock(), &input, Some(&username))?;
    Ok(Reply::ok(
        "DispositionsResponse",
        disposition_body(&sim.seed, &site, &tree),
    ))
}

/// The reference's dispositions body from the seed's categories.
fn disposition_body(seed: &super::seed::Seed, site: &str, tree: &str) -> Value {
    let category_reasons: Vec<Value> = seed
        .dispositions
        .iter()
        .map(|c| {
            json!({
                "category": {"id": c.id, "name": c.name},
                "reasons": c.reasons.iter().map(|r| json!({"id": r.id, "name": r.name})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let categories: Vec<Value> = seed
        .dispositions
        .iter()
        .map(|c| {
            json!({
                "label": c.name,
                "value": c.id,
                "reasons": c.reasons.iter().map(|r| json!({"label": r.name, "value": r.id})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "categoryReasons": category_reasons,
        "dispositions": {"categories": categories, "scriptTree": tree, "site": site},
        "message": "success",
    })
}
