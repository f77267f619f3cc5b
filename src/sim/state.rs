//! The simulator's world: agent sessions, engagements, per-group routing indexes and the message
//! queues between agents and customers.
//!
//! All of it lives in one [`Core`] behind one `parking_lot::Mutex`. Every operation on it is O(1)
//! or O(log n) (routing uses an ordered set per agent group), it is never held across an
//! `.await`, and long-polls wait on a per-session `tokio::sync::Notify`, not on the lock. One
//! short-held lock was chosen over shards because routing needs a consistent view of agents and
//! engagements together, and on the 2-core target the lock is held for about a microsecond.
//! Structs are kept small (empty queues do not allocate) so 15,000 idle sessions cost little.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::config::KeepaliveEnds;
use tokio::time::Instant;

/// Wall-clock time read through tokio's clock, so tests with a paused clock move it too.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
    base_unix_ms: u64,
}

impl Clock {
    pub fn new() -> Self {
        let base_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            base: Instant::now(),
            base_unix_ms,
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(&self) -> u64 {
        self.base_unix_ms + Instant::now().duration_since(self.base).as_millis() as u64
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> u64 {
        self.unix_ms() / 1000
    }

    /// Time since the simulator started.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(self.base)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// The reference's `messageType` values the simulator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    ChatLine,
    StateChange,
    NewRequest,
    System,
    DynamicForm,
    Script,
    AgentDataPass,
    MaskText,
}

impl MsgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MsgKind::ChatLine => "chatLine",
            MsgKind::StateChange => "stateChange",
            MsgKind::NewRequest => "newRequest",
            MsgKind::System => "system",
            MsgKind::DynamicForm => "dynamicForm",
            MsgKind::Script => "scriptLine",
            MsgKind::AgentDataPass => "agentDataPass",
            MsgKind::MaskText => "maskText",
        }
    }
}

/// Who a message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    Agent,
    Customer,
    System,
}

/// One message on its way to an agent or a customer (and in the transcript).
#[derive(Debug, Clone)]
pub struct Msg {
    pub kind: MsgKind,
    /// `state` of a stateChange (the reference's names); for a newRequest, its `requestType`
    /// (`engagement` when `None`), so messages stay one size.
    pub state: Option<&'static str>,
    pub text: Option<Arc<str>>,
    pub from: Member,
    /// `chatLineReceiverType=internal` (agent-to-agent, never shown to the customer).
    pub internal: bool,
    /// Agent username or customer id of the sender.
    pub sender: Option<Arc<str>>,
    pub at_ms: u64,
}

impl Msg {
    pub fn state(from: Member, state: &'static str, at_ms: u64) -> Self {
        Msg {
            kind: MsgKind::StateChange,
            state: Some(state),
            text: None,
            from,
            internal: false,
            sender: None,
            at_ms,
        }
    }

    pub fn line(from: Member, text: Arc<str>, sender: Option<Arc<str>>, at_ms: u64) -> Self {
        Msg {
            kind: MsgKind::ChatLine,
            state: None,
            text: Some(text),
            from,
            internal: false,
            sender,
            at_ms,
        }
    }

    /// A `system` line (annotations, withdrawn offers and requests).
    pub fn system(text: String, at_ms: u64) -> Self {
        Msg {
            kind: MsgKind::System,
            state: None,
            text: Some(text.into()),
            from: Member::System,
            internal: false,
            sender: None,
            at_ms,
        }
    }

    /// The message as an agent sees it in GET messages.
    pub fn agent_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("messageType".into(), self.kind.as_str().into());
        if self.kind == MsgKind::NewRequest {
            m.insert(
                "requestType".into(),
                self.state.unwrap_or("engagement").into(),
            );
        } else if let Some(s) = self.state {
            m.insert("state".into(), s.into());
        }
        if let Some(t) = &self.text {
            m.insert("messageText".into(), Value::String(t.to_string()));
        }
        if matches!(self.kind, MsgKind::ChatLine | MsgKind::DynamicForm) {
            let r = if self.internal {
                "internal"
            } else {
                "external"
            };
            m.insert("chatLineReceiverType".into(), r.into());
        }
        let member = match self.from {
            Member::Agent => "agent",
            Member::Customer => "customer",
            Member::System => "system",
        };
        m.insert("member".into(), member.into());
        if let Some(s) = &self.sender {
            m.insert("userId".into(), Value::String(s.to_string()));
        }
        m.insert("timestamp".into(), self.at_ms.into());
        Value::Object(m)
    }

    /// The message as a customer sees it in GET customer/message.
    pub fn customer_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("messageType".into(), self.kind.as_str().into());
        if let Some(s) = self.state {
            m.insert("state".into(), s.into());
        }
        if let Some(t) = &self.text {
            m.insert("messageText".into(), Value::String(t.to_string()));
        }
        if let (Member::Agent, Some(s)) = (self.from, &self.sender) {
            m.insert("agentId".into(), Value::String(s.to_string()));
        }
        Value::Object(m)
    }
}

