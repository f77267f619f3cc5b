//! Hand-overs between agents: transfers, auto-transfers, conferences and ownership transfers.
//!
//! A transfer or conference request is a second kind of offer: the target gets a `newRequest`
//! whose `requestType` is `transfer`, `autoTransfer` or `conference` (with the transcript so far)
//! and answers with the ordinary acceptEngagement / denyEngagement. The pending request holds a
//! slot of the target, like any offer, and is withdrawn after `accept_window`.
//! - transfer / autoTransfer accepted: the target owns the engagement; the initiator's slot is
//!   freed and its last message for it is `agentExitedFromEngagement`; the customer sees the
//!   initiator exit and the target connect, and the transcript carries on.
//! - conference accepted: the target joins as a guest in screen mode (internal lines only)
//!   until conferenceMode makes it a full participant. Everyone in the conference receives the
//!   customer's and each other's lines. closeEngagement by one of them means that agent exits
//!   (`agentExitedFromEngagement` to the others); when the owner exits, the longest-present
//!   guest becomes owner (`ownershipChange`).
//! - transferOwnership: the owner asks a guest to take ownership (`ownershipTransferRequest`);
//!   acceptOwnership swaps them (the initiator gets `ownershipChange`), refuseOwnership leaves
//!   things as they were (the initiator gets `ownershipTransferRefused`, our name).

use std::sync::Arc;

use tokio::time::Instant;

use super::error::ApiError;
use super::state::{Core, Guest, Handoff, HandoffKind, Member, Msg, Phase};

/// Where a transfer or conference should go.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A named agent (`targetAgentId`).
    Agent(&'a str),
    /// Any free agent of an agent group (`agentGroupId`, or the group of `businessUnitId`).
    Group(&'a str),
}

/// A transfer or conference request as posted.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub kind: HandoffKind,
    pub target: Target<'a>,
    /// `agentNotes`, shown to the target with the request.
    pub notes: Option<Arc<str>>,
}

/// The answer of a hand-over request: `{engagementId, reason, status}` in the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `pending` (waiting for the target), `accepted`, `refused` or `failed` (no target).
    pub status: &'static str,
    pub reason: String,
}

impl Outcome {
    fn failed(reason: impl Into<String>) -> Self {
        Outcome {
            status: "failed",
            reason: reason.into(),
        }
    }
}

fn state_from(state: &'static str, who: Option<Arc<str>>, at_ms: u64) -> Msg {
    Msg {
        sender: who,
        ..Msg::state(Member::Agent, state, at_ms)
    }
}

impl Core {
    /// The participants of an engagement other than `sid`.
    pub fn others(&self, eid: u64, sid: u64) -> Vec<u64> {
        let mut all = self.participants(eid);
        all.retain(|p| *p != sid);
        all
    }

