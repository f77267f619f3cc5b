//! What the recorded agents did and how fast: the raw material of a persona.
//!
//! From the calls in recorded order: an offer is *seen* when the `messages.get` answer that
//! carries its `newRequest` ends; *think* is from then to the start of the accept or deny of
//! that engagement; after an accept, *reply* is from the accept's end (or the previous line's)
//! to the start of the next typing notice (or line, when the desktop sends none), and *typing*
//! from the end of a typing notice to the start of its line; *lines* are the agent's chat
//! lines per accepted engagement; *max chats* the most engagements one agent held at once.
//! Calls outside the chat flow made at least three times by one agent are *periodic*, at the
//! median gap between them. `messages.get` answers with 204 measure the long-poll hold.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::calls::Call;
use crate::aeapi::ops;

/// Durations measured at one point of the flow, with the entries they came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub ms: Vec<f64>,
    /// The entry whose start (or end) closed each sample.
    pub entries: Vec<usize>,
}

impl Samples {
    fn push(&mut self, ms: f64, entry: usize) {
        if ms.is_finite() && ms >= 0.0 {
            self.ms.push(ms);
            self.entries.push(entry);
        }
    }

    pub fn len(&self) -> usize {
        self.ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ms.is_empty()
    }

    pub fn min(&self) -> f64 {
        self.ms.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.ms.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    pub fn median(&self) -> f64 {
        median(&self.ms)
    }
}

/// A call made at a steady interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Periodic {
    pub op: &'static str,
    pub interval_ms: f64,
    /// Gaps measured (over every agent).
    pub gaps: usize,
    pub first_entry: usize,
    pub last_entry: usize,
}

/// Everything the personas are built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Behaviour {
    pub think: Samples,
    pub reply: Samples,
    pub typing: Samples,
    /// Agent lines per accepted engagement, with the accept's entry.
    pub lines: Vec<(u32, usize)>,
    pub accepts: Vec<usize>,
    pub denies: Vec<usize>,
    /// transferEngagement, conferenceEngagement, escalateEngagement: entries.
    pub handovers: BTreeMap<&'static str, Vec<usize>>,
    pub max_chats: u32,
    pub periodic: Vec<Periodic>,
    /// Calls outside the flow seen too few times to be periodic: (op, count).
    pub occasional: Vec<(&'static str, usize)>,
    /// `messages.get` answers with 204: their time.
    pub hold: Samples,
    /// Offers seen (distinct engagements with a `newRequest`).
    pub offers: usize,
    /// First start to last end of the AEAPI calls, ms.
    pub span_ms: f64,
}

/// Operations of the chat flow the runner makes by itself (never periodic).
const FLOW: &[&str] = &[
    "token",
    "preLoginStatus",
    "login",
    "agentStatus",
    "messages.get",
    "messages.post",
    "acceptEngagement",
    "denyEngagement",
    "closeEngagement",
    "transferEngagement",
    "conferenceEngagement",
    "escalateEngagement",
    "dispositions",
];

const HANDOVERS: &[&str] = &[
    "transferEngagement",
    "conferenceEngagement",
    "escalateEngagement",
];

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Who made a call: the registeredId, else the agent or user name, else "".
fn agent_of(c: &Call) -> String {
    c.param("registeredId")
        .or_else(|| c.param("agentId"))
        .or_else(|| c.param("username"))
        .unwrap_or_default()
}

fn is_customer(c: &Call) -> bool {
    ops::CUSTOMER_OPERATIONS
        .iter()
        .any(|o| std::ptr::eq(o, c.op))
}

/// Per accepted engagement: where its agent stands.
struct Chat {
    agent: String,
    anchor_ms: f64,
    typing: Option<(f64, f64)>,
    lines: u32,
    accept_entry: usize,
}

/// Measures `calls` (in recorded order).
pub fn measure(calls: &[Call]) -> Behaviour {
    let mut w = Walk::default();
    if let (Some(first), Some(last)) = (
        calls.iter().map(|c| c.started_ms).reduce(f64::min),
        calls.iter().map(|c| c.ended_ms).reduce(f64::max),
    ) {
        w.b.span_ms = last - first;
    }
    let mut order: Vec<&Call> = calls.iter().collect();
    order.sort_by(|a, b| a.started_ms.total_cmp(&b.started_ms));
    for c in order {
        w.step(c);
    }
    let Walk {
        mut b,
        seen,
        chats,
        chat_order,
        periodic,
        ..
    } = w;
    b.offers = seen.len();
    b.lines = chat_order
        .iter()
        .filter_map(|id| chats.get(id))
        .map(|c| (c.lines, c.accept_entry))
        .collect();
    b.periodic_from(periodic);
    b
}

