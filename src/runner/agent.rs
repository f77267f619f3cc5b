//! One simulated agent: its session, the engagements in hand, and its next actions.
//!
//! An agent keeps one long-poll `GET messages` in flight on its own task (as a real desktop does)
//! while `tick` performs whatever is due: log in, accept or deny offers after the persona's think
//! time, type and send lines, close with a disposition, make periodic calls. A tick is bounded
//! (at most `MAX_TICK` of waiting plus the due calls), so goose can stop a run promptly. Every call
//! goes through `call`, which attaches a fresh token (refreshing once on "Access Token Expired"),
//! judges the response against the contracts and records latency and check outcomes.
//!
//! The agent does not know about goose: `tick` returns the calls it made, and the goose glue in
//! `runner::scenario` reports them to goose's metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::credential::Credential;
use super::ctx::{Ctx, Live, Tokens};
use super::persona::PersonaPlan;
use super::record;
use crate::aeapi::client::{Call, Observed, send};
use crate::aeapi::ops::{self, Operation};
use crate::aeapi::token::{Token, TokenStore};
use crate::metrics::{CheckOutcome, Direction, EngagementEnd, ErrorKind, Exchange, Sample};

/// Longest a tick waits for something to happen before returning to goose.
pub const MAX_TICK: Duration = Duration::from_secs(1);
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(8);

/// A call the agent made, for goose's metrics.
#[derive(Debug, Clone)]
pub struct Made {
    pub method: &'static str,
    pub name: &'static str,
    pub latency: Duration,
    pub status: Option<u16>,
    pub success: bool,
}

struct Session {
    registered_id: String,
    /// The agent id the API returned (`userId`), sent as `agentId` in bodies.
    agent_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// Offered; decide (accept or deny) at `due`.
    Offered { accept: bool },
    /// Accepted: the next line (or typing state) is due at `due`.
    Talking { typing_sent: bool },
    /// Close (with disposition) at `due`.
    Closing,
}

struct Engagement {
    id: String,
    seen_at: Instant,
    stage: Stage,
    due: Instant,
    lines_left: u32,
    customer_closed: bool,
    /// The engagement's script tree (from its settings), for `dispositions`.
    script_tree: String,
}

/// One agent of the fleet.
pub struct Agent {
    ctx: Arc<Ctx>,
    /// The client this agent sends with: the fleet's shared one, or its own (cookies).
    http: reqwest::Client,
    cred: Credential,
    persona: Arc<PersonaPlan>,
    /// Think times and choices: a small fast generator (32 bytes), seeded per agent.
    rng: SmallRng,
    own_tokens: Option<Arc<TokenStore>>,
    session: Option<Session>,
    engagements: Vec<Engagement>,
    poll: Option<JoinHandle<Observed>>,
    last_poll_sent: Option<Instant>,
    periodic_due: Vec<Instant>,
    /// `dispositions` answers, by script tree id (fetched once per session and tree).
    dispositions: Vec<(String, Value)>,
    backoff: Duration,
    backoff_until: Option<Instant>,
    made: Vec<Made>,
}

impl Agent {
    pub fn new(ctx: Arc<Ctx>, cred: Credential, persona: Arc<PersonaPlan>, seed: u64) -> Self {
        let own_tokens = match &ctx.tokens {
            Tokens::Shared(_) => None,
            Tokens::PerAgent(template) => {
                let mut req = template.clone();
                req.password_grant = Some((cred.username.clone(), cred.password.clone()));
                Some(Arc::new(TokenStore::new(req, ctx.http.clone())))
            }
        };
        let now = Instant::now();
        let periodic_due = persona
            .periodic
            .iter()
            .map(|(_, every)| now + *every)
            .collect();
        let http = if ctx.per_agent_clients {
            reqwest::Client::builder()
                .cookie_store(true)
                .tcp_nodelay(true)
                .build()
                .unwrap_or_else(|_| ctx.http.clone())
        } else {
            ctx.http.clone()
        };
        Agent {
            http,
            ctx,
            cred,
            persona,
            rng: SmallRng::seed_from_u64(seed),
            own_tokens,
            session: None,
            engagements: Vec::new(),
            poll: None,
            last_poll_sent: None,
            periodic_due,
            dispositions: Vec::new(),
            backoff: BACKOFF_MIN,
            backoff_until: None,
            made: Vec::new(),
        }
    }

