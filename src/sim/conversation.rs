//! Conversation-level operations besides the life cycle: follow-ups (close with
//! `followUp=true`, followUpConversations, followUpEngagement, resolveConversation),
//! transcripts (requestEntireTranscripts, maskText) and the calls that annotate an engagement
//! (escalateEngagement, event/startDisposition, logging/agent, sendIllegalWordNotification,
//! smsCommand, webrtc/action, the ninaCoach calls).
//!
//! Annotations are recorded as `system` lines in the transcript (so requestEntireTranscripts
//! shows them) and, where another party should know, sent to it: conference participants see
//! escalations and illegal-word notices; the customer sees a take-over from the virtual
//! assistant and webRTC call states.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Sim;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{Req, engagement_id, session, session_or_agent, user_session};
use super::params::Input;
use super::state::{Core, FollowUp, Member, Msg, MsgKind, Phase};

/// Who may read or annotate an engagement after the fact: an agent who held it.
fn handled_by(core: &Core, eid: u64, username: &str) -> Result<(), ApiError> {
    match core.engagements.get(&eid) {
        Some(e) if e.handlers.iter().any(|h| &**h == username) => Ok(()),
        _ => Err(ApiError::unknown(format!(
            "engagement {eid} was not handled by this agent"
        ))),
    }
}

impl Core {
    /// Records a system line; tells the other participants and, when `customer`, the customer.
    fn annotate(&mut self, sid: u64, eid: u64, text: String, customer: bool, at_ms: u64) {
        let m = Msg::system(text, at_ms);
        let others = self.others(eid, sid);
        if let Some(e) = self.engagements.get_mut(&eid) {
            e.record(&m);
            if customer {
                e.tell_customer(m.clone());
            }
        }
        for o in others {
            self.push_agent(o, eid, m.clone());
        }
    }

    /// After closeEngagement with `followUp=true`: the conversation waits for `username`.
    pub fn start_follow_up(
        &mut self,
        eid: u64,
        username: &str,
        notes: &str,
        now: Instant,
        until: Instant,
        at_ms: u64,
    ) {
        if let Some(e) = self.engagements.get_mut(&eid)
            && e.phase == Phase::Closed
        {
            e.phase = Phase::FollowUp {
                username: username.into(),
            };
            e.since = now;
            e.follow_up = Some(Box::new(FollowUp {
                notes: notes.into(),
                at_ms,
                until,
            }));
        }
    }

    /// The session's username.
    fn user_of(&self, sid: u64) -> Result<Arc<str>, ApiError> {
        self.sessions
            .get(&sid)
            .map(|s| s.username.clone())
            .ok_or_else(|| ApiError::unknown("no such session"))
    }
}

/// The session, checking `username` (query) against it.
fn session_with_username(core: &Core, input: &Input) -> Result<u64, ApiError> {
    let username = input.require_query("username")?;
    user_session(core, input, Some(&username))
}

/// Parameters of a close that asks for a follow-up: (agent to follow up, notes).
pub(crate) fn follow_up_request(
    sim: &Sim,
    input: &Input,
) -> Result<Option<(Option<String>, String)>, ApiError> {
    if !input.flag("followUp", false)? {
        return Ok(None);
    }
    let agent = input.get("followUpAgent").map(|a| a.into_owned());
    if let Some(a) = &agent
        && !sim.config.agents.knows(a)
    {
        return Err(ApiError::invalid(
            "followUpAgent",
            format!("no agent `{a}` on this site"),
        ));
    }
    let notes = input.get("followUpNotes").unwrap_or_default().into_owned();
    Ok(Some((agent, notes)))
}

/// GET followUpConversations: conversations waiting for this agent.
pub async fn follow_up_conversations(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let core = sim.core.lock();
    let sid = session_with_username(&core, &input)?;
    let me = core.user_of(sid)?;
    let now = Instant::now();
    let mut list: Vec<(u64, Value)> = core
        .engagements
        .iter()
        .filter(|(_, e)| matches!(&e.phase, Phase::FollowUp { username } if *username == me))
        .map(|(eid, e)| {
            let (notes, at, left) = match &e.follow_up {
                Some(f) => (
                    f.notes.to_string(),
                    f.at_ms,
                    f.until.saturating_duration_since(now).as_millis() as u64,
                ),
                None => (String::new(), 0, 0),
            };
            let v = json!({
                "agentGroupId": &*e.group,
                "businessRuleId": "",
                "businessUnitId": core.site.names_of(&e.group).0,
                "chatTitle": format!("Chat {eid}"),
                "conversationChannel": "chat",
                "conversationId": eid.to_string(),
                "customerId": e.customer_id.to_string(),
                "followUpNotes": notes,
                "followUpTimeout": left,
                "followUpTimestamp": at,
                "lastUseTimestamp": e.transcript.last().map_or(at, |m| m.at_ms),
                "launchPage": "",
                "launchType": "proactive",
                "siteId": &*e.site,
            });
            (*eid, v)
        })
        .collect();
    list.sort_by_key(|(eid, _)| *eid);
    let conversations: Vec<Value> = list.into_iter().map(|(_, v)| v).collect();
    Ok(Reply::ok(
        "FollowUpConversationsResponse",
        json!({ "conversations": conversations }),
    ))
}

