//! Handlers of the hand-over family (transfer, autoTransfer, conference, conferenceMode,
//! ownership) and of the live counts desktops consult before one (summaryData,
//! transferConferenceOptions). The behaviour itself lives in `handoff`; this module parses
//! parameters, picks the target and renders the reference's bodies.

use std::sync::Arc;

use axum::routing::{MethodRouter, post};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Sim;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{Req, engagement_id, session};
use super::handoff::{Outcome, Request, Target};
use super::params::Input;
use super::state::{Core, GroupStats, HandoffKind};

/// Agents listed per group in summaryData / transferConferenceOptions (free agents first).
pub const AGENT_LIST_CAP: usize = 25;

fn outcome(root: &'static str, eid: u64, o: Outcome) -> Reply {
    Reply::ok(
        root,
        json!({"engagementId": eid.to_string(), "reason": o.reason, "status": o.status}),
    )
}

/// The shared body of transferEngagement, autoTransferEngagement and conferenceEngagement.
async fn hand_over(req: Req, kind: HandoffKind, root: &'static str) -> ApiResult {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    input.flag("prioritizeRequest", false)?;
    input.flag("prioritizedRequest", false)?;
    let target = input.get("targetAgentId");
    let group = input.get("agentGroupId");
    let unit = input.get("businessUnitId");
    if let Some(t) = &target
        && !sim.config.agents.knows(t)
    {
        return Err(ApiError::invalid(
            "targetAgentId",
            format!("no agent `{t}` on this site"),
        ));
    }
    let notes: Option<Arc<str>> = input.get("agentNotes").map(|n| n.as_ref().into());
    let (now, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    if let Some(g) = &group
        && sim.seed.group(g).is_none()
        && !core.groups.contains_key(g.as_ref())
    {
        return Err(ApiError::invalid(
            "agentGroupId",
            format!("no agent group `{g}` on this site"),
        ));
    }
    // Candidate targets, tried in order until one can take the request.
    let groups: Vec<String> = match (&target, &group, &unit) {
        (Some(_), _, _) => Vec::new(),
        (None, Some(g), _) => vec![g.to_string()],
        (None, None, Some(u)) => match sim.seed.business_unit(u) {
            Some(bu) => bu.agent_groups.iter().map(|g| g.id.clone()).collect(),
            None => {
                return Err(ApiError::invalid(
                    "businessUnitId",
                    format!("no business unit `{u}` on this site"),
                ));
            }
        },
        (None, None, None) => {
            let own = core.held(sid, eid)?.group.to_string();
            vec![own]
        }
    };
    let o = match &target {
        Some(t) => {
            let req = Request {
                kind,
                target: Target::Agent(t),
                notes,
            };
            core.request_handoff(sid, eid, req, now, ms)?
        }
        None => {
            let mut last = None;
            for g in &groups {
                let req = Request {
                    kind,
                    target: Target::Group(g),
                    notes: notes.clone(),
                };
                let o = core.request_handoff(sid, eid, req, now, ms)?;
                let done = o.status != "failed";
                last = Some(o);
                if done {
                    break;
                }
            }
            last.unwrap_or(Outcome {
                status: "failed",
                reason: "the business unit has no agent groups".into(),
            })
        }
    };
    Ok(outcome(root, eid, o))
}

/// POST transferEngagement, autoTransferEngagement and conferenceEngagement: the route of a
/// hand-over of `kind`, answered under the XML root `root`.
pub fn hand_over_route(kind: HandoffKind, root: &'static str) -> MethodRouter<Arc<Sim>> {
    post(move |req: Req| hand_over(req, kind, root))
}

/// POST conferenceMode: screen mode → full participant.
pub async fn conference_mode(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    let (_, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    core.conference_mode(sid, eid, ms)?;
    Ok(Reply::empty())
}

/// The shared body of the ownership operations: `call(core, input, session, engagement, now,
/// now_ms)` on the engagement the request names, by the agent it comes from, answered under
/// `root`.
fn ownership(
    req: &Req,
    root: &'static str,
    call: impl FnOnce(&mut Core, &Input<'_>, u64, u64, Instant, u64) -> Result<Outcome, ApiError>,
) -> ApiResult {
    let (sim, input) = req.parts();
    let eid = engagement_id(&input, "engagementId")?;
    let (now, ms) = sim.now();
    let mut core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    let o = call(&mut core, &input, sid, eid, now, ms)?;
    Ok(outcome(root, eid, o))
}

/// POST transferOwnership.
pub async fn transfer_ownership(req: Req) -> ApiResult {
    ownership(
        &req,
        "TransferOwnershipResponse",
        |core, input, sid, eid, _, ms| {
            let target = input.get("targetAgentId");
            core.transfer_ownership(sid, eid, target.as_deref(), ms)
        },
    )
}

async fn answer(req: Req, accept: bool) -> ApiResult {
    let root = if accept {
        "AcceptOwnershipResponse"
    } else {
        "RefuseOwnershipResponse"
    };
    ownership(&req, root, |core, input, sid, eid, now, ms| {
        let reason = input.get("reason");
        core.answer_ownership(sid, eid, accept, reason.as_deref(), now, ms)
    })
}

/// POST acceptOwnership (`accept`) and refuseOwnership: the route of an answer to an ownership
/// transfer.
pub fn ownership_answer_route(accept: bool) -> MethodRouter<Arc<Sim>> {
    post(move |req: Req| answer(req, accept))
}

/// Live figures of one agent group.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    total_agents: u64,
    available_agents: u64,
    total_slots: u64,
    busy_slots: u64,
    free_slots: u64,
    queued: u64,
}

impl From<GroupStats> for Counts {
    /// Slots add up: a slot is available (a free slot of an available agent) or busy (taken by a
    /// chat or an offer, or held by an agent who is not available), so available + busy = total.
    fn from(g: GroupStats) -> Self {
        Counts {
            total_agents: g.agents,
            available_agents: g.available,
            total_slots: g.slots,
            busy_slots: g.slots.saturating_sub(g.free),
            free_slots: g.free,
            queued: 0,
        }
    }
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.total_agents += o.total_agents;
        self.available_agents += o.available_agents;
        self.total_slots += o.total_slots;
        self.busy_slots += o.busy_slots;
        self.free_slots += o.free_slots;
        self.queued += o.queued;
    }

    /// The JSON object of a unit (an agent group or a business unit): its lists, these
    /// figures and its names.
    fn unit<const N: usize>(
        &self,
        lists: [(&str, Value); N],
        display_name: Option<&str>,
        name: &str,
        id: &str,
    ) -> serde_json::Map<String, Value> {
        let mut v = serde_json::Map::new();
        v.insert("agentAttributes".into(), json!([]));
        for (k, list) in lists {
            v.insert(k.into(), list);
        }
        self.fill(&mut v);
        v.insert("displayName".into(), display_name.unwrap_or(name).into());
        v.insert("id".into(), id.into());
        v.insert("name".into(), name.into());
        v
    }

    fn fill(&self, v: &mut serde_json::Map<String, Value>) {
        let free = self.free_slots > 0;
        for (k, x) in [
            ("availableAgents", self.available_agents),
            ("availableEngagementSlots", self.free_slots),
            ("availableSlots", self.free_slots),
            ("busyEngagementSlots", self.busy_slots),
            ("conferenceQueueSlots", 0),
            ("engagementsInQueue", self.queued),
            ("totalAgents", self.total_agents),
            ("totalEngagementSlots", self.total_slots),
            ("transferQueueSlots", 0),
        ] {
            v.insert(k.into(), x.into());
        }
        v.insert("canBePrioritize".into(), true.into());
        v.insert("disableAgentSelection".into(), false.into());
        v.insert("isAvailableForConference".into(), free.into());
        v.insert("isAvailableForTransfer".into(), free.into());
    }
}

/// `businessUnits` of summaryData (`businessUnit` of transferConferenceOptions): business units
/// of the seed with their groups' live counts; when `group` is given and known, only its unit,
/// detailing only that group (summaryData); `exclude` (the agents of the engagement) are left
/// out of the agent lists (they are no target), not out of the figures: both operations give
/// the same figures for a group at the same moment.
fn units(core: &Core, sim: &Sim, group: Option<&str>, exclude: &[u64]) -> Vec<Value> {
    let own = group
        .and_then(|g| sim.seed.group(g))
        .map(|(bu, _)| bu.id.as_str());
    // The groups' running figures (O(groups)).
    let per: std::collections::HashMap<&str, Counts> = core
        .groups
        .iter()
        .map(|(name, g)| (name.as_ref(), Counts::from(g.stats)))
        .collect();
    sim.seed
        .business_units
        .iter()
        .filter(|bu| own.is_none_or(|id| id == bu.id))
        .map(|bu| {
            let mut total = Counts::default();
            let mut all_agents: Vec<Value> = Vec::new();
            let groups: Vec<Value> = bu
                .agent_groups
                .iter()
                .filter_map(|g| {
                    let mut c = per.get(g.id.as_str()).copied().unwrap_or_default();
                    c.queued = core.groups.get(g.id.as_str()).map_or(0, |x| x.queue.len()) as u64;
                    total.add(&c);
                    if own.is_some() && group != Some(g.id.as_str()) {
                        // summaryData details the agent's own group; the unit's figures
                        // above count every group.
                        return None;
                    }
                    let agents = group_agents(core, &g.id, exclude);
                    if all_agents.len() < AGENT_LIST_CAP {
                        all_agents.extend(
                            agents
                                .iter()
                                .take(AGENT_LIST_CAP - all_agents.len())
                                .cloned(),
                        );
                    }
                    let lists = [("agents", Value::Array(agents))];
                    let v = c.unit(lists, g.display_name.as_deref(), &g.name, &g.id);
                    Some(Value::Object(v))
                })
                .collect();
            let lists = [
                ("agentGroups", Value::Array(groups)),
                ("agents", Value::Array(all_agents)),
            ];
            let mut v = total.unit(lists, bu.display_name.as_deref(), &bu.name, &bu.id);
            v.insert("siteId".into(), bu.site_id.clone().into());
            Value::Object(v)
        })
        .collect()
}

/// Up to [`AGENT_LIST_CAP`] agents of a group who can take a chat now, fewest chats first.
fn group_agents(core: &Core, group: &str, exclude: &[u64]) -> Vec<Value> {
    let Some(g) = core.groups.get(group) else {
        return Vec::new();
    };
    g.free
        .iter()
        .map(|k| k.2)
        .filter(|sid| !exclude.contains(sid))
        .filter_map(|sid| core.sessions.get(&sid))
        .take(AGENT_LIST_CAP)
        .map(|s| {
            let free = s.capacity().saturating_sub(s.load());
            json!({
                "availableSlots": free,
                "conferenceQueueSlots": 0,
                "firstName": &*s.username,
                "id": &*s.username,
                "isAvailableForConference": free > 0,
                "isAvailableForTransfer": free > 0,
                "lastName": "",
                "transferQueueSlots": 0,
            })
        })
        .collect()
}

/// GET summaryData: live agents, slots and queue per business unit and agent group.
pub async fn summary_data(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    input.require_query("agentId")?;
    let core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    let group = core.sessions.get(&sid).map(|s| s.group.clone());
    let body = json!({ "businessUnits": units(&core, sim, group.as_deref(), &[]) });
    Ok(Reply::ok("SummaryDataResponse", body))
}

/// GET transferConferenceOptions: where this engagement could go now.
pub async fn transfer_conference_options(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    input.require_query("agentId")?;
    let eid = engagement_id(&input, "engagementId")?;
    let core = sim.core.lock();
    let sid = session(&core, &input, true)?;
    core.held(sid, eid)?;
    let exclude = core.participants(eid);
    let body = json!({ "businessUnit": units(&core, sim, None, &exclude) });
    Ok(Reply::ok("TransferConferenceOptionsResponse", body))
}