    pub fn username(&self) -> &str {
        &self.cred.username
    }

    /// Whether the agent is logged in.
    pub fn logged_in(&self) -> bool {
        self.session.is_some()
    }

    /// Engagements in hand (offered or accepted).
    pub fn engagements(&self) -> usize {
        self.engagements.len()
    }

    /// One bounded step of the agent's life. Returns the calls made, for goose.
    pub async fn tick(&mut self) -> Vec<Made> {
        if self.ctx.stop.is_cancelled() {
            return std::mem::take(&mut self.made);
        }
        if let Some(until) = self.backoff_until {
            let now = Instant::now();
            if until > now {
                self.sleep_until(until.min(now + MAX_TICK)).await;
                return std::mem::take(&mut self.made);
            }
            self.backoff_until = None;
        }
        if self.session.is_none() {
            if self.login().await {
                self.backoff = BACKOFF_MIN;
            } else {
                self.back_off();
            }
            return std::mem::take(&mut self.made);
        }
        if self.poll.is_none() {
            self.start_poll();
        }
        let now = Instant::now();
        let wake = self
            .next_due()
            .unwrap_or(now + MAX_TICK)
            .min(now + MAX_TICK);
        let polled = match self.poll.as_mut() {
            // Something is due already: take the poll's answer if it is in, without a timer.
            Some(handle) if wake <= now => handle.now_or_never(),
            Some(handle) => tokio::select! {
                r = handle => Some(r),
                _ = tokio::time::sleep_until(wake.into()) => None,
                _ = self.ctx.stop.cancelled() => None,
            },
            None => None,
        };
        if let Some(result) = polled {
            self.poll = None;
            match result {
                Ok(obs) => self.on_poll(obs).await,
                Err(_) => self.back_off(),
            }
        }
        if !self.ctx.stop.is_cancelled() && self.session.is_some() {
            self.run_due().await;
        }
        std::mem::take(&mut self.made)
    }

    /// Ends the agent's run: stops its poll and sets it busy (best effort, bounded).
    pub async fn finish(&mut self) -> Vec<Made> {
        if let Some(p) = self.poll.take() {
            p.abort();
        }
        if self.session.is_some() {
            let body = json!({"agentId": self.agent_id(), "state": "busy"});
            let call = self.agent_call("agentStatus").body(body);
            let _ = tokio::time::timeout(Duration::from_secs(2), self.call(call)).await;
            Live::sub(&self.ctx.live.agents, 1);
            self.session = None;
        }
        std::mem::take(&mut self.made)
    }

    fn back_off(&mut self) {
        let jitter = self.rng.random_range(0.5..1.5);
        self.backoff_until = Some(Instant::now() + self.backoff.mul_f64(jitter));
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    async fn sleep_until(&self, t: Instant) {
        tokio::select! {
            _ = tokio::time::sleep_until(t.into()) => {}
            _ = self.ctx.stop.cancelled() => {}
        }
    }

    fn agent_id(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.agent_id.clone())
            .unwrap_or_default()
    }

