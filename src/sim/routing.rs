//! Routing and the engagement life cycle: login, offers, accept/deny/join/close, customer
//! arrivals, lines and closes, and the reaper that enforces the accept and keep-alive windows.
//!
//! Policy (ours; the reference is silent): an engagement is offered to an available agent of its
//! agent group with a free slot (`max_chats` counts offers and accepted chats), choosing the agent
//! with the fewest chats, then the one whose last offer is oldest (longest idle). An agent that
//! missed or denied an offer is not offered the same engagement again. Engagements no agent can
//! take wait in a FIFO queue per group, which is pumped whenever a slot frees up.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::config::KeepaliveEnds;
use super::error::ApiError;
use super::state::{Core, Engagement, Member, Msg, MsgKind, Phase, Session, Share};

/// Why a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No GET messages within the keep-alive window.
    LostConnection,
    /// The same agent logged in again.
    Replaced,
}

/// How many free agents routing inspects to skip ones excluded for an engagement.
const PICK_SCAN: usize = 64;
/// How many queued engagements one pump inspects.
const PUMP_SCAN: usize = 256;

/// Whether session `sid` may answer (accept or deny) the offer of engagement `eid` now: the
/// engagement must be offered to it, within the accept window.
fn open_offer(e: &Engagement, sid: u64, eid: u64, now: Instant) -> Result<(), ApiError> {
    match e.phase {
        Phase::Offered { sess, deadline } if sess == sid && deadline <= now => Err(
            ApiError::expired(format!("the offer of engagement {eid} has expired")),
        ),
        Phase::Offered { sess, .. } if sess == sid => Ok(()),
        _ if e.offered_to.contains(&sid) => Err(ApiError::expired(format!(
            "the offer of engagement {eid} is no longer open"
        ))),
        _ => Err(ApiError::unknown(format!(
            "engagement {eid} was not offered to this agent"
        ))),
    }
}

impl Engagement {
    /// The engagement becomes active for session `sid`, announcing `m` (transcript and
    /// customer); returns what the customer wrote while it waited, for the agent (see
    /// [`Core::start_chat`]).
    pub fn activate(&mut self, sid: u64, m: Msg, now: Instant) -> Vec<Msg> {
        self.phase = Phase::Active { sess: sid };
        self.since = now;
        self.record(&m);
        self.tell_customer(m);
        std::mem::take(&mut self.pending_agent)
    }
}