    /// Sessions that receive an engagement's messages: its owner, then its guests.
    pub fn participants(&self, eid: u64) -> Vec<u64> {
        match self.engagements.get(&eid) {
            Some(e) => match e.phase {
                Phase::Active { sess } => std::iter::once(sess)
                    .chain(e.guests.iter().map(|g| g.sess))
                    .collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        }
    }

    /// The target session of a pending transfer or conference request.
    pub fn handoff_to(&self, eid: u64) -> Option<u64> {
        self.engagements
            .get(&eid)
            .and_then(|e| e.handoff.as_ref())
            .map(|h| h.to)
    }

    fn username(&self, sid: u64) -> Option<Arc<str>> {
        self.sessions.get(&sid).map(|s| s.username.clone())
    }

    /// The engagement, if this session owns it (not merely a conference guest).
    pub fn owned(&self, sid: u64, eid: u64) -> Result<&super::state::Engagement, ApiError> {
        let e = self.held(sid, eid)?;
        match e.phase {
            Phase::Active { sess } if sess == sid => Ok(e),
            _ => Err(ApiError::unknown(format!(
                "engagement {eid} is owned by another agent of the conference"
            ))),
        }
    }

    /// transferEngagement, autoTransferEngagement, conferenceEngagement.
    pub fn request_handoff(
        &mut self,
        sid: u64,
        eid: u64,
        req: Request,
        now: Instant,
        at_ms: u64,
    ) -> Result<Outcome, ApiError> {
        let Request {
            kind,
            target,
            notes,
        } = req;
        let e = self.owned(sid, eid)?;
        if e.customer_closed {
            return Err(ApiError::expired(format!(
                "the customer has closed engagement {eid}"
            )));
        }
        if e.handoff.is_some() {
            return Err(ApiError::expired(format!(
                "a transfer or conference of engagement {eid} is already pending"
            )));
        }
        let mut exclude: Vec<u64> = vec![sid];
        exclude.extend(e.guests.iter().map(|g| g.sess));
        let to = match self.handoff_target(target, &exclude, eid) {
            Ok(to) => to,
            Err(failed) => return Ok(failed),
        };
        let deadline = now + self.timing.accept_window;
        if let Some(e) = self.engagements.get_mut(&eid) {
            e.handoff = Some(Box::new(Handoff {
                kind,
                from: sid,
                to,
                deadline,
                notes,
            }));
        }
        let sender = self.username(sid);
        self.post_offer(to, eid, Some(kind.request_type()), sender, at_ms);
        let name = self.username(to).unwrap_or_else(|| "".into());
        Ok(Outcome {
            status: "pending",
            reason: format!("{} request sent to agent {name}", kind.request_type()),
        })
    }

    /// Who a hand-over goes to: the named agent if logged in, available and with a free slot,
    /// or a free agent of the group; `Err` is the failed request's answer.
    fn handoff_target(&self, target: Target, exclude: &[u64], eid: u64) -> Result<u64, Outcome> {
        match target {
            Target::Agent(name) => {
                let Some(&to) = self.by_user.get(name) else {
                    return Err(Outcome::failed(format!("agent {name} is not logged in")));
                };
                if exclude.contains(&to) {
                    return Err(Outcome::failed(format!(
                        "agent {name} is already in engagement {eid}"
                    )));
                }
                match self.sessions.get(&to) {
                    Some(s) if !s.available => {
                        Err(Outcome::failed(format!("agent {name} is busy")))
                    }
                    Some(s) if s.load() >= s.capacity() => {
                        Err(Outcome::failed(format!("agent {name} has no free slot")))
                    }
                    Some(_) => Ok(to),
                    None => Err(Outcome::failed(format!("agent {name} is not logged in"))),
                }
            }
            Target::Group(g) => {
                let found = self
                    .groups
                    .get(g)
                    .and_then(|grp| grp.free.iter().map(|k| k.2).find(|s| !exclude.contains(s)));
                found.ok_or_else(|| {
                    Outcome::failed(format!(
                        "no agent of agent group {g} can take engagement {eid} now"
                    ))
                })
            }
        }
    }

    /// The target accepted a transfer or conference request.
    pub fn handoff_accept(
        &mut self,
        sid: u64,
        eid: u64,
        now: Instant,
        at_ms: u64,
    ) -> Result<(), ApiError> {
        if self
            .engagements
            .get(&eid)
            .and_then(|e| e.handoff.as_ref())
            .is_some_and(|h| h.deadline <= now)
        {
            // Past the window: withdrawn now rather than at the next reaper pass.
            self.handoff_end(eid, "not accepted in time", now, at_ms);
            return Err(ApiError::expired(format!(
                "the request for engagement {eid} has expired"
            )));
        }
        let Some(h) = self
            .engagements
            .get_mut(&eid)
            .and_then(|e| e.handoff.take())
        else {
            return Err(ApiError::unknown(format!(
                "no transfer of engagement {eid} to this agent"
            )));
        };
        let me = self.username(sid);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.offers.retain(|x| *x != eid);
            s.chats.push(eid);
        }
        let Some(e) = self.engagements.get_mut(&eid) else {
            return Ok(());
        };
        if let Some(u) = &me
            && !e.handlers.contains(u)
        {
            e.handlers.push(u.clone());
        }
        e.offered_to.push(sid);
        match h.kind {
            HandoffKind::Conference => self.join_conference(sid, eid, me, at_ms),
            HandoffKind::Transfer | HandoffKind::AutoTransfer => {
                self.take_over(sid, eid, h.from, me, now, at_ms)
            }
        }
        self.refresh(sid);
        Ok(())
    }

    /// An accepted conference request: `sid` joins as a guest, the others are told.
    fn join_conference(&mut self, sid: u64, eid: u64, me: Option<Arc<str>>, at_ms: u64) {
        let Some(e) = self.engagements.get_mut(&eid) else {
            return;
        };
        e.guests.push(Guest {
            sess: sid,
            full: false,
        });
        let m = state_from("agentConnected", me, at_ms);
        e.record(&m);
        for p in self.participants(eid) {
            if p != sid {
                self.push_agent(p, eid, m.clone());
            }
        }
    }

    /// An accepted transfer: `sid` owns the engagement, its previous owner (or the requester
    /// `from`) leaves it, and the customer and the other participants are told.
    fn take_over(
        &mut self,
        sid: u64,
        eid: u64,
        from: u64,
        me: Option<Arc<str>>,
        now: Instant,
        at_ms: u64,
    ) {
        let from_name = self.username(from);
        let Some(e) = self.engagements.get_mut(&eid) else {
            return;
        };
        let old = match e.phase {
            Phase::Active { sess } => sess,
            _ => from,
        };
        e.phase = Phase::Active { sess: sid };
        e.since = now;
        e.guests.retain(|g| g.sess != sid);
        e.ownership = None;
        let exit = state_from("agentExitedFromEngagement", from_name, at_ms);
        let connected = state_from("agentConnected", me, at_ms);
        for m in [&exit, &connected] {
            e.record(m);
            e.tell_customer(m.clone());
        }
        let group = self.leave_chat(old, eid);
        self.push_agent(old, eid, exit.clone());
        for p in self.participants(eid) {
            if p != sid {
                self.push_agent(p, eid, exit.clone());
                self.push_agent(p, eid, connected.clone());
            }
        }
        self.refresh(old);
        if let Some(g) = group {
            self.pump(&g, now, at_ms);
        }
    }

