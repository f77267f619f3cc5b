//! The state `conform` sets up for its cases: a token, a shared logged-in agent, fresh agents
//! with an engagement offered (created through the customer-side calls of the field notes),
//! accepted, closed for a follow-up, or in a conference (an owner and a guest, maybe with an
//! ownership transfer pending), an expired token, and the clean-up that keeps one case from
//! leaking into the next. Every fixture is built through the API itself, as a desktop would:
//! a conference is conferenceEngagement + the guest's acceptEngagement, an ownership offer is
//! transferOwnership, each waited for on the receiving agent's long-poll.
//!
//! Agents log in available, and the target offers a new engagement to any free agent. So every
//! agent the engine logs in is parked (`agentStatus` busy) unless it is the one an offer is being
//! made for, and every engagement a case leaves behind is closed by its customer, which also
//! takes it out of the queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::aeapi::client::{self, Call, Endpoint, Observed};
use crate::aeapi::ops;
use crate::aeapi::token::{Token, TokenError, TokenStore};
use crate::runner::credential::Credential;
pub use crate::runner::plan::Placement;
use crate::runner::plan::ResolvedTarget;
use crate::suite::model::{Needs, OutputFormat};

/// A logged-in agent.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub password: String,
    pub registered_id: String,
    pub since: Instant,
}

/// Why the world could not give a case what it needs (a token, a session, a fixture): the
/// harness's trouble, reported as the case's error.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("no token: {0}")]
    NoToken(TokenError),
    #[error("agent `{0}` is not in the pool")]
    NotInPool(String),
    #[error("no token to let expire")]
    NoExpiredToken,
    #[error("the agent pool is empty")]
    EmptyPool,
    #[error("fixtures need at least two agents in the pool")]
    TooFewAgents,
    #[error(
        "a conference needs at least three agents in the pool (the shared one, an owner and a \
         guest)"
    )]
    TooFewForConference,
    #[error("operation `{0}` is not in the table")]
    UnknownOperation(String),
    /// A fixture call answered something else than 200.
    #[error("{what}: {request} answered {status}: {excerpt}")]
    Refused {
        what: String,
        request: String,
        status: u16,
        excerpt: String,
    },
    /// A fixture call got no answer.
    #[error("{what}: {request} failed: {transport} error")]
    Unsent {
        what: String,
        request: String,
        transport: &'static str,
    },
    #[error("login: the response has no registeredId")]
    NoRegisteredId,
    #[error("customer engagement: no engagementID/customerID in {0}")]
    NoEngagementIds(String),
    #[error("no token store for `{0}`")]
    NoTokenStore(String),
    /// A wait of this kind failed before: the path is known broken, so this one is not tried.
    #[error("not waiting for {what}: the {kind} path is broken ({why})")]
    PathBroken {
        what: String,
        kind: &'static str,
        why: String,
    },
    #[error("conferenceEngagement to {guest} failed: {excerpt}")]
    ConferenceFailed { guest: String, excerpt: String },
    /// Long-polling for a message got an answer other than 200 or 204.
    #[error("waiting for {what}: {request} answered {answer}")]
    WaitRefused {
        what: String,
        request: String,
        answer: String,
    },
    #[error("{what} did not reach {agent} within {secs} s")]
    NotDelivered {
        what: String,
        agent: String,
        secs: u64,
    },
}

/// What a case that needs an engagement works on: a fresh agent with an engagement offered to
/// it, accepted, waiting for a follow-up, or in a conference (see `Needs`).
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The agent the case acts as (`${registeredId}`, `${agentId}`).
    pub session: Session,
    pub engagement_id: String,
    pub customer_id: String,
    /// The conference guest (`${guestId}`), when there is a conference.
    pub guest: Option<Session>,
    /// Every agent the fixture logged in (the clean-up parks them).
    pub agents: Vec<Session>,
    /// The conversation was closed for a follow-up (the clean-up resolves it).
    pub follow_up: bool,
}