/// The follow-up conversation a followUpEngagement selects. The reference makes every body
/// field optional: `conversationId` names it; without it, `customerId` picks the conversation
/// of that customer waiting for this agent; with neither, the first (lowest id) waiting for it.
fn follow_up_selected(core: &Core, input: &Input, me: &str) -> Result<u64, ApiError> {
    if input.get("conversationId").is_some() {
        return engagement_id(input, "conversationId");
    }
    let customer = match input.get("customerId") {
        Some(c) => Some(
            c.trim()
                .parse::<u64>()
                .map_err(|_| ApiError::unknown(format!("no such customer {c}")))?,
        ),
        None => None,
    };
    core.engagements
        .iter()
        .filter(|(_, e)| matches!(&e.phase, Phase::FollowUp { username } if **username == *me))
        .filter(|(_, e)| customer.is_none_or(|c| e.customer_id == c))
        .map(|(eid, _)| *eid)
        .min()
        .ok_or_else(|| match customer {
            Some(c) => ApiError::unknown(format!(
                "no conversation of customer {c} is waiting for a follow-up by this agent"
            )),
            None => ApiError::unknown("no conversation is waiting for a follow-up by this agent"),
        })
}

/// POST followUpEngagement: resumes a follow-up conversation (same engagement id, same
/// customer, transcript continued); it is active for the agent at once.
pub async fn follow_up_engagement(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    input.require_query_or_body("agentId", sim.config.strict)?;
    let (now, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    let me = core.user_of(sid)?;
    let eid = follow_up_selected(&core, &input, &me)?;
    let e = core
        .engagements
        .get_mut(&eid)
        .ok_or_else(|| ApiError::unknown(format!("no conversation {eid}")))?;
    match &e.phase {
        Phase::FollowUp { username } if *username == me => {}
        Phase::Closed => {
            return Err(ApiError::expired(format!(
                "conversation {eid} is no longer waiting for a follow-up"
            )));
        }
        _ => {
            return Err(ApiError::unknown(format!(
                "conversation {eid} is not waiting for a follow-up by this agent"
            )));
        }
    }
    e.follow_up = None;
    e.customer_closed = false;
    e.offered_to.push(sid);
    if !e.handlers.contains(&me) {
        e.handlers.push(me.clone());
    }
    let m = Msg {
        sender: Some(me),
        ..Msg::state(Member::Agent, "agentConnected", ms)
    };
    // What the customer wrote while the conversation waited goes to the agent.
    let pending = e.activate(sid, m, now);
    // The customer's lines that waited come first (as before); then the agent's GET messages
    // shows the resumed conversation as a desktop shows an offer: a newRequest (requestType
    // `engagement`, the reference's enum, line 2090) with the settings and the transcript.
    let resumed = Msg {
        kind: MsgKind::NewRequest,
        state: Some("engagement"),
        text: None,
        from: Member::System,
        internal: false,
        sender: None,
        at_ms: ms,
    };
    core.start_chat(sid, eid, pending);
    core.push_agent(sid, eid, resumed);
    Ok(Reply::ok(
        "FollowUpEngagementResponse",
        json!({"conversationId": eid.to_string(), "engagementId": eid.to_string(), "status": "success"}),
    ))
}

/// POST resolveConversation: closes an active engagement (like closeEngagement) or resolves a
/// follow-up conversation; with `followUp=true` it (re)schedules a follow-up instead.
pub async fn resolve_conversation(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    input.flag("autoTransferFailed", false)?;
    input.flag("ninaCoachTransfer", false)?;
    let follow = follow_up_request(sim, &input)?;
    let (now, ms) = sim.now();
    let until = now + sim.config.follow_up_timeout.0;
    let mut core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    let me = core.user_of(sid)?;
    let waiting = matches!(
        core.engagements.get(&eid).map(|e| &e.phase),
        Some(Phase::FollowUp { username }) if *username == me
    );
    if waiting {
        if let Some(e) = core.engagements.get_mut(&eid) {
            e.phase = Phase::Closed;
            e.since = now;
            e.follow_up = None;
        }
    } else {
        core.close_by_agent(sid, eid, now, ms)?;
    }
    if let Some((agent, notes)) = follow {
        let who = agent.unwrap_or_else(|| me.to_string());
        core.start_follow_up(eid, &who, &notes, now, until, ms);
    }
    Ok(Reply::ok(
        "ResolveConversationResponse",
        json!({"resolveState": "OK", "warnParams": "", "warning": ""}),
    ))
}

/// GET requestEntireTranscripts: the transcripts of engagements this agent handled.
pub async fn request_entire_transcripts(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let ids = input.require_query("chatIds")?.to_string();
    let core = sim.core.lock();
    let sid = session_with_username(&core, &input)?;
    let me = core.user_of(sid)?;
    let mut engagements = Vec::new();
    for raw in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let eid: u64 = raw
            .parse()
            .map_err(|_| ApiError::unknown(format!("no such engagement {raw}")))?;
        handled_by(&core, eid, &me)?;
        if let Some(e) = core.engagements.get(&eid) {
            engagements.push(json!({
                "id": eid.to_string(),
                "messages": e.transcript.iter().map(Msg::agent_json).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(Reply::ok(
        "EngagementMessagesResponse",
        json!({"engagements": engagements, "messages": []}),
    ))
}

/// POST maskText: replaces a line of the stored transcript with its masked form.
pub async fn mask_text(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    let masked: Arc<str> = input.require("maskedChatLine")?.as_ref().into();
    let previous = input.require("previousMaskedChatLine")?.into_owned();
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, false)?;
    let me = core.user_of(sid)?;
    handled_by(&core, eid, &me)?;
    let Some(e) = core.engagements.get_mut(&eid) else {
        return Err(ApiError::unknown(format!("no such engagement {eid}")));
    };
    let line = e
        .transcript
        .iter_mut()
        .rev()
        .find(|m| m.kind == MsgKind::ChatLine && m.text.as_deref() == Some(previous.as_str()));
    let Some(line) = line else {
        return Err(ApiError::invalid(
            "previousMaskedChatLine",
            "no chat line of this engagement has this text",
        ));
    };
    line.text = Some(masked.clone());
    let note = Msg {
        kind: MsgKind::MaskText,
        state: None,
        text: Some(masked),
        from: Member::Agent,
        internal: true,
        sender: Some(me),
        at_ms: ms,
    };
    for p in core.participants(eid) {
        if p != sid {
            core.push_agent(p, eid, note.clone());
        }
    }
    Ok(Reply::empty())
}

/// The engagement an annotation is about: required, held by this session.
fn held_engagement(core: &Core, sid: u64, input: &Input) -> Result<u64, ApiError> {
    let eid = engagement_id(input, "engagementId")?;
    core.held(sid, eid)?;
    Ok(eid)
}

/// The common end of the annotation calls: the caller's session (`agentId` required when
/// `require_agent`) must hold `engagementId`; the line `text` writes (from the world and the
/// session, for the lines that name the agent) is recorded and sent to the other participants,
/// and to the customer when `customer`.
fn annotate_held(
    sim: &Sim,
    input: &Input,
    require_agent: bool,
    customer: bool,
    text: impl FnOnce(&Core, u64) -> Result<String, ApiError>,
) -> ApiResult {
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, input, require_agent)?;
    let eid = held_engagement(&core, sid, input)?;
    let text = text(&core, sid)?;
    core.annotate(sid, eid, text, customer, ms);
    Ok(Reply::empty())
}

/// POST escalateEngagement: notes the escalation in the transcript and tells the conference.
pub async fn escalate(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let reason = input.get("escalateReason").unwrap_or_default().into_owned();
    annotate_held(sim, &input, true, false, |core, sid| {
        Ok(format!("Escalated by {}: {reason}", core.user_of(sid)?))
    })
}

/// POST event/startDisposition: the agent starts its disposition of an engagement it holds
/// or handled.
pub async fn start_disposition(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, false)?;
    if input.get("engagementId").is_some() {
        let eid = engagement_id(&input, "engagementId")?;
        let me = core.user_of(sid)?;
        handled_by(&core, eid, &me)?;
        if let Some(e) = core.engagements.get_mut(&eid) {
            e.record(&Msg::system(format!("Disposition started by {me}"), ms));
        }
    }
    Ok(Reply::empty())
}

/// POST logging/agent: keeps the desktop's log line (the last 1,000 are kept).
pub async fn logging_agent(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    let text = input
        .get("message")
        .or_else(|| input.get("messageText"))
        .unwrap_or_default()
        .into_owned();
    let level = input.get("level").unwrap_or_default().into_owned();
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session_or_agent(&core, &input, sim.config.strict)?;
    let me = core.user_of(sid)?;
    handled_by(&core, eid, &me)?;
    if core.agent_log.len() >= super::state::MAX_LINES {
        core.agent_log.pop_front();
    }
    core.agent_log.push_back(json!({
        "agentId": &*me, "engagementId": eid.to_string(), "level": level, "message": text, "timestamp": ms,
    }));
    Ok(Reply::empty())
}

/// POST sendIllegalWordNotification: records the notice; the conference sees it.
pub async fn illegal_word(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let word = input.require("illegalWord")?.into_owned();
    match input.body.value("settingIds") {
        None | Some(Value::Array(_)) | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => {
            return Err(ApiError::invalid("settingIds", "expected an array of ids"));
        }
    }
    annotate_held(sim, &input, false, false, |_, _| {
        Ok(format!("Illegal word used: {word}"))
    })
}

/// POST smsCommand: RESEND sends the agent's last line to the customer again; SKIP records it.
pub async fn sms_command(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    // RESEND or SKIP: the operation table's values, checked before the handler.
    let command = input.require("command")?.into_owned();
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, false)?;
    let eid = held_engagement(&core, sid, &input)?;
    let Some(e) = core.engagements.get_mut(&eid) else {
        return Ok(Reply::empty());
    };
    if command == "RESEND" {
        let last = e
            .transcript
            .iter()
            .rev()
            .find(|m| m.from == Member::Agent && m.kind == MsgKind::ChatLine && !m.internal)
            .cloned();
        if let Some(m) = last {
            e.tell_customer(m);
        }
    } else {
        e.record(&Msg::system("SMS line skipped".into(), ms));
    }
    Ok(Reply::empty())
}

/// POST webrtc/action: the call state goes to the transcript and to the customer.
pub async fn webrtc_action(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    // One of the operation table's values, checked before the handler.
    let action = input.require("action")?.into_owned();
    annotate_held(sim, &input, true, true, |_, _| {
        Ok(format!("webRTC call: {action}"))
    })
}

/// POST ninaCoachChatTakeOver: the live agent takes the chat over from the virtual assistant.
pub async fn nina_take_over(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    annotate_held(sim, &input, true, true, |core, sid| {
        let me = core.user_of(sid)?;
        Ok(format!(
            "{me} took over the chat from the virtual assistant"
        ))
    })
}

/// GET ninaCoachContentMetaInfo: what the virtual assistant knows of the chat.
pub async fn nina_meta_info(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let core = sim.core.lock();
    let sid = session(&core, &input, false)?;
    let mut lines = 0usize;
    if input.query.get("engagementId").is_some() {
        let eid = held_engagement(&core, sid, &input)?;
        lines = core.engagements.get(&eid).map_or(0, |e| e.transcript.len());
    }
    let version = input
        .query
        .get("contentVersion")
        .unwrap_or("1".into())
        .into_owned();
    let meta = json!({"intents": ["billing", "order-status", "technical-support"], "transcriptLines": lines});
    Ok(Reply::ok(
        "NinaCoachContentMetaInfoResponse",
        json!({"contentMetaInfo": meta.to_string(), "contentVersion": version}),
    ))
}

/// POST ninaCoachEscalationResolution: tells the virtual assistant whether the agent helped.
pub async fn nina_resolution(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    // One of the operation table's values, checked before the handler.
    let code = input.require("resolutionCode")?.into_owned();
    match input.body.value("concepts") {
        None | Some(Value::Array(_)) | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => return Err(ApiError::invalid("concepts", "expected an array")),
    }
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, false)?;
    if input.get("engagementId").is_some() {
        let eid = held_engagement(&core, sid, &input)?;
        if let Some(e) = core.engagements.get_mut(&eid) {
            e.record(&Msg::system(
                format!("Virtual assistant resolution: {code}"),
                ms,
            ));
        }
    }
    Ok(Reply::empty())
}