/// Routing key of a free agent: fewest chats first, then longest since its last offer.
pub type FreeKey = (u16, u64, u64);

/// A logged-in agent.
#[derive(Debug)]
pub struct Session {
    pub tag: u32,
    pub username: Arc<str>,
    pub group: Arc<str>,
    pub available: bool,
    pub max_chats: u16,
    /// Accepted engagements in hand.
    pub chats: Vec<u64>,
    /// Offers waiting for accept/deny.
    pub offers: Vec<u64>,
    /// Messages not yet fetched by GET messages: (engagement id or 0, message).
    pub queue: VecDeque<(u64, Msg)>,
    pub notify: Arc<Notify>,
    /// GET messages requests in flight.
    pub polling: u16,
    pub last_seen: Instant,
    pub last_offer_seq: u64,
    pub free_key: Option<FreeKey>,
    /// extraChat: one slot above `max_chats` while set.
    pub extra: bool,
    /// Engagements this session closed or handed on (activePerformanceMetrics).
    pub finished: u32,
    /// Its share in its group's figures, as last counted.
    pub share: Share,
}

impl Session {
    /// Slots: `max_chats`, plus one while extraChat is on.
    pub fn capacity(&self) -> u16 {
        self.max_chats.saturating_add(u16::from(self.extra))
    }

    /// Its share in its group's figures now.
    pub fn share_now(&self) -> Share {
        Share {
            cap: self.capacity(),
            load: self.load(),
            available: self.available,
        }
    }

    pub fn load(&self) -> u16 {
        (self.chats.len() + self.offers.len()).min(u16::MAX as usize) as u16
    }

    /// The `registeredId` handed out at login.
    pub fn registered_id(&self, sid: u64) -> String {
        format!("{sid}-{:08x}", self.tag)
    }
}

/// Where an engagement is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Queued,
    Offered {
        sess: u64,
        deadline: Instant,
    },
    Active {
        sess: u64,
    },
    /// The agent's session was lost; the same username may joinEngagement.
    Orphaned {
        username: Arc<str>,
    },
    /// Closed with `followUp=true`: listed by followUpConversations for this agent until
    /// resumed (followUpEngagement), resolved (resolveConversation) or timed out.
    FollowUp {
        username: Arc<str>,
    },
    Closed,
}

/// A conference participant besides the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guest {
    pub sess: u64,
    /// Full participant (lines reach the customer) or screen mode (internal lines only).
    pub full: bool,
}

/// What kind of hand-over a pending request is (the newRequest's `requestType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffKind {
    Transfer,
    Conference,
    AutoTransfer,
}

impl HandoffKind {
    pub fn request_type(self) -> &'static str {
        match self {
            HandoffKind::Transfer => "transfer",
            HandoffKind::Conference => "conference",
            HandoffKind::AutoTransfer => "autoTransfer",
        }
    }
}

/// A transfer or conference request waiting for the target's accept or deny.
#[derive(Debug, Clone)]
pub struct Handoff {
    pub kind: HandoffKind,
    pub from: u64,
    pub to: u64,
    pub deadline: Instant,
    pub notes: Option<Arc<str>>,
}

/// Follow-up details kept from the close that asked for it.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub notes: Arc<str>,
    pub at_ms: u64,
    pub until: Instant,
}

/// A customer chat.
#[derive(Debug)]
pub struct Engagement {
    pub customer_id: u64,
    pub group: Arc<str>,
    pub site: Arc<str>,
    pub phase: Phase,
    /// Sessions this engagement was offered to (a later accept from them is "too late").
    pub offered_to: Vec<u64>,
    /// Customer messages held until an agent accepts (or rejoins).
    pub pending_agent: Vec<Msg>,
    /// Messages for an HTTP customer (unused by built-in customers).
    pub customer_queue: VecDeque<Msg>,
    pub transcript: Vec<Msg>,
    pub synthetic: bool,
    pub customer_closed: bool,
    /// When the phase last changed.
    pub since: Instant,
    /// Conference participants besides the owner (`Phase::Active`).
    pub guests: Vec<Guest>,
    /// A pending transfer or conference request.
    pub handoff: Option<Box<Handoff>>,
    /// A pending ownership transfer: (from, to) sessions.
    pub ownership: Option<(u64, u64)>,
    /// Usernames of every agent who held or joined it (transcript access).
    pub handlers: Vec<Arc<str>>,
    pub follow_up: Option<Box<FollowUp>>,
}

