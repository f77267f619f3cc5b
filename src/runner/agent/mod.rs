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
//!
//! Here: the agent's life (log in, tick, back off, finish). [`state`]: the engagements in hand
//! and the action each stage calls for. [`calls`]: the typed API calls, the token, the
//! long-poll, and the recording of judged responses and behaviours (judged in `check`).

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
use crate::aeapi::client::{Observed, Transport};
use crate::aeapi::token::TokenStore;
use calls::PendingCall;
use state::{Engagement, Session};

mod calls;
mod state;

/// Longest a tick waits for something to happen before returning to goose.
pub const MAX_TICK: Duration = Duration::from_secs(1);
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(8);
/// A long-poll answered sooner than this did not hold: the next one waits (see `on_poll`).
pub const POLL_FLOOR: Duration = Duration::from_millis(100);

/// A call the agent made, for goose's metrics.
#[derive(Debug, Clone)]
pub struct Made {
    pub method: &'static str,
    pub name: &'static str,
    pub latency: Duration,
    pub status: Option<u16>,
    pub success: bool,
}

/// One agent of the fleet.
pub struct Agent {
    ctx: Arc<Ctx>,
    /// The client this agent sends with: the fleet's shared one, or its own (cookies).
    http: Transport,
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
    /// The next long-poll's earliest start, after one that did not hold or failed a check.
    poll_not_before: Option<Instant>,
    /// The wait before the next long-poll after an empty or failed one (doubles, bounded).
    poll_backoff: Duration,
    made: Vec<Made>,
}

impl Agent {
    pub fn new(ctx: Arc<Ctx>, cred: Credential, persona: Arc<PersonaPlan>, seed: u64) -> Self {
        let own_tokens = match &ctx.tokens {
            Tokens::Shared(_) => None,
            Tokens::PerAgent(template) => {
                let mut req = template.clone();
                req.password_grant = Some((cred.username.clone(), cred.password.clone()));
                Some(Arc::new(
                    TokenStore::new(req, ctx.http.clone())
                        .with_limits(ctx.endpoint.timeout, ctx.endpoint.body_limit),
                ))
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
                .connect_timeout(crate::aeapi::client::CONNECT_TIMEOUT.min(ctx.endpoint.timeout))
                .build()
                .map(Transport::Reqwest)
                .unwrap_or_else(|_| ctx.transport.clone())
        } else {
            ctx.transport.clone()
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
            poll_not_before: None,
            poll_backoff: POLL_FLOOR,
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

    /// One bounded step of the agent's life. Returns the calls made, for goose. The stop signal
    /// cuts any wait short, a call in flight included (a hostile target may hold one for the
    /// whole request timeout).
    pub async fn tick(&mut self) -> Vec<Made> {
        let stop = self.ctx.stop.clone();
        tokio::select! {
            _ = self.step() => {}
            _ = stop.cancelled() => {}
        }
        std::mem::take(&mut self.made)
    }

    async fn step(&mut self) {
        if self.ctx.stop.is_cancelled() {
            return;
        }
        if let Some(until) = self.backoff_until {
            let now = Instant::now();
            if until > now {
                self.sleep_until(until.min(now + MAX_TICK)).await;
                return;
            }
            self.backoff_until = None;
        }
        if self.session.is_none() {
            if self.login().await {
                self.backoff = BACKOFF_MIN;
            } else {
                self.back_off();
            }
            return;
        }
        let now = Instant::now();
        if self.poll.is_none() && self.poll_not_before.is_none_or(|t| t <= now) {
            self.poll_not_before = None;
            self.start_poll();
        }
        let mut wake = self
            .next_due()
            .unwrap_or(now + MAX_TICK)
            .min(now + MAX_TICK);
        if let Some(t) = self.poll_not_before {
            wake = wake.min(t);
        }
        let polled = match self.poll.as_mut() {
            // Something is due already: take the poll's answer if it is in, without a timer.
            Some(handle) if wake <= now => handle.now_or_never(),
            Some(handle) => tokio::select! {
                r = handle => Some(r),
                _ = tokio::time::sleep_until(wake.into()) => None,
                _ = self.ctx.stop.cancelled() => None,
            },
            // The poll is held back: wait for it (or what is due) rather than spin.
            None => {
                if wake > now {
                    self.sleep_until(wake).await;
                }
                None
            }
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

    /// Holds the next long-poll back after `obs`, which `failed` a check or did not hold for
    /// `POLL_FLOOR`: empty or failed answers double the wait (up to `BACKOFF_MAX`), a quick
    /// answer with content waits the floor; a poll that held and passed resets it.
    fn pace_poll(&mut self, obs: &Observed, failed: bool) {
        let quick = obs.latency < POLL_FLOOR;
        let empty = obs.status == Some(204) || obs.body.is_none();
        if failed || (quick && empty) {
            let jitter = self.rng.random_range(0.5..1.5);
            self.poll_not_before = Some(Instant::now() + self.poll_backoff.mul_f64(jitter));
            self.poll_backoff = (self.poll_backoff * 2).min(BACKOFF_MAX);
        } else if quick {
            self.poll_not_before = Some(obs.started + POLL_FLOOR);
        } else {
            self.poll_backoff = POLL_FLOOR;
        }
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

    /// `preLoginStatus`, `login`, then `agentStatus` available; false when any failed.
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
    pub(super) fn lose_session(&mut self) {
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

    /// Performs every engagement action and periodic call that is due.
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