    /// Session `sid` no longer holds engagement `eid` (one more finished); returns its group.
    fn leave_chat(&mut self, sid: u64, eid: u64) -> Option<Arc<str>> {
        let s = self.sessions.get_mut(&sid)?;
        s.chats.retain(|x| *x != eid);
        s.finished = s.finished.saturating_add(1);
        Some(s.group.clone())
    }

    /// A pending request ends without a hand-over (declined, not answered, or a party left):
    /// the target's slot is freed and the initiator told with a `system` message.
    pub fn handoff_end(&mut self, eid: u64, why: &str, now: Instant, at_ms: u64) {
        let Some(h) = self
            .engagements
            .get_mut(&eid)
            .and_then(|e| e.handoff.take())
        else {
            return;
        };
        let to_name = self.username(h.to).unwrap_or_else(|| "".into());
        let group = if let Some(s) = self.sessions.get_mut(&h.to) {
            s.offers.retain(|x| *x != eid);
            Some(s.group.clone())
        } else {
            None
        };
        let text = format!(
            "The {} request of engagement {eid} to agent {to_name} was {why}",
            h.kind.request_type()
        );
        self.push_agent(h.from, eid, Msg::system(text.clone(), at_ms));
        if why != "declined" {
            self.push_agent(h.to, eid, Msg::system(text, at_ms));
        }
        self.refresh(h.to);
        if let Some(g) = group {
            self.pump(&g, now, at_ms);
        }
    }

    /// Withdraws pending hand-over and ownership requests of an engagement that is closing.
    pub fn cancel_pending(&mut self, eid: u64, now: Instant, at_ms: u64) {
        self.handoff_end(eid, "withdrawn", now, at_ms);
        if let Some(e) = self.engagements.get_mut(&eid) {
            e.ownership = None;
        }
    }

    /// Withdraws requests nobody answered within `accept_window` (one reaper pass).
    pub fn reap_handoffs(&mut self, now: Instant, at_ms: u64) {
        let due: Vec<u64> = self
            .engagements
            .iter()
            .filter(|(_, e)| e.handoff.as_ref().is_some_and(|h| h.deadline <= now))
            .map(|(eid, _)| *eid)
            .collect();
        for eid in due {
            self.handoff_end(eid, "not accepted in time", now, at_ms);
        }
    }

    /// One agent of a conference exits; the others keep the engagement.
    pub fn leave(&mut self, sid: u64, eid: u64, now: Instant, at_ms: u64) {
        let me = self.username(sid);
        let Some(e) = self.engagements.get_mut(&eid) else {
            return;
        };
        let owner = matches!(e.phase, Phase::Active { sess } if sess == sid);
        let was_full = owner || e.guests.iter().any(|g| g.sess == sid && g.full);
        if owner {
            if e.guests.is_empty() {
                return;
            }
            let next = e.guests.remove(0);
            e.phase = Phase::Active { sess: next.sess };
            e.since = now;
        } else {
            e.guests.retain(|g| g.sess != sid);
        }
        if e.ownership.is_some_and(|(a, b)| a == sid || b == sid) {
            e.ownership = None;
        }
        let exit = state_from("agentExitedFromEngagement", me, at_ms);
        e.record(&exit);
        if was_full {
            e.tell_customer(exit.clone());
        }
        let pending_from_me = e.handoff.as_ref().is_some_and(|h| h.from == sid);
        if pending_from_me {
            self.handoff_end(eid, "withdrawn", now, at_ms);
        }
        for p in self.participants(eid) {
            self.push_agent(p, eid, exit.clone());
        }
        if owner && let Some(new_owner) = self.participants(eid).first().copied() {
            let m = state_from("ownershipChange", self.username(new_owner), at_ms);
            self.push_agent(new_owner, eid, m);
        }
        let group = self.leave_chat(sid, eid);
        self.refresh(sid);
        if let Some(g) = group {
            self.pump(&g, now, at_ms);
        }
    }