/// Cap on stored transcript lines and undelivered customer messages per engagement.
pub const MAX_LINES: usize = 1000;

impl Engagement {
    pub fn record(&mut self, msg: &Msg) {
        if self.transcript.len() < MAX_LINES {
            self.transcript.push(msg.clone());
        }
    }

    pub fn tell_customer(&mut self, msg: Msg) {
        if self.synthetic {
            return;
        }
        if self.customer_queue.len() >= MAX_LINES {
            self.customer_queue.pop_front();
        }
        self.customer_queue.push_back(msg);
    }
}

/// Routing state of one agent group.
#[derive(Debug, Default)]
pub struct Group {
    pub free: BTreeSet<FreeKey>,
    pub queue: VecDeque<u64>,
    /// Live figures of the group's sessions (summaryData), kept up to date by `refresh`.
    pub stats: GroupStats,
}

/// What one session adds to its group's figures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub cap: u16,
    pub load: u16,
    pub available: bool,
}

/// Sums of [`Share`]s over a group's sessions.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    pub agents: u64,
    pub available: u64,
    pub slots: u64,
    pub busy: u64,
    /// Free slots of available agents.
    pub free: u64,
}

impl GroupStats {
    /// Adds (`add`) or removes one session's share.
    pub fn apply(&mut self, s: Share, add: bool) {
        let free = if s.available {
            u64::from(s.cap.saturating_sub(s.load))
        } else {
            0
        };
        let parts = [
            (&mut self.agents, 1),
            (&mut self.available, u64::from(s.available)),
            (&mut self.slots, u64::from(s.cap)),
            (&mut self.busy, u64::from(s.load)),
            (&mut self.free, free),
        ];
        for (field, x) in parts {
            *field = if add {
                field.saturating_add(x)
            } else {
                field.saturating_sub(x)
            };
        }
    }
}

/// Timing rules copied from the config.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub accept_window: Duration,
    pub keepalive_window: Duration,
    pub keepalive_ends: super::config::KeepaliveEnds,
    pub closed_retention: Duration,
}

/// Engagement settings shown with an offer (`settings` in GET messages).
#[derive(Debug, Clone)]
pub struct SiteInfo {
    pub business_unit: String,
    /// The seed's names by agent group id: `(unit id, unit name, group name)`, the same names
    /// `agentGroups` and `settings` give; a group outside the seed is in `business_unit` and
    /// named by its id.
    pub names: HashMap<String, (String, String, String)>,
}

impl SiteInfo {
    /// The default unit and the seed's names.
    pub fn new(business_unit: &str, seed: &super::seed::Seed) -> Self {
        let names = seed
            .groups()
            .map(|(u, g)| (g.id.clone(), (u.id.clone(), u.name.clone(), g.name.clone())))
            .collect();
        SiteInfo {
            business_unit: business_unit.to_string(),
            names,
        }
    }

    /// `(unit id, unit name, group name)` of an agent group.
    pub fn names_of(&self, group: &str) -> (String, String, String) {
        self.names.get(group).cloned().unwrap_or_else(|| {
            (
                self.business_unit.clone(),
                self.business_unit.clone(),
                group.to_string(),
            )
        })
    }
}

/// Everything mutable, behind one lock.
#[derive(Debug)]
pub struct Core {
    pub sessions: HashMap<u64, Session>,
    pub by_user: HashMap<Arc<str>, u64>,
    pub engagements: HashMap<u64, Engagement>,
    pub groups: HashMap<Arc<str>, Group>,
    pub timing: Timing,
    pub site: SiteInfo,
    pub next_sess: u64,
    pub next_eng: u64,
    pub next_customer: u64,
    pub seq: u64,
    /// What agents changed about themselves (password, custom settings, custom script);
    /// an entry exists only for agents who changed something.
    pub profiles: HashMap<Arc<str>, Profile>,
    /// The last log lines posted by logging/agent (at most [`MAX_LINES`]).
    pub agent_log: VecDeque<Value>,
}