/// How long the target keeps offers open; the late accept waits this plus a margin.
pub const REMOTE_ACCEPT_WINDOW: Duration = Duration::from_secs(15);
/// The most a waiting case waits beyond the window or the token's lifetime.
pub const WAIT_MARGIN: Duration = Duration::from_secs(2);
/// A shared session older than this is replaced (targets drop agents that stop polling).
const SESSION_MAX_AGE: Duration = Duration::from_secs(20);
/// How long an offer may take to reach the agent's long-poll.
const OFFER_DEADLINE: Duration = Duration::from_secs(10);
/// Each request's bound unless the suite sets `load.timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// A long-poll answered sooner than this did not hold: the next one waits the rest of it.
const POLL_FLOOR: Duration = Duration::from_millis(100);

/// Everything the cases share.
pub struct World {
    pub http: reqwest::Client,
    pub target: ResolvedTarget,
    pub placement: Placement,
    /// The application's token (client_credentials; for the password grant, only the
    /// reachability check uses it).
    pub tokens: TokenStore,
    /// Per-agent tokens when the target uses the password grant.
    agent_tokens: std::collections::BTreeMap<String, TokenStore>,
    pub pool: Vec<Credential>,
    pub accept_window: Duration,
    /// Extra wait after the accept window (the simulator's reaper interval, or the margin).
    pub accept_margin: Duration,
    shared: Option<Session>,
    next: usize,
    expired: Option<Arc<Token>>,
    /// Access tokens seen, for masking.
    pub seen_tokens: Vec<String>,
    /// Each request's bound and the response body cap (see `with_limits`).
    timeout: Duration,
    body_limit: usize,
    /// Why an offer (or another kind of awaited message) never arrived, by kind, once one did
    /// not: later waits for that kind fail at once instead of each waiting `OFFER_DEADLINE`.
    broken: std::collections::BTreeMap<&'static str, String>,
}

impl World {
    pub fn new(
        http: reqwest::Client,
        target: ResolvedTarget,
        placement: Placement,
        pool: Vec<Credential>,
        accept_window: Duration,
        accept_margin: Duration,
    ) -> World {
        let tokens = TokenStore::new(target.token_request(), http.clone())
            // At most half the lifetime (the store's cap): the target counts whole seconds.
            .with_refresh_margin(Duration::from_secs(2));
        World {
            http,
            target,
            placement,
            tokens,
            pool,
            accept_window,
            accept_margin,
            agent_tokens: std::collections::BTreeMap::new(),
            shared: None,
            next: 0,
            expired: None,
            seen_tokens: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            body_limit: crate::aeapi::client::DEFAULT_BODY_LIMIT,
            broken: std::collections::BTreeMap::new(),
        }
    }

    /// Bounds every request by `timeout` (connect to last byte; long-polls by their wait) and
    /// every response body by `body_limit` bytes.
    pub fn with_limits(mut self, timeout: Duration, body_limit: usize) -> World {
        self.timeout = timeout;
        self.body_limit = body_limit;
        self.tokens = self.store(self.target.token_request());
        self
    }

    /// A token store for `request` with the world's limits.
    fn store(&self, request: crate::aeapi::token::TokenRequest) -> TokenStore {
        TokenStore::new(request, self.http.clone())
            .with_limits(self.timeout, self.body_limit)
            // At most half the lifetime (the store's cap): the target counts whole seconds.
            .with_refresh_margin(Duration::from_secs(2))
    }

    /// The endpoint for an operation in a format (`token` is on the auth base).
    pub fn endpoint(&self, op: &str, format: OutputFormat) -> Endpoint {
        let base = if op == "token" {
            &self.target.auth_base
        } else {
            &self.target.api_base
        };
        Endpoint::new(base, format, self.timeout).with_body_limit(self.body_limit)
    }

