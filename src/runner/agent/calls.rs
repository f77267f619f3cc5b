//! The agent's calls: each API call it makes, prepared as a `PendingCall`, sent with a fresh
//! token (refreshed once on "Access Token Expired"), judged against the contracts and recorded;
//! the long-poll on its own task; the behaviour checks it records.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

use super::Agent;
use super::Made;
use crate::aeapi::client::{Call, Observed};
use crate::aeapi::ops::{self, Operation};
use crate::aeapi::token::{Token, TokenStore};
use crate::check::behaviour::{self, Breach};
use crate::metrics::Exchange;
use crate::runner::ctx::Tokens;
use crate::runner::record;

impl Agent {
    /// A call on the agent API with `registeredId` in the query.
    pub(super) fn agent_call(&self, op: &'static str) -> PendingCall {
        PendingCall::new(op).query("registeredId", self.registered_id())
    }

    /// A periodic call shaped as the reference documents its parameters.
    pub(super) fn periodic_call(&self, op: &'static str) -> PendingCall {
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

    /// Starts the long-poll `GET messages` on its own task, judging the gap since the last one
    /// against the poll window.
    pub(super) fn start_poll(&mut self) {
        let now = Instant::now();
        let Some(op) = ops::find("messages.get") else {
            unreachable_op()
        };
        if let Some(prev) = self.last_poll_sent {
            let verdict = self.ctx.windows.poll_gap(now - prev);
            self.behaviour(
                behaviour::POLLED_WITHIN_WINDOW,
                op.name,
                verdict,
                |detail| Exchange {
                    request_line: format!("{} {}", op.method.as_str(), op.path),
                    status: None,
                    detail,
                    response_excerpt: String::new(),
                },
            );
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
            let call = Call::new(op, token.as_deref())
                .query("registeredId", registered_id)
                .query("agentId", username)
                .query("instantResponse", "false")
                .timeout(timeout);
            http.send(&ctx.endpoint, call).await
        }));
    }

    /// The token store serving this agent: its own (password grant) or the fleet's.
    fn store(&self) -> Option<&Arc<TokenStore>> {
        match (&self.own_tokens, &self.ctx.tokens) {
            (Some(store), _) | (None, Tokens::Shared(store)) => Some(store),
            (None, Tokens::PerAgent(_)) => None,
        }
    }

    /// A token for the next call, recording a fetch (its latency and outcome) if one was made;
    /// `None` when no store serves this agent or the fetch failed.
    pub(super) async fn token(&mut self) -> Option<Arc<Token>> {
        let (result, fetch) = self.store()?.get().await;
        if let Some(mut f) = fetch {
            // Judged like any call (status, schema, `within`) under its own operation.
            self.judge_and_record(&mut f.observed, true);
        }
        result.ok()
    }

    /// After the target called a token expired: fetch (or reuse) one and drop it, so the next
    /// call gets a new one.
    pub(super) async fn refresh_token_after_expiry(&mut self) {
        if let Some(tok) = self.token().await
            && let Some(store) = self.store()
        {
            store.invalidate(&tok).await;
        }
    }

    /// Records that the target answered "Access Token Expired" to `obs`'s token, which the
    /// harness held as valid.
    pub(super) fn expired_by_target(&self, op: &str, obs: &Observed) {
        self.behaviour(
            behaviour::TOKEN_FRESH,
            op,
            Err(Breach::ExpiredByTarget),
            |detail| Exchange {
                request_line: obs.request_line(),
                status: obs.status,
                detail,
                response_excerpt: obs.excerpt(),
            },
        );
    }

    /// Sends one call with a fresh token; on "Access Token Expired" refreshes once and retries.
    pub(super) async fn call(&mut self, pending: PendingCall) -> Observed {
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
            let mut obs = self.http.send(&self.ctx.endpoint, call).await;
            if obs.token_expired() && !retried {
                self.expired_by_target(pending.op.name, &obs);
                if let Some(t) = token
                    && let Some(store) = self.store()
                {
                    store.invalidate(&t).await;
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

    /// Judges and records `obs` without pacing or token facts (see `judge_and_record_with`);
    /// true when a check failed.
    pub(super) fn judge_and_record(&mut self, obs: &mut Observed, check_budget: bool) -> bool {
        self.judge_and_record_with(obs, check_budget, None, None)
    }

    /// Judges and records `obs` (see `record::response`) and notes the call for goose; true
    /// when a check failed.
    fn judge_and_record_with(
        &mut self,
        obs: &mut Observed,
        check_budget: bool,
        expected_interval: Option<Duration>,
        token_fresh: Option<bool>,
    ) -> bool {
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
        error.is_some()
    }

    /// Records the behaviour check `check` of `op` (see `record::behaviour`).
    pub(super) fn behaviour(
        &self,
        check: &str,
        op: &str,
        verdict: Result<(), Breach>,
        example: impl FnOnce(String) -> Exchange,
    ) {
        record::behaviour(&self.ctx, &self.persona.name, op, check, verdict, example);
    }
}

fn unreachable_op() -> ! {
    // The operation table is static and covered by a unit test; reaching this is a bug.
    panic!("operation missing from the static table")
}

/// A call prepared by the agent, turned into an `aeapi::client::Call` once a token is at hand.
pub(super) struct PendingCall {
    op: &'static Operation,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    anonymous: bool,
    expected_interval: Option<Duration>,
}

impl PendingCall {
    pub(super) fn new(op: &'static str) -> Self {
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

    pub(super) fn query(mut self, key: &'static str, value: String) -> Self {
        self.query.push((key, value));
        self
    }

    pub(super) fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// No bearer token (preLoginStatus).
    pub(super) fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// The pacing the agent intends for this call (coordinated-omission correction).
    pub(super) fn expect_every(mut self, every: Duration) -> Self {
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