impl Core {
    /// Something an agent changed about itself (see [`Profile`]), if it did.
    pub fn changed<T>(&self, agent: &str, field: impl FnOnce(&Profile) -> Option<T>) -> Option<T> {
        self.profiles.get(agent).and_then(field)
    }
}

/// Per-agent changes that outlive sessions.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    /// Set by changePassword; replaces the directory's password.
    pub password: Option<String>,
    /// customSettings, merged field by field.
    pub custom_settings: Map<String, Value>,
    /// customScript POST (the `customScripts` object, normalised).
    pub custom_script: Option<Value>,
}

/// Engagement ids start here so they look like the service's long numeric ids.
pub const FIRST_ENGAGEMENT: u64 = 1_000_000_001;

impl Core {
    pub fn new(timing: Timing, site: SiteInfo) -> Self {
        Core {
            sessions: HashMap::new(),
            by_user: HashMap::new(),
            engagements: HashMap::new(),
            groups: HashMap::new(),
            timing,
            site,
            next_sess: 1,
            next_eng: FIRST_ENGAGEMENT,
            next_customer: 5_000_000_001,
            seq: 0,
            profiles: HashMap::new(),
            agent_log: VecDeque::new(),
        }
    }

    /// Resolves a `registeredId` (`<sid>-<tag>`) to a live session id.
    pub fn session_by_registered(&self, registered: &str) -> Option<u64> {
        let (sid, tag) = registered.split_once('-')?;
        let sid: u64 = sid.parse().ok()?;
        let tag = u32::from_str_radix(tag, 16).ok()?;
        let now = Instant::now();
        self.sessions
            .get(&sid)
            .filter(|s| s.tag == tag && tag_width_ok(registered))
            .filter(|s| !self.silent(s, now))
            .map(|_| sid)
    }

    /// Whether a session has outlived the keep-alive window and ends with it (the reaper removes
    /// it on its next pass; until then it already counts as gone). With `keepalive_ends:
    /// engagements` a session never ends this way.
    pub fn silent(&self, s: &Session, now: Instant) -> bool {
        self.timing.keepalive_ends == KeepaliveEnds::Session && self.missed_keepalive(s, now)
    }

    /// Whether a session has gone `keepalive_window` without a GET messages in flight or answered.
    pub fn missed_keepalive(&self, s: &Session, now: Instant) -> bool {
        s.polling == 0 && now.duration_since(s.last_seen) >= self.timing.keepalive_window
    }

    pub fn group_mut(&mut self, name: &Arc<str>) -> &mut Group {
        self.groups.entry(name.clone()).or_default()
    }