    /// Before a session ends: it leaves conferences it is part of (as a guest, or as an owner
    /// with guests), and requests to or from it are withdrawn. What is left in its `chats` and
    /// `offers` is then orphaned or re-offered as usual.
    pub fn detach(&mut self, sid: u64, now: Instant, at_ms: u64) {
        let Some(s) = self.sessions.get(&sid) else {
            return;
        };
        let chats = s.chats.clone();
        let offers = s.offers.clone();
        for eid in offers {
            if self.handoff_to(eid) == Some(sid) {
                self.handoff_end(eid, "withdrawn (the agent left)", now, at_ms);
            }
        }
        for eid in chats {
            let Some(e) = self.engagements.get(&eid) else {
                continue;
            };
            if e.handoff.as_ref().is_some_and(|h| h.from == sid) {
                self.handoff_end(eid, "withdrawn (the agent left)", now, at_ms);
            }
            let shared = self
                .engagements
                .get(&eid)
                .is_some_and(|e| !e.guests.is_empty());
            if shared {
                self.leave(sid, eid, now, at_ms);
            }
        }
    }

    /// conferenceMode: a screen-mode guest becomes a full participant.
    pub fn conference_mode(&mut self, sid: u64, eid: u64, at_ms: u64) -> Result<(), ApiError> {
        let e = self.held(sid, eid)?;
        if !e.guests.iter().any(|g| g.sess == sid) {
            return Err(ApiError::unknown(format!(
                "this agent is not a conference participant of engagement {eid}"
            )));
        }
        let me = self.username(sid);
        let Some(e) = self.engagements.get_mut(&eid) else {
            return Ok(());
        };
        let mut changed = false;
        for g in e.guests.iter_mut().filter(|g| g.sess == sid && !g.full) {
            g.full = true;
            changed = true;
        }
        if changed {
            let m = state_from("agentConnected", me, at_ms);
            e.tell_customer(m);
        }
        Ok(())
    }

    /// transferOwnership: asks a conference guest to take ownership.
    pub fn transfer_ownership(
        &mut self,
        sid: u64,
        eid: u64,
        target: Option<&str>,
        at_ms: u64,
    ) -> Result<Outcome, ApiError> {
        let e = self.owned(sid, eid)?;
        if e.ownership.is_some() {
            return Err(ApiError::expired(format!(
                "an ownership transfer of engagement {eid} is already pending"
            )));
        }
        let to = match target {
            Some(name) => e
                .guests
                .iter()
                .map(|g| g.sess)
                .find(|g| self.sessions.get(g).is_some_and(|s| &*s.username == name)),
            None => e.guests.first().map(|g| g.sess),
        };
        let Some(to) = to else {
            return Err(ApiError::invalid(
                "targetAgentId",
                format!(
                    "agent {} is not a conference participant of engagement {eid}",
                    target.unwrap_or("(none)")
                ),
            ));
        };
        if let Some(e) = self.engagements.get_mut(&eid) {
            e.ownership = Some((sid, to));
        }
        let m = state_from("ownershipTransferRequest", self.username(sid), at_ms);
        self.push_agent(to, eid, m);
        let name = self.username(to).unwrap_or_else(|| "".into());
        Ok(Outcome {
            status: "pending",
            reason: format!("ownership transfer request sent to agent {name}"),
        })
    }

    /// acceptOwnership / refuseOwnership by the target of a pending ownership transfer.
    pub fn answer_ownership(
        &mut self,
        sid: u64,
        eid: u64,
        accept: bool,
        reason: Option<&str>,
        now: Instant,
        at_ms: u64,
    ) -> Result<Outcome, ApiError> {
        let e = self.held(sid, eid)?;
        let Some((from, to)) = e.ownership else {
            return Err(ApiError::unknown(format!(
                "no ownership transfer of engagement {eid} is pending for this agent"
            )));
        };
        if to != sid {
            return Err(ApiError::unknown(format!(
                "no ownership transfer of engagement {eid} is pending for this agent"
            )));
        }
        let me = self.username(sid);
        let Some(e) = self.engagements.get_mut(&eid) else {
            return Err(ApiError::unknown(format!("no such engagement {eid}")));
        };
        e.ownership = None;
        let mut m = if accept {
            if let Phase::Active { sess } = e.phase {
                e.guests.retain(|g| g.sess != sid);
                e.guests.insert(0, Guest { sess, full: true });
            }
            e.phase = Phase::Active { sess: sid };
            e.since = now;
            state_from("ownershipChange", me, at_ms)
        } else {
            state_from("ownershipTransferRefused", me, at_ms)
        };
        if let Some(r) = reason {
            m.text = Some(r.into());
        }
        if accept {
            e.record(&m);
            for p in self.participants(eid) {
                if p != sid {
                    self.push_agent(p, eid, m.clone());
                }
            }
        } else {
            self.push_agent(from, eid, m);
        }
        Ok(Outcome {
            status: if accept { "accepted" } else { "refused" },
            reason: reason.unwrap_or("").to_string(),
        })
    }
}