    /// `Basic base64(client_id:client_secret)`'s credential part (a secret).
    pub fn basic_auth(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.target.client_id, self.target.client_secret
        ))
    }

    /// A valid token for calls on behalf of nobody in particular (customer calls, cases that
    /// need no session): the application's, or the spare agent's with the password grant.
    pub async fn token(&mut self) -> Result<Arc<Token>, FixtureError> {
        self.token_as(None).await
    }

    /// A valid token for calls on behalf of `agent`: with the password grant, that agent's own
    /// (the target may insist that a token's user logs in); otherwise the application's.
    pub async fn token_as(&mut self, agent: Option<&str>) -> Result<Arc<Token>, FixtureError> {
        let got = if self.target.password_grant {
            let request = self.agent_request(agent)?;
            let user = request
                .password_grant
                .as_ref()
                .map(|(u, _)| u.clone())
                .unwrap_or_default();
            if !self.agent_tokens.contains_key(&user) {
                let store = self.store(request);
                self.agent_tokens.insert(user.clone(), store);
            }
            let Some(store) = self.agent_tokens.get(&user) else {
                return Err(FixtureError::NoTokenStore(user));
            };
            store.get().await.0
        } else {
            self.tokens.get().await.0
        };
        match got {
            Ok(t) => {
                self.remember(&t);
                Ok(t)
            }
            Err(e) => Err(FixtureError::NoToken(e)),
        }
    }

    /// The password-grant token request of `agent` (default: the spare agent).
    fn agent_request(
        &self,
        agent: Option<&str>,
    ) -> Result<crate::aeapi::token::TokenRequest, FixtureError> {
        let cred = match agent {
            Some(a) => self.pool.iter().find(|c| c.username == a),
            None => self.spare(),
        }
        .ok_or_else(|| FixtureError::NotInPool(agent.unwrap_or("?").to_string()))?;
        Ok(crate::aeapi::token::TokenRequest {
            password_grant: Some((cred.username.clone(), cred.password.clone())),
            ..self.target.token_request()
        })
    }

    fn remember(&mut self, t: &Token) {
        if !self.seen_tokens.contains(&t.access_token) {
            self.seen_tokens.push(t.access_token.clone());
        }
    }

    /// Fetches, early, the token that the expired-token cases use once it has expired.
    pub async fn prepare_expired(&mut self) -> Result<(), FixtureError> {
        let request = if self.target.password_grant {
            self.agent_request(None)?
        } else {
            self.target.token_request()
        };
        let store =
            TokenStore::new(request, self.http.clone()).with_limits(self.timeout, self.body_limit);
        let t = store.get().await.0.map_err(FixtureError::NoToken)?;
        self.remember(&t);
        self.expired = Some(t);
        Ok(())
    }

    /// The expired token, waiting (at most until `expires_at` + a margin) for it to expire.
    pub async fn expired_token(&mut self) -> Result<Arc<Token>, FixtureError> {
        if self.expired.is_none() {
            self.prepare_expired().await?;
        }
        let t = self.expired.clone().ok_or(FixtureError::NoExpiredToken)?;
        let ready = t.expires_at + Duration::from_millis(250);
        let now = Instant::now();
        if ready > now {
            tokio::time::sleep(ready - now).await;
        }
        Ok(t)
    }

    /// When the expired token may still be retried (its expiry + the margin).
    pub fn expired_deadline(&self) -> Option<Instant> {
        self.expired.as_ref().map(|t| t.expires_at + WAIT_MARGIN)
    }

    /// Sends a fixture call in JSON; a non-200 is an error naming the request.
    async fn call(&mut self, call: Call<'_>, what: &str) -> Result<Observed, FixtureError> {
        let ep = self.endpoint(call.op.name, OutputFormat::Json);
        let obs = client::send(&self.http, &ep, call).await;
        match obs.status {
            Some(200) => Ok(obs),
            Some(status) => Err(FixtureError::Refused {
                what: what.to_string(),
                request: obs.request_line(),
                status,
                excerpt: obs.excerpt(),
            }),
            None => Err(FixtureError::Unsent {
                what: what.to_string(),
                request: obs.request_line(),
                transport: obs.transport.map_or("transport", |t| t.as_str()),
            }),
        }
    }

    fn op(name: &str) -> Result<&'static ops::Operation, FixtureError> {
        ops::find(name).ok_or_else(|| FixtureError::UnknownOperation(name.to_string()))
    }

    /// Logs `cred` in (available).
    pub async fn login(&mut self, cred: &Credential) -> Result<Session, FixtureError> {
        let tok = self.token_as(Some(&cred.username)).await?;
        let call = Call::new(Self::op("login")?, Some(&tok))
            .body(json!({"username": cred.username, "password": cred.password}));
        let obs = self.call(call, "login").await?;
        let registered_id = obs
            .field("registeredId")
            .ok_or(FixtureError::NoRegisteredId)?
            .to_string();
        Ok(Session {
            username: cred.username.clone(),
            password: cred.password.clone(),
            registered_id,
            since: Instant::now(),
        })
    }

    /// Sends `op` as `agent` (its token, `?registeredId=`, a JSON body); a non-200 is an error
    /// naming the request.
    async fn agent_call(
        &mut self,
        registered_id: &str,
        agent: &str,
        op: &str,
        body: Value,
    ) -> Result<Observed, FixtureError> {
        let tok = self.token_as(Some(agent)).await?;
        let call = Call::new(Self::op(op)?, Some(&tok))
            .query("registeredId", registered_id)
            .body(body);
        self.call(call, op).await
    }

    /// `agent_call` as session `s`.
    async fn session_call(
        &mut self,
        s: &Session,
        op: &str,
        body: Value,
    ) -> Result<Observed, FixtureError> {
        self.agent_call(&s.registered_id, &s.username, op, body)
            .await
    }

    /// Sets an agent busy, so it is offered nothing. Best effort.
    pub async fn park(&mut self, registered_id: &str, agent: &str) {
        let body = json!({"agentId": agent, "state": "busy"});
        let _ = self
            .agent_call(registered_id, agent, "agentStatus", body)
            .await;
    }

    /// The shared agent (the pool's first), logged in and parked; replaced when old.
    pub async fn shared(&mut self) -> Result<Session, FixtureError> {
        if let Some(s) = &self.shared
            && s.since.elapsed() < SESSION_MAX_AGE
        {
            return Ok(s.clone());
        }
        let cred = self.pool.first().cloned().ok_or(FixtureError::EmptyPool)?;
        let s = self.login(&cred).await?;
        self.park(&s.registered_id, &s.username).await;
        self.shared = Some(s.clone());
        Ok(s)
    }

    /// The agent `${username}`/`${password}` name in requests that need no session: the pool's
    /// last (never the shared one when the pool has two or more).
    pub fn spare(&self) -> Option<&Credential> {
        self.pool.last()
    }

    /// The next agent for a fixture: the pool's others in turn.
    fn fresh(&mut self) -> Result<Credential, FixtureError> {
        if self.pool.len() < 2 {
            return Err(FixtureError::TooFewAgents);
        }
        let i = 1 + self.next % (self.pool.len() - 1);
        self.next += 1;
        Ok(self.pool[i].clone())
    }

    /// The fixture `needs` asks for (`None` when it needs no engagement).
    pub async fn setup(&mut self, needs: Needs) -> Result<Option<Fixture>, FixtureError> {
        match needs {
            Needs::Nothing | Needs::Token | Needs::Session => Ok(None),
            Needs::Offer => self.offer().await.map(Some),
            Needs::Engagement => self.engagement().await.map(Some),
            Needs::FollowUp => self.follow_up().await.map(Some),
            Needs::Conference | Needs::ConferenceGuest | Needs::OwnershipOffer => {
                self.conference(needs).await.map(Some)
            }
        }
    }

    /// A fresh agent with a new engagement offered to it (not accepted).
    pub async fn offer(&mut self) -> Result<Fixture, FixtureError> {
        let cred = self.fresh()?;
        let session = self.login(&cred).await?;
        let tok = self.token().await?;
        let p = self.placement.clone();
        let call = Call::new(Self::op("customer.engagement")?, Some(&tok))
            .query("siteID", p.site_id)
            .query("businessUnitID", p.business_unit_id)
            .query("agentGroupID", p.agent_group_id)
            .query("InitialMessage", "Hello, I have a question about my order");
        let obs = self.call(call, "customer engagement").await?;
        let (Some(eid), Some(cid)) = (obs.field("engagementID"), obs.field("customerID")) else {
            return Err(FixtureError::NoEngagementIds(obs.excerpt()));
        };
        let fixture = Fixture {
            session: session.clone(),
            engagement_id: eid.to_string(),
            customer_id: cid.to_string(),
            guest: None,
            agents: vec![session.clone()],
            follow_up: false,
        };
        let what = format!("the offer of engagement {eid}");
        let r = self
            .await_message(&session, eid, ("offer", &what), |_| true)
            .await;
        self.or_cleanup(&fixture, r).await?;
        Ok(fixture)
    }

    /// A fresh agent holding a newly accepted engagement.
    pub async fn engagement(&mut self) -> Result<Fixture, FixtureError> {
        let f = self.offer().await?;
        let body = json!({"agentId": f.session.username, "engagementId": f.engagement_id});
        let r = self
            .session_call(&f.session, "acceptEngagement", body)
            .await;
        self.or_cleanup(&f, r).await?;
        Ok(f)
    }

    /// A fresh agent's engagement, closed with `followUp: true`: the conversation waits for that
    /// agent's follow-up.
    pub async fn follow_up(&mut self) -> Result<Fixture, FixtureError> {
        let mut f = self.engagement().await?;
        f.follow_up = true;
        let body = json!({
            "agentId": f.session.username,
            "engagementId": f.engagement_id,
            "followUp": true,
            "followUpNotes": "Call back tomorrow with the tracking number",
        });
        let r = self.session_call(&f.session, "closeEngagement", body).await;
        self.or_cleanup(&f, r).await?;
        Ok(f)
    }

    /// A running conference (see `Needs::Conference`), and for `Needs::OwnershipOffer` an
    /// ownership transfer to the guest waiting for its answer. The case acts as the owner for
    /// `Needs::Conference`, as the guest otherwise.
    pub async fn conference(&mut self, needs: Needs) -> Result<Fixture, FixtureError> {
        if self.pool.len() < 3 {
            return Err(FixtureError::TooFewForConference);
        }
        let mut f = self.engagement().await?;
        let guest = match self.fresh() {
            Ok(cred) => self.login(&cred).await,
            Err(e) => Err(e),
        };
        let guest = self.or_cleanup(&f, guest).await?;
        f.agents.push(guest.clone());
        f.guest = Some(guest.clone());
        let r = self.conference_steps(&f, &guest, needs).await;
        self.or_cleanup(&f, r).await?;
        if needs != Needs::Conference {
            f.session = guest;
        }
        Ok(f)
    }

    /// The owner conferences `guest` in and the guest accepts; then, for an ownership offer, the
    /// owner asks the guest to take ownership and the guest sees the request.
    async fn conference_steps(
        &mut self,
        f: &Fixture,
        guest: &Session,
        needs: Needs,
    ) -> Result<(), FixtureError> {
        let (owner, eid) = (&f.session, &f.engagement_id);
        let ask = json!({
            "agentId": owner.username,
            "engagementId": eid,
            "targetAgentId": guest.username,
        });
        let obs = self
            .session_call(owner, "conferenceEngagement", ask.clone())
            .await?;
        if obs.field("status") == Some("failed") {
            return Err(FixtureError::ConferenceFailed {
                guest: guest.username.clone(),
                excerpt: obs.excerpt(),
            });
        }
        let what = format!("the conference request for engagement {eid}");
        self.await_message(guest, eid, ("conference request", &what), |_| true)
            .await?;
        let accept = json!({"agentId": guest.username, "engagementId": eid});
        self.session_call(guest, "acceptEngagement", accept).await?;
        if needs == Needs::OwnershipOffer {
            self.session_call(owner, "transferOwnership", ask).await?;
            let what = format!("the ownership transfer request for engagement {eid}");
            let kind = ("ownership transfer request", what.as_str());
            self.await_message(guest, eid, kind, |e| {
                has_state(e, "ownershipTransferRequest")
            })
            .await?;
        }
        Ok(())
    }

    /// `r`, after cleaning `f` up when `r` is an error (a setup step failed).
    async fn or_cleanup<T>(
        &mut self,
        f: &Fixture,
        r: Result<T, FixtureError>,
    ) -> Result<T, FixtureError> {
        if r.is_err() {
            self.cleanup(f).await;
        }
        r
    }

    /// Long-polls `s`'s messages until an entry for engagement `eid` satisfies `wanted` (it is
    /// given the entry: `{id, messages, settings}`), for at most `OFFER_DEADLINE`. Once a wait of
    /// one `kind` failed, the later ones fail at once: the path is known broken.
    async fn await_message(
        &mut self,
        s: &Session,
        eid: &str,
        (kind, what): (&'static str, &str),
        wanted: fn(&Value) -> bool,
    ) -> Result<(), FixtureError> {
        if let Some(why) = self.broken.get(kind) {
            return Err(FixtureError::PathBroken {
                what: what.to_string(),
                kind,
                why: why.clone(),
            });
        }
        let r = self.poll_for(s, eid, what, wanted).await;
        if let Err(why) = &r {
            self.broken.insert(kind, why.to_string());
        }
        r
    }

    /// `await_message`'s long-polls, paced: a poll that did not hold `POLL_FLOOR` waits out
    /// the rest of it before the next.
    async fn poll_for(
        &mut self,
        s: &Session,
        eid: &str,
        what: &str,
        wanted: fn(&Value) -> bool,
    ) -> Result<(), FixtureError> {
        let deadline = Instant::now() + OFFER_DEADLINE;
        while Instant::now() < deadline {
            let tok = self.token_as(Some(&s.username)).await?;
            let call = Call::new(Self::op("messages.get")?, Some(&tok))
                .query("registeredId", s.registered_id.clone())
                .query("agentId", s.username.clone())
                .query("instantResponse", "false")
                .timeout(deadline.saturating_duration_since(Instant::now()) + WAIT_MARGIN);
            let ep = self.endpoint("messages.get", OutputFormat::Json);
            let obs = client::send(&self.http, &ep, call).await;
            match obs.status {
                Some(200) if entry(&obs, eid).is_some_and(wanted) => return Ok(()),
                Some(200 | 204) => {
                    let next = (obs.started + POLL_FLOOR).min(deadline);
                    tokio::time::sleep_until(next.into()).await;
                }
                _ => {
                    return Err(FixtureError::WaitRefused {
                        what: what.to_string(),
                        request: obs.request_line(),
                        answer: obs.status.map_or("nothing".into(), |s| s.to_string()),
                    });
                }
            }
        }
        Err(FixtureError::NotDelivered {
            what: what.to_string(),
            agent: s.username.clone(),
            secs: OFFER_DEADLINE.as_secs(),
        })
    }

    /// The customer closes the fixture's engagement (a follow-up still waiting is resolved by
    /// its agent first) and its agents are parked. Best effort.
    pub async fn cleanup(&mut self, f: &Fixture) {
        if f.follow_up {
            let body = json!({"agentId": f.session.username, "engagementId": f.engagement_id});
            let _ = self
                .session_call(&f.session, "resolveConversation", body)
                .await;
        }
        if let (Ok(tok), Ok(op)) = (self.token().await, Self::op("customer.message.post")) {
            let call = Call::new(op, Some(&tok)).form(vec![
                ("customerID", f.customer_id.clone()),
                ("engagementID", f.engagement_id.clone()),
                ("messageType", "stateChange".into()),
                ("state", "closed".into()),
            ]);
            let ep = self.endpoint(op.name, OutputFormat::Json);
            let _ = client::send(&self.http, &ep, call).await;
        }
        for s in &f.agents {
            self.park(&s.registered_id, &s.username).await;
        }
    }
}

/// The entry of engagement `eid` in a GET messages body (`engagements[]`), if any.
fn entry<'a>(obs: &'a Observed, eid: &str) -> Option<&'a Value> {
    obs.body
        .as_ref()
        .and_then(|b| b.get("engagements"))
        .and_then(Value::as_array)?
        .iter()
        .find(|e| match e.get("id") {
            Some(Value::String(s)) => s == eid,
            Some(Value::Number(n)) => n.to_string() == eid,
            _ => false,
        })
}

/// Whether an engagement entry holds a stateChange to `state`.
fn has_state(entry: &Value, state: &str) -> bool {
    entry
        .get("messages")
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter()
                .any(|m| m.get("state").and_then(Value::as_str) == Some(state))
        })
}
