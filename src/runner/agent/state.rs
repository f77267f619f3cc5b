//! The agent's state machine: its engagements in hand, what each poll answer changes, and the
//! action each engagement's stage calls for when it falls due (accept or deny after the
//! persona's think time, type, send lines, hand over, close with a disposition).

use std::time::Instant;

use rand::Rng;
use serde_json::{Value, json};

use super::Agent;
use crate::aeapi::client::Observed;
use crate::check::behaviour;
use crate::metrics::{Direction, EngagementEnd, Exchange};
use crate::runner::ctx::Live;

/// A logged-in session: what the agent API calls carry.
pub(super) struct Session {
    pub(super) registered_id: String,
    /// The agent id the API returned (`userId`), sent as `agentId` in bodies.
    pub(super) agent_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
/// Where an engagement in hand stands.
pub(super) enum Stage {
    /// Offered; decide (accept or deny) at `due`.
    Offered { accept: bool },
    /// Accepted: the next line (or typing state) is due at `due`.
    Talking { typing_sent: bool },
    /// Close (with disposition) at `due`.
    Closing,
}

/// An engagement in hand, with its next action due at `due`.
pub(super) struct Engagement {
    pub(super) id: String,
    pub(super) seen_at: Instant,
    pub(super) stage: Stage,
    pub(super) due: Instant,
    pub(super) lines_left: u32,
    pub(super) customer_closed: bool,
    /// The engagement's script tree (from its settings), for `dispositions`.
    pub(super) script_tree: String,
}

impl Agent {
    /// Handles the long-poll's answer: records its hold, judges it, and takes in the offers,
    /// lines and closes it carries.
    pub(super) async fn on_poll(&mut self, mut obs: Observed) {
        let hold = obs.latency;
        if obs.status.is_some() {
            self.ctx.recorder.record_poll_hold(&self.persona.name, hold);
        }
        // A long-poll's hold is not latency: judge status and schema, not the budget.
        let failed = self.judge_and_record(&mut obs, false);
        self.pace_poll(&obs, failed);
        if obs.token_expired() {
            self.expired_by_target(obs.op, &obs);
            self.refresh_token_after_expiry().await;
            return;
        }
        match obs.status {
            Some(200) => {}
            Some(204) => return,
            Some(401) => {
                self.lose_session();
                return;
            }
            _ => {
                self.back_off();
                return;
            }
        }
        let Some(body) = obs.body.take() else { return };
        let now = Instant::now();
        let engagements = body.get("engagements").map(as_list).unwrap_or_default();
        for eng in engagements {
            let Some(id) = eng.get("id").and_then(Value::as_str) else {
                continue;
            };
            let messages = eng.get("messages").map(as_list).unwrap_or_default();
            let tree = eng
                .pointer("/settings/scriptTreeId")
                .and_then(Value::as_str)
                .unwrap_or("");
            for m in messages {
                self.on_message(id, tree, m, now);
            }
        }
    }

    pub(super) fn on_message(&mut self, id: &str, tree: &str, m: &Value, now: Instant) {
        let kind = m.get("messageType").and_then(Value::as_str).unwrap_or("");
        let state = m.get("state").and_then(Value::as_str).unwrap_or("");
        let known = self.engagements.iter().position(|e| e.id == id);
        match (kind, known) {
            ("newRequest", None) => {
                self.ctx.recorder.count_offer();
                let slots = self.persona.max_chats as usize;
                let busy = self
                    .engagements
                    .iter()
                    .filter(|e| !matches!(e.stage, Stage::Offered { accept: false }))
                    .count();
                let accept = busy < slots && !self.rng.random_bool(self.persona.deny);
                let think = self.persona.think.sample(&mut self.rng);
                let lines = self.persona.messages.sample(&mut self.rng);
                self.engagements.push(Engagement {
                    id: id.to_string(),
                    seen_at: now,
                    stage: Stage::Offered { accept },
                    due: now + think,
                    lines_left: lines,
                    customer_closed: false,
                    script_tree: tree.to_string(),
                });
            }
            ("chatLine", Some(i)) => {
                if let Some(text) = m.get("messageText").and_then(Value::as_str)
                    && let Some((dir, took)) = self.ctx.deliveries.seen(text, now)
                {
                    self.ctx.recorder.record_delivery(dir, took);
                }
                let reply = self.persona.reply.sample(&mut self.rng);
                let e = &mut self.engagements[i];
                if let Stage::Talking { typing_sent: false } = e.stage
                    && e.lines_left > 0
                {
                    e.due = e.due.min(now + reply);
                }
            }
            ("stateChange", Some(i))
                if state == "customerClosedEngagement" || state == "customerLostConnection" =>
            {
                let think = self.persona.think.sample(&mut self.rng);
                let e = &mut self.engagements[i];
                e.customer_closed = true;
                if !matches!(e.stage, Stage::Offered { .. }) {
                    e.stage = Stage::Closing;
                    e.due = now + think;
                }
            }
            ("error", Some(i)) => {
                // "orig.acknowledge.absent": the chat is gone on the server; close locally.
                self.engagements.remove(i);
            }
            _ => {}
        }
    }