/// The state of one pass over the calls in start order.
#[derive(Default)]
struct Walk {
    b: Behaviour,
    /// Offered engagement → when the offer arrived.
    seen: HashMap<String, f64>,
    chats: HashMap<String, Chat>,
    chat_order: Vec<String>,
    /// Agent → engagements held now.
    held: HashMap<String, u32>,
    periodic: BTreeMap<(&'static str, String), Vec<(f64, usize)>>,
}

impl Walk {
    fn step(&mut self, c: &Call) {
        let name = c.op.name;
        let eng = c.param("engagementId");
        match name {
            "messages.get" if c.status == 204 => self.b.hold.push(c.time_ms, c.entry),
            "messages.get" => {
                for id in offered(c.response.as_ref()) {
                    self.seen.entry(id).or_insert(c.ended_ms);
                }
            }
            "acceptEngagement" | "denyEngagement" => {
                if let Some(id) = eng {
                    self.answer(c, id);
                }
            }
            "messages.post" => {
                if let Some(chat) = eng.and_then(|id| self.chats.get_mut(&id)) {
                    post(&mut self.b, chat, c);
                }
            }
            "closeEngagement" | "transferEngagement" => {
                if HANDOVERS.contains(&name) {
                    self.handover(c);
                }
                if let Some(chat) = eng.and_then(|id| self.chats.get(&id))
                    && let Some(n) = self.held.get_mut(&chat.agent)
                {
                    *n = n.saturating_sub(1);
                }
            }
            _ if HANDOVERS.contains(&name) => self.handover(c),
            _ if !FLOW.contains(&name) && !is_customer(c) => {
                self.periodic
                    .entry((name, agent_of(c)))
                    .or_default()
                    .push((c.started_ms, c.entry));
            }
            _ => {}
        }
    }

    /// An accept or deny of engagement `id`.
    fn answer(&mut self, c: &Call, id: String) {
        let b = &mut self.b;
        if let Some(at) = self.seen.get(&id) {
            b.think.push(c.started_ms - at, c.entry);
        }
        if c.op.name == "denyEngagement" {
            b.denies.push(c.entry);
        } else if c.ok() {
            b.accepts.push(c.entry);
            let agent = agent_of(c);
            let n = self.held.entry(agent.clone()).or_default();
            *n += 1;
            b.max_chats = b.max_chats.max(*n);
            if !self.chats.contains_key(&id) {
                self.chat_order.push(id.clone());
            }
            self.chats.insert(
                id,
                Chat {
                    agent,
                    anchor_ms: c.ended_ms,
                    typing: None,
                    lines: 0,
                    accept_entry: c.entry,
                },
            );
        }
    }

    fn handover(&mut self, c: &Call) {
        self.b
            .handovers
            .entry(handover_name(c.op.name))
            .or_default()
            .push(c.entry);
    }
}

/// A message the agent posted into `chat`: a line or a typing notice.
fn post(b: &mut Behaviour, chat: &mut Chat, c: &Call) {
    match c.body_field("messageType").as_deref() {
        Some("chatLine") => {
            match chat.typing.take() {
                Some((start, end)) => {
                    b.reply.push(start - chat.anchor_ms, c.entry);
                    b.typing.push(c.started_ms - end, c.entry);
                }
                None => b.reply.push(c.started_ms - chat.anchor_ms, c.entry),
            }
            chat.lines += 1;
            chat.anchor_ms = c.ended_ms;
        }
        Some("stateChange") if c.body_field("state").as_deref() == Some("agentIsTyping") => {
            chat.typing = Some((c.started_ms, c.ended_ms));
        }
        _ => {}
    }
}

fn handover_name(name: &str) -> &'static str {
    HANDOVERS
        .iter()
        .copied()
        .find(|h| *h == name)
        .unwrap_or("transferEngagement")
}

impl Behaviour {
    fn periodic_from(&mut self, by_agent: BTreeMap<(&'static str, String), Vec<(f64, usize)>>) {
        let mut by_op: BTreeMap<&'static str, (Vec<f64>, usize, usize, usize)> = BTreeMap::new();
        for ((op, _), times) in by_agent {
            let slot = by_op.entry(op).or_insert((Vec::new(), 0, usize::MAX, 0));
            slot.1 += times.len();
            for (i, (t, entry)) in times.iter().enumerate() {
                slot.2 = slot.2.min(*entry);
                slot.3 = slot.3.max(*entry);
                if i > 0 && times.len() >= 3 {
                    slot.0.push(t - times[i - 1].0);
                }
            }
        }
        for (op, (gaps, count, first, last)) in by_op {
            if gaps.is_empty() {
                self.occasional.push((op, count));
            } else {
                self.periodic.push(Periodic {
                    op,
                    interval_ms: median(&gaps),
                    gaps: gaps.len(),
                    first_entry: first,
                    last_entry: last,
                });
            }
        }
    }
}

/// Engagement ids with a `newRequest` in a `messages.get` body.
fn offered(body: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    let engagements = match body.and_then(|b| b.get("engagements")) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    for e in engagements {
        let Some(id) = e.get("id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }) else {
            continue;
        };
        let messages = match e.get("messages") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => Vec::new(),
        };
        if messages
            .iter()
            .any(|m| m.get("messageType").and_then(Value::as_str) == Some("newRequest"))
        {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