    /// Queues a message for an agent and wakes its long-polls.
    pub fn push_agent(&mut self, sid: u64, eng: u64, msg: Msg) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.queue.push_back((eng, msg));
            s.notify.notify_waiters();
        }
    }

    /// Takes every pending message of a session, grouped by engagement as EngagementMessagesResponse.
    pub fn drain(&mut self, sid: u64) -> Option<Value> {
        let s = self.sessions.get_mut(&sid)?;
        if s.queue.is_empty() {
            return None;
        }
        let events: Vec<(u64, Msg)> = s.queue.drain(..).collect();
        let mut order: Vec<u64> = Vec::new();
        let mut per: HashMap<u64, Vec<Value>> = HashMap::new();
        let mut top: Vec<Value> = Vec::new();
        let mut offered: Vec<u64> = Vec::new();
        for (eng, msg) in &events {
            if *eng == 0 {
                top.push(msg.agent_json());
                continue;
            }
            if msg.kind == MsgKind::NewRequest {
                offered.push(*eng);
            }
            let mut j = msg.agent_json();
            if msg.kind == MsgKind::NewRequest && msg.state.is_some() {
                self.describe_handoff(*eng, msg.state, &mut j);
            }
            per.entry(*eng)
                .or_insert_with(|| {
                    order.push(*eng);
                    Vec::new()
                })
                .push(j);
        }
        let engagements: Vec<Value> = order
            .into_iter()
            .map(|eng| {
                let mut e = json!({
                    "id": eng.to_string(),
                    "messages": per.remove(&eng).unwrap_or_default(),
                });
                if offered.contains(&eng)
                    && let (Some(obj), Some(settings)) = (e.as_object_mut(), self.settings(eng))
                {
                    obj.insert("settings".into(), settings);
                }
                e
            })
            .collect();
        Some(json!({ "engagements": engagements, "messages": top }))
    }

    /// Adds what a transfer or conference request carries: the transcript so far (the
    /// reference's `transcript` element), and for a conference its mode.
    fn describe_handoff(&self, eng: u64, request: Option<&str>, j: &mut Value) {
        let (Some(e), Some(obj)) = (self.engagements.get(&eng), j.as_object_mut()) else {
            return;
        };
        let lines: Vec<Value> = e.transcript.iter().map(transcript_line).collect();
        obj.insert("transcript".into(), Value::Array(lines));
        if request == Some("conference") {
            obj.insert("conferenceMode".into(), "screen".into());
            obj.insert("isTransferOwnership".into(), "false".into());
        }
        if let Some(h) = &e.handoff
            && let Some(n) = &h.notes
        {
            obj.insert("messageText".into(), Value::String(n.to_string()));
        }
    }

    /// The whole transcript of every engagement the session holds, plus anything else pending.
    pub fn entire_transcript(&mut self, sid: u64) -> Option<Value> {
        let chats = self.sessions.get(&sid)?.chats.clone();
        let pending = self.drain(sid);
        let mut engagements: Vec<Value> = Vec::new();
        for eng in &chats {
            if let Some(e) = self.engagements.get(eng) {
                engagements.push(json!({
                    "id": eng.to_string(),
                    "messages": e.transcript.iter().map(Msg::agent_json).collect::<Vec<_>>(),
                    "settings": self.settings(*eng).unwrap_or(Value::Null),
                }));
            }
        }
        let mut top = Vec::new();
        if let Some(p) = pending {
            if let Some(list) = p.get("engagements").and_then(Value::as_array) {
                for e in list {
                    let id = e.get("id").and_then(Value::as_str).unwrap_or("");
                    let held = chats.iter().any(|c| c.to_string() == id);
                    if !held {
                        engagements.push(e.clone());
                    }
                }
            }
            if let Some(list) = p.get("messages").and_then(Value::as_array) {
                top.extend(list.iter().cloned());
            }
        }
        Some(json!({ "engagements": engagements, "messages": top }))
    }

    /// The engagement-specific settings block (names from the reference's XML example).
    pub fn settings(&self, eng: u64) -> Option<Value> {
        let e = self.engagements.get(&eng)?;
        let (unit, unit_name, group_name) = self.site.names_of(&e.group);
        Some(json!({
            "agentGroupId": &*e.group,
            "agentGroupName": group_name,
            "businessUnitId": unit,
            "businessUnitName": unit_name,
            "siteId": &*e.site,
            "chatTitle": format!("Chat {eng}"),
            "clientId": e.customer_id.to_string(),
            "deviceType": "desktop",
            "dispositions": true,
            "multipleDispositions": false,
            "language": "en-US",
            "launchType": "proactive",
            "persistent": false,
            "scriptTreeId": "1",
        }))
    }

    /// Number of live sessions.
    pub fn live(&self) -> usize {
        self.sessions.len()
    }
}

/// One transcript line as the reference's `transcript` element.
pub fn transcript_line(m: &Msg) -> Value {
    let (sender, kind) = match m.from {
        Member::Agent => (m.sender.as_deref().unwrap_or("agent"), "agent"),
        Member::Customer => (m.sender.as_deref().unwrap_or("customer"), "customer"),
        Member::System => ("system", "system"),
    };
    let text = match (&m.text, m.state) {
        (Some(t), _) => t.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => String::new(),
    };
    json!({
        "senderId": sender,
        "senderName": sender,
        "text": text,
        "timestamp": m.at_ms.to_string(),
        "type": kind,
    })
}

/// A registeredId's tag is always written with 8 hex digits.
fn tag_width_ok(registered: &str) -> bool {
    registered
        .rsplit_once('-')
        .is_some_and(|(_, t)| t.len() == 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_stays_small() {
        // 15,000 idle sessions: every byte here costs 15 KB; grow it knowingly.
        assert!(std::mem::size_of::<Session>() <= 200);
    }

    #[test]
    fn agent_json_of_a_chat_line_names_the_receiver_type() {
        let m = Msg::line(Member::Customer, "hi".into(), Some("5".into()), 7);
        assert_eq!(
            m.agent_json(),
            json!({"messageType":"chatLine","messageText":"hi","chatLineReceiverType":"external",
                   "member":"customer","userId":"5","timestamp":7})
        );
        assert_eq!(
            Msg::state(Member::Agent, "agentIsTyping", 1).customer_json(),
            json!({"messageType":"stateChange","state":"agentIsTyping"})
        );
    }
}