    /// Performs engagement `i`'s due action; false when the engagement is done.
    pub(super) async fn act(&mut self, i: usize) -> bool {
        match self.engagements[i].stage {
            Stage::Offered { accept: false } => self.deny(i).await,
            Stage::Offered { accept: true } => self.accept(i).await,
            Stage::Talking { typing_sent: false } => self.start_typing(i).await,
            Stage::Talking { typing_sent: true } => self.send_line(i).await,
            Stage::Closing => {
                self.close(i).await;
                false
            }
        }
    }

    /// `{"agentId": …, "engagementId": …}` for engagement `i`, the opening of every body.
    fn engagement_body(&self, i: usize) -> Value {
        json!({"agentId": self.agent_id(), "engagementId": self.engagements[i].id})
    }

    async fn deny(&mut self, i: usize) -> bool {
        let body = self.engagement_body(i);
        let obs = self
            .call(self.agent_call("denyEngagement").body(body))
            .await;
        if obs.status == Some(200) {
            self.ctx.recorder.count_engagement(EngagementEnd::Denied);
        }
        false
    }

    /// Accepts the offer, judged against the accept window; false when it was not taken.
    async fn accept(&mut self, i: usize) -> bool {
        let seen_at = self.engagements[i].seen_at;
        let body = self.engagement_body(i);
        let think = self.persona.think.mean();
        let call = self.agent_call("acceptEngagement").body(body);
        let obs = self.call(call.expect_every(think)).await;
        let verdict = self.ctx.windows.accept(obs.status, obs.started - seen_at);
        self.behaviour(
            behaviour::ACCEPTED_WITHIN_WINDOW,
            "acceptEngagement",
            verdict,
            |detail| Exchange {
                request_line: obs.request_line(),
                status: obs.status,
                detail,
                response_excerpt: obs.excerpt(),
            },
        );
        if obs.status == Some(422) {
            self.ctx.recorder.count_engagement(EngagementEnd::Missed);
        }
        if obs.status != Some(200) {
            return false;
        }
        self.ctx.recorder.count_engagement(EngagementEnd::Accepted);
        Live::add(&self.ctx.live.engagements, 1);
        let reply = self.persona.reply.sample(&mut self.rng);
        let e = &mut self.engagements[i];
        e.stage = if e.customer_closed {
            Stage::Closing
        } else {
            Stage::Talking { typing_sent: false }
        };
        e.due = Instant::now() + reply;
        true
    }

    async fn start_typing(&mut self, i: usize) -> bool {
        let mut body = self.engagement_body(i);
        body["messageType"] = json!("stateChange");
        body["state"] = json!("agentIsTyping");
        let _ = self.call(self.agent_call("messages.post").body(body)).await;
        let typing = self.persona.typing.sample(&mut self.rng);
        let e = &mut self.engagements[i];
        e.stage = Stage::Talking { typing_sent: true };
        e.due = Instant::now() + typing;
        true
    }

    /// Sends the next line; after the last one, hands over, or closes after the persona's linger.
    async fn send_line(&mut self, i: usize) -> bool {
        let n = self.engagements[i].lines_left;
        let text = self.ctx.deliveries.tag(
            Direction::AgentToCustomer,
            &format!("Agent line {n}: how can I help further?"),
        );
        let mut body = self.engagement_body(i);
        body["messageType"] = json!("chatLine");
        body["chatLineReceiverType"] = json!("external");
        body["messageText"] = json!(text);
        let every = self.persona.reply.mean();
        let call = self.agent_call("messages.post").body(body);
        let obs = self.call(call.expect_every(every)).await;
        if obs.status == Some(401) {
            return false;
        }
        let reply = self.persona.reply.sample(&mut self.rng);
        let linger = self.persona.linger;
        let after = self.after_lines_action();
        let e = &mut self.engagements[i];
        e.lines_left = e.lines_left.saturating_sub(1);
        e.due = Instant::now() + reply;
        if e.lines_left == 0 || e.customer_closed {
            if let Some(op) = after {
                return self.hand_over(i, op).await;
            }
            // Said all it had to say: give the customer time to answer or close.
            let e = &mut self.engagements[i];
            e.stage = Stage::Closing;
            if !e.customer_closed {
                e.due = Instant::now() + linger;
            }
        } else {
            e.stage = Stage::Talking { typing_sent: false };
        }
        true
    }