    fn registered_id(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.registered_id.clone())
            .unwrap_or_default()
    }

    fn next_due(&self) -> Option<Instant> {
        let e = self.engagements.iter().map(|e| e.due).min();
        let p = self.periodic_due.iter().copied().min();
        match (e, p) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A call on the agent API with `registeredId` in the query.
    fn agent_call(&self, op: &'static str) -> PendingCall {
        PendingCall::new(op).query("registeredId", self.registered_id())
    }

    // ---- log in ---------------------------------------------------------------------------

    async fn login(&mut self) -> bool {
        let pre = PendingCall::new("preLoginStatus")
            .query("username", self.cred.username.clone())
            .anonymous();
        let _ = self.call(pre).await;
        let body = json!({"username": self.cred.username, "password": self.cred.password});
        let obs = self.call(PendingCall::new("login").body(body)).await;
        if obs.status != Some(200) {
            return false;
        }
        let (Some(reg), Some(user)) = (obs.field("registeredId"), obs.field("userId")) else {
            return false;
        };
        self.session = Some(Session {
            registered_id: reg.to_string(),
            agent_id: user.to_string(),
        });
        Live::add(&self.ctx.live.agents, 1);
        let body = json!({"agentId": self.agent_id(), "state": "available"});
        let obs = self.call(self.agent_call("agentStatus").body(body)).await;
        obs.status == Some(200)
    }

    /// Forgets the session after the target said it is gone (401 that is not an expired token).
    fn lose_session(&mut self) {
        if self.session.take().is_some() {
            Live::sub(&self.ctx.live.agents, 1);
        }
        if let Some(p) = self.poll.take() {
            p.abort();
        }
        self.engagements.clear();
        self.dispositions.clear();
        self.last_poll_sent = None;
    }

    // ---- polling --------------------------------------------------------------------------

    fn start_poll(&mut self) {
        let now = Instant::now();
        if let Some(prev) = self.last_poll_sent {
            let gap = now - prev;
            let passed = gap <= self.ctx.windows.poll;
            let example = (!passed).then(|| Exchange {
                request_line: "GET /engagementAPI/v2/agent/messages".into(),
                status: None,
                detail: format!(
                    "{:.1} s between polls, window {:.0} s",
                    gap.as_secs_f64(),
                    self.ctx.windows.poll.as_secs_f64()
                ),
                response_excerpt: String::new(),
            });
            self.check("polled_within_window", "messages.get", passed, example);
        }
        self.last_poll_sent = Some(now);
        let ctx = self.ctx.clone();
        let username = self.cred.username.clone();
        let registered_id = self.registered_id();
        let tokens = self.own_tokens.clone();
        let timeout = ctx.poll_timeout;
        let http = self.http.clone();
        self.poll = Some(tokio::spawn(async move {
            let token = match &tokens {
                Some(store) => store.get().await.0.ok(),
                None => match &ctx.tokens {
                    Tokens::Shared(store) => store.get().await.0.ok(),
                    Tokens::PerAgent(_) => None,
                },
            };
            let Some(op) = ops::find("messages.get") else {
                unreachable_op()
            };
            let call = Call::new(op, token.as_deref())
                .query("registeredId", registered_id)
                .query("agentId", username)
                .query("instantResponse", "false")
                .timeout(timeout);
            send(&http, &ctx.endpoint, call).await
        }));
    }

    async fn on_poll(&mut self, mut obs: Observed) {
        let hold = obs.latency;
        if obs.status.is_some() {
            self.ctx.recorder.record_poll_hold(&self.persona.name, hold);
        }
        // A long-poll's hold is not latency: judge status and schema, not the budget.
        self.judge_and_record(&mut obs, false);
        if obs.token_expired() {
            let example = Exchange {
                request_line: obs.request_line(),
                status: obs.status,
                detail: "target answered Access Token Expired to a token the harness held as valid"
                    .into(),
                response_excerpt: obs.excerpt(),
            };
            self.check("token_fresh", obs.op, false, Some(example));
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

    fn on_message(&mut self, id: &str, tree: &str, m: &Value, now: Instant) {
        let kind = m.get("messageType").and_then(Value::as_str).unwrap_or("");
        let state = m.get("state").and_then(Value::as_str).unwrap_or("");
        let known = self.engagements.iter().position(|e| e.id == id);
        match (kind, known) {
            ("newRequest", None) => {
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

    // ---- due actions ----------------------------------------------------------------------

    async fn run_due(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.engagements.len() && self.session.is_some() {
            if self.engagements[i].due > now {
                i += 1;
                continue;
            }
            let keep = self.act(i).await;
            if keep {
                i += 1;
            } else if i < self.engagements.len() {
                self.engagements.remove(i);
            }
        }
        for p in 0..self.periodic_due.len() {
            if self.periodic_due[p] <= now && self.session.is_some() {
                let (op, every) = self.persona.periodic[p];
                self.periodic_due[p] = now + every;
                let call = self.periodic_call(op).expect_every(every);
                let obs = self.call(call).await;
                if op == "verifySession" && obs.status == Some(401) && !obs.token_expired() {
                    self.lose_session();
                }
            }
        }
    }

    /// A periodic call shaped as the reference documents its parameters.
    fn periodic_call(&self, op: &'static str) -> PendingCall {
        let username = self.cred.username.clone();
        match op {
            "preLoginStatus" => PendingCall::new(op).query("username", username).anonymous(),
            "verifySession" => self
                .agent_call(op)
                .body(json!({"agentId": self.agent_id()})),
            "settings" | "fullScriptTree" | "ninaCoachContentMetaInfo" => self.agent_call(op),
            "scriptTree" | "followUpConversations" | "dispositions" => {
                self.agent_call(op).query("username", username)
            }
            "agentGroups" => PendingCall::new(op),
            _ => self.agent_call(op).query("agentId", self.agent_id()),
        }
    }

    /// Performs engagement `i`'s due action; false when the engagement is done.
    async fn act(&mut self, i: usize) -> bool {
        let (id, stage, seen_at) = {
            let e = &self.engagements[i];
            (e.id.clone(), e.stage, e.seen_at)
        };
        let agent_id = self.agent_id();
        match stage {
            Stage::Offered { accept: false } => {
                let body = json!({"agentId": agent_id, "engagementId": id});
                let obs = self
                    .call(self.agent_call("denyEngagement").body(body))
                    .await;
                if obs.status == Some(200) {
                    self.ctx.recorder.count_engagement(EngagementEnd::Denied);
                }
                false
            }
            Stage::Offered { accept: true } => {
                let body = json!({"agentId": agent_id, "engagementId": id});
                let think = self.persona.think.mean();
                let call = self.agent_call("acceptEngagement").body(body);
                let obs = self.call(call.expect_every(think)).await;
                let waited = obs.started - seen_at;
                let in_window = obs.status == Some(200) && waited <= self.ctx.windows.accept;
                let example = (!in_window).then(|| Exchange {
                    request_line: obs.request_line(),
                    status: obs.status,
                    detail: format!(
                        "accept sent {:.1} s after the offer was seen (window {:.0} s)",
                        waited.as_secs_f64(),
                        self.ctx.windows.accept.as_secs_f64()
                    ),
                    response_excerpt: obs.excerpt(),
                });
                self.check(
                    "accepted_within_window",
                    "acceptEngagement",
                    in_window,
                    example,
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
            Stage::Talking { typing_sent: false } => {
                let body = json!({"agentId": agent_id, "engagementId": id,
                    "messageType": "stateChange", "state": "agentIsTyping"});
                let _ = self.call(self.agent_call("messages.post").body(body)).await;
                let typing = self.persona.typing.sample(&mut self.rng);
                let e = &mut self.engagements[i];
                e.stage = Stage::Talking { typing_sent: true };
                e.due = Instant::now() + typing;
                true
            }
            Stage::Talking { typing_sent: true } => {
                let n = self.engagements[i].lines_left;
                let text = self.ctx.deliveries.tag(
                    Direction::AgentToCustomer,
                    &format!("Agent line {n}: how can I help further?"),
                );
                let body = json!({"agentId": agent_id, "engagementId": id,
                    "messageType": "chatLine", "chatLineReceiverType": "external",
                    "messageText": text});
                let every = self.persona.reply.mean();
                let obs = self
                    .call(
                        self.agent_call("messages.post")
                            .body(body)
                            .expect_every(every),
                    )
                    .await;
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
            Stage::Closing => {
                self.close(i).await;
                false
            }
        }
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

    // ---- one call ---------------------------------------------------------------------------

    async fn token(&mut self) -> Option<Arc<Token>> {
        let (result, fetch) = match (&self.own_tokens, &self.ctx.tokens) {
            (Some(store), _) | (None, Tokens::Shared(store)) => store.get().await,
            (None, Tokens::PerAgent(_)) => return None,
        };
        if let Some(f) = fetch {
            let error = (!f.ok).then_some(match f.status {
                None => ErrorKind::Connect,
                Some(_) => ErrorKind::Status,
            });
            self.ctx.recorder.record(&Sample {
                op: "token",
                persona: &self.persona.name,
                status: f.status,
                latency: f.latency,
                error,
                expected_interval: None,
                at: Instant::now() - f.latency,
            });
            self.made.push(Made {
                method: "POST",
                name: "token",
                latency: f.latency,
                status: f.status,
                success: f.ok,
            });
        }
        result.ok()
    }

    async fn refresh_token_after_expiry(&mut self) {
        if let Some(tok) = self.token().await {
            match (&self.own_tokens, &self.ctx.tokens) {
                (Some(store), _) | (None, Tokens::Shared(store)) => store.invalidate(&tok).await,
                _ => {}
            }
        }
    }

    /// Sends one call with a fresh token; on "Access Token Expired" refreshes once and retries.
    async fn call(&mut self, pending: PendingCall) -> Observed {
        let mut retried = false;
        loop {
            let token = if pending.anonymous {
                None
            } else {
                self.token().await
            };
            // Whether the harness's own clock holds the token valid as it is sent.
            let fresh = token.as_ref().map(|t| Instant::now() < t.expires_at);
            let call = pending.to_call(token.as_deref());
            let mut obs = send(&self.http, &self.ctx.endpoint, call).await;
            if obs.token_expired() && !retried {
                let example = Exchange {
                    request_line: obs.request_line(),
                    status: obs.status,
                    detail:
                        "target answered Access Token Expired to a token the harness held as valid"
                            .into(),
                    response_excerpt: obs.excerpt(),
                };
                self.check("token_fresh", pending.op.name, false, Some(example));
                if let Some(t) = token {
                    match (&self.own_tokens, &self.ctx.tokens) {
                        (Some(store), _) | (None, Tokens::Shared(store)) => {
                            store.invalidate(&t).await
                        }
                        _ => {}
                    }
                }
                retried = true;
                continue;
            }
            self.judge_and_record_with(&mut obs, true, pending.expected_interval, fresh);
            if obs.status == Some(401) && !obs.token_expired() && pending.needs_session() {
                self.lose_session();
            }
            return obs;
        }
    }

    fn judge_and_record(&mut self, obs: &mut Observed, check_budget: bool) {
        self.judge_and_record_with(obs, check_budget, None, None);
    }

    /// Judges and records `obs` (see `record::response`) and notes the call for goose.
    fn judge_and_record_with(
        &mut self,
        obs: &mut Observed,
        check_budget: bool,
        expected_interval: Option<Duration>,
        token_fresh: Option<bool>,
    ) {
        let sample: f64 = self.rng.random();
        let how = record::Context {
            check_budget,
            expected_interval,
            token_fresh,
        };
        let error = record::response(&self.ctx, obs, &self.persona.name, sample, how);
        self.made.push(Made {
            method: obs.method.as_str(),
            name: obs.op,
            latency: obs.latency,
            status: obs.status,
            success: error.is_none(),
        });
    }

    fn check(&self, check: &str, op: &str, passed: bool, example: Option<Exchange>) {
        self.ctx.recorder.record_check(&CheckOutcome {
            check,
            op,
            persona: &self.persona.name,
            passed,
            example,
        });
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(p) = self.poll.take() {
            p.abort();
        }
        if self.session.is_some() {
            Live::sub(&self.ctx.live.agents, 1);
        }
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

fn unreachable_op() -> ! {
    // The operation table is static and covered by a unit test; reaching this is a bug.
    panic!("operation missing from the static table")
}

/// A call prepared by the agent, turned into an `aeapi::client::Call` once a token is at hand.
struct PendingCall {
    op: &'static Operation,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    anonymous: bool,
    expected_interval: Option<Duration>,
}

impl PendingCall {
    fn new(op: &'static str) -> Self {
        let Some(op) = ops::find(op) else {
            unreachable_op()
        };
        PendingCall {
            op,
            query: Vec::new(),
            body: None,
            anonymous: false,
            expected_interval: None,
        }
    }

    fn query(mut self, key: &'static str, value: String) -> Self {
        self.query.push((key, value));
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// No bearer token (preLoginStatus).
    fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// The pacing the agent intends for this call (coordinated-omission correction).
    fn expect_every(mut self, every: Duration) -> Self {
        self.expected_interval = Some(every.max(Duration::from_millis(1)));
        self
    }

    fn needs_session(&self) -> bool {
        self.query.iter().any(|(k, _)| *k == "registeredId")
    }

    fn to_call<'a>(&self, token: Option<&'a Token>) -> Call<'a> {
        let mut call = Call::new(self.op, token);
        call.query = self.query.clone();
        call.body = self.body.clone();
        call
    }
}