impl Core {
    /// Session `sid` now holds engagement `eid` (just activated): it counts among the session's
    /// chats, and `pending` (what the customer wrote meanwhile) goes to the agent.
    pub fn start_chat(&mut self, sid: u64, eid: u64, pending: Vec<Msg>) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.chats.push(eid);
        }
        for m in pending {
            self.push_agent(sid, eid, m);
        }
        self.refresh(sid);
    }

    /// Changes what session `sid` can take (`change` sets `available` or `extra`), then re-files
    /// it and offers its group's queued engagements to the group's free agents.
    pub fn set_session(
        &mut self,
        sid: u64,
        change: impl FnOnce(&mut Session),
        now: Instant,
        at_ms: u64,
    ) -> Result<(), ApiError> {
        let group = match self.sessions.get_mut(&sid) {
            Some(s) => {
                change(s);
                s.group.clone()
            }
            None => return Err(ApiError::unknown("no such session")),
        };
        self.refresh(sid);
        self.pump(&group, now, at_ms);
        Ok(())
    }

    /// Recomputes whether a session sits in its group's free set, and under which key.
    pub fn refresh(&mut self, sid: u64) {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        let old = s.free_key.take();
        let new =
            (s.available && s.load() < s.capacity()).then_some((s.load(), s.last_offer_seq, sid));
        s.free_key = new;
        let (was, now) = (s.share, s.share_now());
        s.share = now;
        let group = s.group.clone();
        let g = self.group_mut(&group);
        if was != now {
            g.stats.apply(was, false);
            g.stats.apply(now, true);
        }
        if let Some(k) = old {
            g.free.remove(&k);
        }
        if let Some(k) = new {
            g.free.insert(k);
        }
    }

    fn pick(&self, group: &str, exclude: &[u64]) -> Option<u64> {
        self.groups
            .get(group)?
            .free
            .iter()
            .take(PICK_SCAN)
            .map(|k| k.2)
            .find(|sid| !exclude.contains(sid))
    }

    fn offer(&mut self, eid: u64, sid: u64, now: Instant, at_ms: u64) {
        let deadline = now + self.timing.accept_window;
        self.seq += 1;
        let seq = self.seq;
        let Some(e) = self.engagements.get_mut(&eid) else {
            return;
        };
        e.phase = Phase::Offered {
            sess: sid,
            deadline,
        };
        e.since = now;
        e.offered_to.push(sid);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.offers.push(eid);
            s.last_offer_seq = seq;
        }
        self.refresh(sid);
        let msg = Msg {
            kind: MsgKind::NewRequest,
            state: None,
            text: None,
            from: Member::System,
            internal: false,
            sender: None,
            at_ms,
        };
        self.push_agent(sid, eid, msg);
    }

    /// Offers an engagement to the best free agent, or queues it (at the front when `front`).
    fn place(&mut self, eid: u64, now: Instant, at_ms: u64, front: bool) {
        let Some(e) = self.engagements.get(&eid) else {
            return;
        };
        let group = e.group.clone();
        match self.pick(&group, &e.offered_to) {
            Some(sid) => self.offer(eid, sid, now, at_ms),
            None => {
                if let Some(e) = self.engagements.get_mut(&eid) {
                    e.phase = Phase::Queued;
                    e.since = now;
                }
                let g = self.group_mut(&group);
                if front {
                    g.queue.push_front(eid);
                } else {
                    g.queue.push_back(eid);
                }
            }
        }
    }

    /// Offers queued engagements of a group to its free agents.
    pub fn pump(&mut self, group: &Arc<str>, now: Instant, at_ms: u64) {
        let mut i = 0;
        let mut scanned = 0;
        while scanned < PUMP_SCAN {
            let Some(g) = self.groups.get(group) else {
                return;
            };
            if g.free.is_empty() {
                return;
            }
            let Some(&eid) = g.queue.get(i) else {
                return;
            };
            scanned += 1;
            let exclude = self
                .engagements
                .get(&eid)
                .map(|e| e.offered_to.clone())
                .unwrap_or_default();
            if !self.engagements.contains_key(&eid) {
                self.group_mut(group).queue.remove(i);
                continue;
            }
            match self.pick(group, &exclude) {
                Some(sid) => {
                    self.group_mut(group).queue.remove(i);
                    self.offer(eid, sid, now, at_ms);
                }
                None => i += 1,
            }
        }
    }

    /// Starts a session, replacing the agent's previous one. Returns the session id.
    pub fn login(
        &mut self,
        username: &str,
        group: &str,
        max_chats: u16,
        tag: u32,
        now: Instant,
        at_ms: u64,
    ) -> u64 {
        if let Some(&old) = self.by_user.get(username) {
            self.end_session(old, EndReason::Replaced, now, at_ms);
        }
        let sid = self.next_sess;
        self.next_sess += 1;
        let username: Arc<str> = username.into();
        let group: Arc<str> = self
            .groups
            .get_key_value(group)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| group.into());
        // customSettings `loginState: loginAsBusy` starts the session busy.
        let available = !self
            .profiles
            .get(&username)
            .and_then(|p| p.custom_settings.get("loginState"))
            .is_some_and(|v| v == "loginAsBusy");
        self.sessions.insert(
            sid,
            Session {
                tag,
                username: username.clone(),
                group: group.clone(),
                available,
                max_chats,
                chats: Vec::new(),
                offers: Vec::new(),
                queue: Default::default(),
                notify: Arc::new(Notify::new()),
                polling: 0,
                last_seen: now,
                last_offer_seq: 0,
                free_key: None,
                extra: false,
                finished: 0,
                share: Share::default(),
            },
        );
        self.by_user.insert(username, sid);
        // Counted with an empty share; refresh moves it to the real one.
        self.group_mut(&group).stats.apply(Share::default(), true);
        self.refresh(sid);
        self.pump(&group, now, at_ms);
        sid
    }

    /// Ends a session: its offers go to other agents, its chats wait for the agent to rejoin, and
    /// its long-polls are woken (they then answer 401).
    pub fn end_session(&mut self, sid: u64, reason: EndReason, now: Instant, at_ms: u64) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.available = false;
        }
        self.refresh(sid);
        self.detach(sid, now, at_ms);
        let Some(s) = self.sessions.remove(&sid) else {
            return;
        };
        self.group_mut(&s.group).stats.apply(s.share, false);
        if self.by_user.get(&s.username) == Some(&sid) {
            self.by_user.remove(&s.username);
        }
        s.notify.notify_waiters();
        self.orphan(&s.chats, &s.username, now, at_ms);
        for eid in &s.offers {
            self.place(*eid, now, at_ms, true);
        }
        let _ = reason;
        self.pump(&s.group, now, at_ms);
    }

    /// `keepalive_ends: engagements`: a silent session loses its engagements as a lost session
    /// does (offers move on, chats wait for `joinEngagement`) but stays logged in; a new
    /// keep-alive window starts.
    pub fn drop_engagements(&mut self, sid: u64, now: Instant, at_ms: u64) {
        self.detach(sid, now, at_ms);
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        s.last_seen = now;
        let chats = std::mem::take(&mut s.chats);
        let offers = std::mem::take(&mut s.offers);
        let (username, group) = (s.username.clone(), s.group.clone());
        self.refresh(sid);
        self.orphan(&chats, &username, now, at_ms);
        for eid in offers {
            self.place(eid, now, at_ms, true);
        }
        self.pump(&group, now, at_ms);
    }

    /// Chats whose agent is gone: they wait for that agent's `joinEngagement`, and their
    /// customers see `agentLostConnection`.
    fn orphan(&mut self, chats: &[u64], username: &Arc<str>, now: Instant, at_ms: u64) {
        for eid in chats {
            if let Some(e) = self.engagements.get_mut(eid) {
                e.phase = Phase::Orphaned {
                    username: username.clone(),
                };
                e.since = now;
                let m = Msg::state(Member::System, "agentLostConnection", at_ms);
                e.record(&m);
                e.tell_customer(m);
            }
        }
    }

    /// The engagement, if this session may act on it as its holder.
    pub fn held(&self, sid: u64, eid: u64) -> Result<&Engagement, ApiError> {
        let e = self
            .engagements
            .get(&eid)
            .ok_or_else(|| ApiError::unknown(format!("no such engagement {eid}")))?;
        match e.phase {
            Phase::Active { sess } if sess == sid || e.guests.iter().any(|g| g.sess == sid) => {
                Ok(e)
            }
            Phase::Closed if e.offered_to.contains(&sid) => {
                Err(ApiError::expired(format!("engagement {eid} is closed")))
            }
            _ => Err(ApiError::unknown(format!(
                "engagement {eid} is not held by this agent"
            ))),
        }
    }

    /// acceptEngagement.
    pub fn accept(&mut self, sid: u64, eid: u64, now: Instant, at_ms: u64) -> Result<(), ApiError> {
        if self.handoff_to(eid) == Some(sid) {
            return self.handoff_accept(sid, eid, now, at_ms);
        }
        let e = self
            .engagements
            .get_mut(&eid)
            .ok_or_else(|| ApiError::unknown(format!("no such engagement {eid}")))?;
        if matches!(e.phase, Phase::Active { sess } if sess == sid) {
            return Ok(());
        }
        open_offer(e, sid, eid, now)?;
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.offers.retain(|x| *x != eid);
            if !e.handlers.contains(&s.username) {
                e.handlers.push(s.username.clone());
            }
        }
        let connected = Msg::state(Member::Agent, "agentConnected", at_ms);
        let pending = e.activate(sid, connected, now);
        self.start_chat(sid, eid, pending);
        Ok(())
    }

    /// denyEngagement: the offer goes to another agent (or back to the queue).
    pub fn deny(&mut self, sid: u64, eid: u64, now: Instant, at_ms: u64) -> Result<(), ApiError> {
        if self.handoff_to(eid) == Some(sid) {
            self.handoff_end(eid, "declined", now, at_ms);
            return Ok(());
        }
        let e = self
            .engagements
            .get(&eid)
            .ok_or_else(|| ApiError::unknown(format!("no such engagement {eid}")))?;
        open_offer(e, sid, eid, now)?;
        let group = e.group.clone();
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.offers.retain(|x| *x != eid);
        }
        self.refresh(sid);
        self.place(eid, now, at_ms, true);
        // The denier's slot is free again for other queued engagements.
        self.pump(&group, now, at_ms);
        Ok(())
    }

    /// joinEngagement: the same agent re-enters an engagement after losing its session.
    pub fn join(&mut self, sid: u64, eid: u64, now: Instant, at_ms: u64) -> Result<(), ApiError> {
        let username = self
            .sessions
            .get(&sid)
            .map(|s| s.username.clone())
            .ok_or_else(|| ApiError::unknown("no such session"))?;
        let e = self
            .engagements
            .get_mut(&eid)
            .ok_or_else(|| ApiError::unknown(format!("no such engagement {eid}")))?;
        match &e.phase {
            Phase::Active { sess } if *sess == sid => return Ok(()),
            Phase::Orphaned { username: u } if *u == username => {}
            Phase::Closed => {
                return Err(ApiError::expired(format!("engagement {eid} is closed")));
            }
            _ => {
                return Err(ApiError::unknown(format!(
                    "engagement {eid} does not belong to this agent"
                )));
            }
        }
        e.offered_to.push(sid);
        let reconnected = Msg::state(Member::Agent, "agentReconnected", at_ms);
        let pending = e.activate(sid, reconnected, now);
        self.start_chat(sid, eid, pending);
        Ok(())
    }

    /// closeEngagement by the agent.
    pub fn close_by_agent(
        &mut self,
        sid: u64,
        eid: u64,
        now: Instant,
        at_ms: u64,
    ) -> Result<(), ApiError> {
        let alone = self.held(sid, eid)?.guests.is_empty();
        if !alone {
            // One agent of a conference leaves; the others keep the engagement.
            self.leave(sid, eid, now, at_ms);
            return Ok(());
        }
        self.cancel_pending(eid, now, at_ms);
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.finished = s.finished.saturating_add(1);
        }
        let group = if let Some(e) = self.engagements.get_mut(&eid) {
            e.phase = Phase::Closed;
            e.since = now;
            let m = Msg::state(Member::Agent, "agentClosedEngagement", at_ms);
            e.record(&m);
            e.tell_customer(m);
            e.group.clone()
        } else {
            return Ok(());
        };
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.chats.retain(|x| *x != eid);
        }
        self.refresh(sid);
        self.pump(&group, now, at_ms);
        Ok(())
    }

    /// POST messages by the agent: a line, a form or a typing state.
    pub fn agent_message(&mut self, sid: u64, eid: u64, msg: Msg) -> Result<(), ApiError> {
        let e = self.held(sid, eid)?;
        if e.customer_closed && msg.kind != MsgKind::StateChange && !msg.internal {
            return Err(ApiError::expired(format!(
                "the customer has closed engagement {eid}"
            )));
        }
        let screen = e.guests.iter().any(|g| g.sess == sid && !g.full);
        if screen && !msg.internal && msg.kind != MsgKind::StateChange {
            return Err(ApiError::invalid(
                "chatLineReceiverType",
                "a conference participant in screen mode sends internal lines only (conferenceMode makes it a full participant)",
            ));
        }
        let others = self.others(eid, sid);
        if let Some(e) = self.engagements.get_mut(&eid) {
            if msg.kind != MsgKind::StateChange {
                e.record(&msg);
            }
            if !msg.internal && !screen {
                e.tell_customer(msg.clone());
            }
        }
        for o in others {
            self.push_agent(o, eid, msg.clone());
        }
        Ok(())
    }

    /// A new customer engagement; returns (engagement id, customer id, queued?).
    pub fn create_engagement(
        &mut self,
        group: &str,
        site: &str,
        initial: Option<Arc<str>>,
        synthetic: bool,
        now: Instant,
        at_ms: u64,
    ) -> (u64, u64, bool) {
        let eid = self.next_eng;
        self.next_eng += 1;
        let cid = self.next_customer;
        self.next_customer += 1;
        let group: Arc<str> = self
            .groups
            .get_key_value(group)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| group.into());
        let mut e = Engagement {
            customer_id: cid,
            group: group.clone(),
            site: site.into(),
            phase: Phase::Queued,
            offered_to: Vec::new(),
            pending_agent: Vec::new(),
            customer_queue: Default::default(),
            transcript: Vec::new(),
            synthetic,
            customer_closed: false,
            since: now,
            guests: Vec::new(),
            handoff: None,
            ownership: None,
            handlers: Vec::new(),
            follow_up: None,
        };
        if let Some(text) = initial {
            let m = Msg::line(Member::Customer, text, Some(cid.to_string().into()), at_ms);
            e.record(&m);
            e.pending_agent.push(m);
        }
        self.engagements.insert(eid, e);
        self.place(eid, now, at_ms, false);
        let queued = matches!(
            self.engagements.get(&eid).map(|e| &e.phase),
            Some(Phase::Queued)
        );
        (eid, cid, queued)
    }

    /// Checks a customer's ids; returns the engagement.
    pub fn customer_engagement(&mut self, eid: u64, cid: u64) -> Result<&mut Engagement, ApiError> {
        match self.engagements.get_mut(&eid) {
            Some(e) if e.customer_id == cid => Ok(e),
            _ => Err(ApiError::unknown(format!(
                "no engagement {eid} for customer {cid}"
            ))),
        }
    }

    /// A customer line or typing state, delivered to the agent now or at accept.
    pub fn customer_message(&mut self, eid: u64, cid: u64, msg: Msg) -> Result<(), ApiError> {
        let e = self.customer_engagement(eid, cid)?;
        if e.customer_closed || e.phase == Phase::Closed {
            return Err(ApiError::expired(format!("engagement {eid} is closed")));
        }
        let typing = msg.kind == MsgKind::StateChange;
        if !typing {
            e.record(&msg);
        }
        match e.phase {
            Phase::Active { .. } => {
                for p in self.participants(eid) {
                    self.push_agent(p, eid, msg.clone());
                }
            }
            _ if typing => {}
            _ => {
                if e.pending_agent.len() < super::state::MAX_LINES {
                    e.pending_agent.push(msg);
                }
            }
        }
        Ok(())
    }

    /// The customer closes: the agent is told (and still closes with a disposition).
    pub fn close_by_customer(
        &mut self,
        eid: u64,
        cid: u64,
        now: Instant,
        at_ms: u64,
    ) -> Result<(), ApiError> {
        let e = self.customer_engagement(eid, cid)?;
        if e.customer_closed || e.phase == Phase::Closed {
            return Err(ApiError::expired(format!("engagement {eid} is closed")));
        }
        e.customer_closed = true;
        let m = Msg::state(Member::Customer, "customerClosedEngagement", at_ms);
        e.record(&m);
        let group = e.group.clone();
        match e.phase.clone() {
            Phase::Active { .. } => {
                for p in self.participants(eid) {
                    self.push_agent(p, eid, m.clone());
                }
            }
            Phase::Offered { sess, .. } => {
                e.phase = Phase::Closed;
                e.since = now;
                if let Some(s) = self.sessions.get_mut(&sess) {
                    s.offers.retain(|x| *x != eid);
                }
                self.push_agent(sess, eid, m);
                self.refresh(sess);
                self.pump(&group, now, at_ms);
            }
            Phase::Queued => {
                e.phase = Phase::Closed;
                e.since = now;
                self.group_mut(&group).queue.retain(|x| *x != eid);
            }
            Phase::Orphaned { .. } | Phase::FollowUp { .. } => {
                e.phase = Phase::Closed;
                e.since = now;
            }
            Phase::Closed => {}
        }
        Ok(())
    }

    /// Whether the group has an agent who could take an engagement now.
    pub fn available(&self, group: &str) -> bool {
        self.groups.get(group).is_some_and(|g| !g.free.is_empty())
    }

    /// One reaper pass: withdraws expired offers, ends silent sessions, drops old engagements.
    pub fn reap(&mut self, now: Instant, at_ms: u64) {
        let t = self.timing;
        let expired_offers: Vec<(u64, u64)> = self
            .engagements
            .iter()
            .filter_map(|(eid, e)| match e.phase {
                Phase::Offered { sess, deadline } if deadline <= now => Some((*eid, sess)),
                _ => None,
            })
            .collect();
        for (eid, sid) in expired_offers {
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.offers.retain(|x| *x != eid);
            }
            let text = format!(
                "Engagement {eid} was withdrawn: not accepted within {} s",
                t.accept_window.as_secs()
            );
            self.push_agent(sid, eid, Msg::system(text, at_ms));
            self.refresh(sid);
            self.place(eid, now, at_ms, true);
        }
        let silent: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| self.missed_keepalive(s, now))
            .map(|(sid, _)| *sid)
            .collect();
        for sid in silent {
            match t.keepalive_ends {
                KeepaliveEnds::Session => {
                    self.end_session(sid, EndReason::LostConnection, now, at_ms)
                }
                KeepaliveEnds::Engagements => self.drop_engagements(sid, now, at_ms),
            }
        }
        self.reap_handoffs(now, at_ms);
        let orphan_limit = t.keepalive_window * 2;
        self.engagements.retain(|_, e| match e.phase {
            Phase::Closed => now.duration_since(e.since) < t.closed_retention,
            Phase::FollowUp { .. } if e.follow_up.as_ref().is_none_or(|f| f.until <= now) => {
                e.phase = Phase::Closed;
                e.since = now;
                true
            }
            Phase::Orphaned { .. } if now.duration_since(e.since) >= orphan_limit => {
                e.phase = Phase::Closed;
                e.since = now;
                true
            }
            _ => true,
        });
        let groups: Vec<Arc<str>> = self
            .groups
            .iter()
            .filter(|(_, g)| !g.queue.is_empty() && !g.free.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for g in groups {
            self.pump(&g, now, at_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sim::state::{SiteInfo, Timing};

    fn core() -> Core {
        Core::new(
            Timing {
                accept_window: Duration::from_secs(15),
                keepalive_window: Duration::from_secs(30),
                keepalive_ends: Default::default(),
                closed_retention: Duration::from_secs(120),
            },
            SiteInfo::new("22", &crate::sim::seed::Seed::default()),
        )
    }

    fn offered_to(c: &Core, eid: u64) -> Option<u64> {
        match c.engagements.get(&eid).map(|e| &e.phase) {
            Some(Phase::Offered { sess, .. }) => Some(*sess),
            _ => None,
        }
    }

    #[tokio::test]
    async fn offers_go_to_the_least_busy_then_longest_idle_agent() {
        let mut c = core();
        let now = Instant::now();
        let a = c.login("a", "1", 2, 1, now, 0);
        let b = c.login("b", "1", 2, 2, now, 0);
        let (e1, _, _) = c.create_engagement("1", "306", None, false, now, 0);
        let (e2, _, _) = c.create_engagement("1", "306", None, false, now, 0);
        let (e3, _, _) = c.create_engagement("1", "306", None, false, now, 0);
        let (e4, _, _) = c.create_engagement("1", "306", None, false, now, 0);
        let (e5, _, queued) = c.create_engagement("1", "306", None, false, now, 0);
        assert_eq!(offered_to(&c, e1), Some(a));
        assert_eq!(offered_to(&c, e2), Some(b));
        assert_eq!(offered_to(&c, e3), Some(a));
        assert_eq!(offered_to(&c, e4), Some(b));
        assert!(queued);
        assert_eq!(c.groups.get("1").map(|g| g.queue.len()), Some(1));
        // b frees a slot first: the queued engagement goes to b.
        assert_eq!(c.deny(b, e2, now, 0), Ok(()));
        assert_eq!(offered_to(&c, e5), Some(b));
        // e2 cannot go back to b (it denied it) and a is full: it waits.
        assert_eq!(
            c.engagements.get(&e2).map(|e| &e.phase),
            Some(&Phase::Queued)
        );
        // Agents of another group never get group 1's engagements.
        let other = c.login("x", "2", 1, 3, now, 0);
        assert!(c.sessions.get(&other).is_some_and(|s| s.offers.is_empty()));
    }

    #[tokio::test]
    async fn ending_a_session_reoffers_its_offers_and_orphans_its_chats() {
        let mut c = core();
        let now = Instant::now();
        let a = c.login("a", "1", 2, 1, now, 0);
        let (e1, _, _) = c.create_engagement("1", "306", None, false, now, 0);
        let (e2, _, _) = c.create_engagement("1", "306", None, false, now, 0);
        assert_eq!(c.accept(a, e1, now, 0), Ok(()));
        let b = c.login("b", "1", 1, 2, now, 0);
        c.end_session(a, EndReason::LostConnection, now, 0);
        assert_eq!(offered_to(&c, e2), Some(b));
        assert!(matches!(
            c.engagements.get(&e1).map(|e| &e.phase),
            Some(Phase::Orphaned { .. })
        ));
        assert!(c.session_by_registered(&format!("{a}-00000001")).is_none());
        assert_eq!(c.session_by_registered(&format!("{b}-00000002")), Some(b));
        assert_eq!(c.session_by_registered(&format!("{b}-2")), None);
    }
}