    /// After the last line: maybe transfer, conference or escalate instead of closing.
    fn after_lines_action(&mut self) -> Option<&'static str> {
        let p = &self.persona;
        let (t, c, e) = (p.transfer, p.conference, p.escalate);
        let roll: f64 = self.rng.random();
        if roll < t {
            Some("transferEngagement")
        } else if roll < t + c {
            Some("conferenceEngagement")
        } else if roll < t + c + e {
            Some("escalateEngagement")
        } else {
            None
        }
    }

    async fn hand_over(&mut self, i: usize, op: &'static str) -> bool {
        let id = self.engagements[i].id.clone();
        let body = json!({"agentId": self.agent_id(), "engagementId": id,
            "agentNotes": "handed over by aeapi-harness"});
        let obs = self.call(self.agent_call(op).body(body)).await;
        if obs.status == Some(200) && op == "transferEngagement" {
            self.ctx
                .recorder
                .count_engagement(EngagementEnd::Transferred);
            return false;
        }
        let think = self.persona.think.sample(&mut self.rng);
        let e = &mut self.engagements[i];
        e.stage = Stage::Closing;
        e.due = Instant::now() + think;
        true
    }

    async fn close(&mut self, i: usize) {
        let id = self.engagements[i].id.clone();
        let tree = self.engagements[i].script_tree.clone();
        let disposition = self.pick_disposition(&tree).await;
        let mut body = json!({"agentId": self.agent_id(), "engagementId": id});
        if let Some(d) = disposition {
            body["dispositions"] = d;
        }
        let obs = self
            .call(self.agent_call("closeEngagement").body(body))
            .await;
        if obs.status == Some(200) {
            self.ctx.recorder.count_engagement(EngagementEnd::Closed);
        }
    }

    /// Fetches the site's dispositions once per session and script tree, and picks a category
    /// and reason per the persona, in the shape `closeEngagement` takes
    /// (`{"categoryReasons": [{"category": .., "reasons": [..]}]}`).
    async fn pick_disposition(&mut self, tree: &str) -> Option<Value> {
        if tree.is_empty() {
            return None;
        }
        if !self.dispositions.iter().any(|(t, _)| t == tree) {
            let call = self
                .agent_call("dispositions")
                .query("username", self.cred.username.clone())
                .query("siteId", self.ctx.site_id.clone())
                .query("scriptTreeId", tree.to_string());
            let obs = self.call(call).await;
            self.dispositions
                .push((tree.to_string(), obs.body.unwrap_or(Value::Null)));
        }
        let doc = &self.dispositions.iter().find(|(t, _)| t == tree)?.1;
        let wanted = self.persona.disposition.pick(&mut self.rng);
        // An id matches exactly; a name matches case-insensitively anywhere in the label.
        let named = |v: &Value, name: &str| {
            let wanted = name.to_lowercase();
            ["id", "value"]
                .iter()
                .any(|k| v.get(*k).and_then(Value::as_str) == Some(name))
                || ["name", "label"].iter().any(|k| {
                    v.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|l| l.to_lowercase().contains(&wanted))
                })
        };
        let mut choices: Vec<(Value, Value)> = Vec::new();
        for cr in doc.get("categoryReasons").map(as_list).unwrap_or_default() {
            let Some(category) = cr.get("category") else {
                continue;
            };
            for reason in cr.get("reasons").map(as_list).unwrap_or_default() {
                let keep = match &wanted {
                    None => true,
                    Some(n) => named(reason, n) || named(category, n),
                };
                if keep {
                    choices.push((category.clone(), reason.clone()));
                }
            }
        }
        if choices.is_empty() {
            return None;
        }
        let (category, reason) = choices.swap_remove(self.rng.random_range(0..choices.len()));
        Some(json!({"categoryReasons": [{"category": category, "reasons": [reason]}]}))
    }
}

/// A JSON value as a list: arrays as they are, a lone object (XML-mapped) as a list of one.
fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}
