//! Re-issuing the recorded calls, one at a time in recorded order.
//!
//! - **Tokens**: each recorded `token` call is re-issued with the grant it recorded and the
//!   credentials of the plan (a `Basic` header from the client id and secret, a password from
//!   the environment); the fresh token replaces the recorded one wherever the recording used
//!   it. A call that carried a token the recording never obtained gets one fetched first.
//! - **Ids**: the ids the target hands back (`registeredId`, `engagementId`, `customerId`,
//!   `conversationId`, engagements' `id`, ...) are paired with the recorded ones at the same
//!   place in the two answers, and later requests carry the target's instead of the recorded
//!   ones (query values, JSON and form body values that equal a recorded id).
//! - **Offers**: the engagements the recording was offered (`newRequest` in its long-poll
//!   answers) are paired, in the order they were offered, with those the target offers, in its
//!   order. A long-poll is in flight while the desktop works, so which poll brings an offer
//!   depends on timing: each recorded poll is re-issued once, offers it brings are kept, and
//!   the pairing happens when a request is about to carry a recorded engagement id that is not
//!   paired yet: then the replay polls (at most `offer_wait`) until the target offers one.
//! - **Expiry**: a call answered "Access Token Expired" gets a fresh token (the latest token
//!   call again, else the client credentials) and is sent once more.
//!
//! Recorded customer-side calls are re-issued like the agent's; their ids pair the same way.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use super::compare::{self, Difference};
use super::{Recorded, ReplayPlan, Step, StepBody, Timing};
use crate::aeapi::client::{self, Call, Endpoint, Observed, OutputFormat};
use crate::report::Secrets;
use crate::runner::plan::ResolvedTarget;

/// Fields whose values are ids a target hands out (paired between the two answers), in lower
/// case: the customer-side calls spell them `engagementID`, `customerID`.
const ID_FIELDS: &[&str] = &[
    "registeredid",
    "engagementid",
    "customerid",
    "conversationid",
    "chatid",
    "sessionid",
    "transcriptid",
    "id",
];

/// The longest pause `--timing recorded` makes before a call (from the replay's start).
const MAX_OFFSET: Duration = Duration::from_secs(86_400);

/// One re-issued call.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub entry: usize,
    pub op: &'static str,
    /// `METHOD /path?query` as sent (masked by the writers).
    pub request_line: String,
    pub recorded_status: u16,
    pub status: Option<u16>,
    pub latency: Option<Duration>,
    pub differences: Vec<Difference>,
}

/// The replay's result: every call, and every secret met (fresh tokens included).
pub struct Replayed {
    pub steps: Vec<StepOutcome>,
    pub secrets: Secrets,
}

/// Why the replay could not run (exit code 3), with the secrets known by then.
pub struct ReplayFailure {
    pub message: String,
    pub secrets: Secrets,
}

struct State {
    http: reqwest::Client,
    target: ResolvedTarget,
    plan_timeout: Duration,
    body_limit: usize,
    /// Recorded id → the target's.
    ids: BTreeMap<String, String>,
    /// Recorded access token → fresh one.
    tokens: BTreeMap<String, String>,
    latest_token: Option<String>,
    /// Engagements the target offered that no recorded offer is paired with yet.
    offers: VecDeque<(String, Value)>,
    /// Engagement ids (the target's) already offered.
    offered: BTreeSet<String>,
    /// The recording's offered engagements (id, engagement), in the order offered.
    recorded_offers: Vec<(String, Value)>,
    /// The latest long-poll re-issued (the template of the polls that wait for an offer).
    last_poll: Option<Step>,
    /// The latest token call re-issued (sent again when a token expires mid-replay).
    last_token: Option<Step>,
    answered: bool,
    secrets: Secrets,
}

/// Replays `rec` against the plan's target (the embedded simulator started and stopped here).
pub async fn run(plan: &ReplayPlan, rec: &Recorded) -> Result<Replayed, ReplayFailure> {
    let mut secrets = Secrets::new([
        plan.credentials.client_secret.clone(),
        plan.credentials.agent_password.clone(),
        basic(&plan.credentials.client_id, &plan.credentials.client_secret),
    ]);
    let (target, sim) = match plan.target.start().await {
        Ok(t) => t,
        Err(e) => {
            return Err(ReplayFailure {
                message: format!("cannot start the simulator: {e}"),
                secrets,
            });
        }
    };
    secrets.push(target.client_secret.clone());
    let http = match client::http_client(target.insecure_tls, plan.request_timeout) {
        Ok(h) => h,
        Err(e) => {
            return Err(ReplayFailure {
                message: format!("could not build the HTTP client: {e}"),
                secrets,
            });
        }
    };
    let mut st = State {
        http,
        target,
        plan_timeout: plan.request_timeout,
        body_limit: client::DEFAULT_BODY_LIMIT,
        ids: BTreeMap::new(),
        tokens: BTreeMap::new(),
        latest_token: None,
        offers: VecDeque::new(),
        offered: BTreeSet::new(),
        recorded_offers: recorded_offers(rec),
        last_poll: rec
            .steps
            .iter()
            .find(|s| s.op.name == "messages.get")
            .cloned(),
        last_token: None,
        answered: false,
        secrets,
    };
    let t0 = Instant::now();
    let first_ms = rec.steps.first().map_or(0.0, |s| s.started_ms);
    let mut steps = Vec::with_capacity(rec.steps.len());
    for step in &rec.steps {
        if plan.timing == Timing::Recorded {
            pace(t0, first_ms, step).await;
        }
        let outcome = st.replay(plan, step).await;
        if !st.answered && outcome.status.is_none() {
            let message = unreachable(&st.target.api_base, step, &outcome);
            if let Some(h) = sim {
                h.shutdown().await;
            }
            return Err(ReplayFailure {
                message,
                secrets: st.secrets,
            });
        }
        st.answered |= outcome.status.is_some();
        steps.push(outcome);
    }
    if let Some(h) = sim {
        h.shutdown().await;
    }
    Ok(Replayed {
        steps,
        secrets: st.secrets,
    })
}

/// Waits until `step`'s recorded offset from the first call (`--timing recorded`). A
/// recording's clock is the user's: an offset past a day is capped, not slept.
async fn pace(t0: Instant, first_ms: f64, step: &Step) {
    let offset = Duration::try_from_secs_f64((step.started_ms - first_ms) / 1e3)
        .unwrap_or_default()
        .min(MAX_OFFSET);
    if let Some(at) = t0.checked_add(offset) {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Why the replay stops when the first call gets no answer at all.
fn unreachable(api_base: &str, step: &Step, outcome: &StepOutcome) -> String {
    let why = outcome
        .differences
        .first()
        .map_or_else(String::new, ToString::to_string);
    format!(
        "the target at {api_base} is unreachable: entries[{}] `{}` got {why}",
        step.entry, step.op.name
    )
}

/// `Basic base64(id:secret)`'s credential part.
fn basic(id: &str, secret: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
}

impl State {
    async fn replay(&mut self, plan: &ReplayPlan, step: &Step) -> StepOutcome {
        let mut differences = Vec::new();
        let obs = if step.op.name == "messages.get" {
            self.poll(plan, step, &mut differences).await
        } else {
            let obs = self.send(plan, step, &mut differences).await;
            if step.op.name == "token" {
                self.learn_token(step, &obs);
            } else if let (Some(r), Some(n)) = (&step.response, &obs.body) {
                pair_ids(r, n, &mut self.ids, 0);
            }
            obs
        };
        let mut found = compare::compare(step, &obs);
        found.append(&mut differences);
        found.sort();
        found.dedup();
        StepOutcome {
            entry: step.entry,
            op: step.op.name,
            request_line: obs.request_line(),
            recorded_status: step.status,
            status: obs.status.filter(|_| obs.transport.is_none()),
            latency: obs.status.map(|_| obs.latency),
            differences: found,
        }
    }

    /// A recorded long-poll, re-issued once; the offers it brings are kept for pairing.
    async fn poll(
        &mut self,
        plan: &ReplayPlan,
        step: &Step,
        differences: &mut Vec<Difference>,
    ) -> Observed {
        self.last_poll = Some(step.clone());
        let obs = self.send(plan, step, differences).await;
        self.note_offers(&obs);
        obs
    }

    /// Pairs the recorded offers up to and including `recorded_id` with the target's, polling
    /// for as long as `offer_wait` when the target has not offered enough yet.
    async fn pair_offer(
        &mut self,
        plan: &ReplayPlan,
        recorded_id: &str,
        differences: &mut Vec<Difference>,
    ) {
        let Some(k) = self
            .recorded_offers
            .iter()
            .position(|(id, _)| id == recorded_id)
        else {
            return;
        };
        let deadline = Instant::now() + plan.offer_wait;
        for j in 0..=k {
            let (id, engagement) = self.recorded_offers[j].clone();
            if self.ids.contains_key(&id) {
                continue;
            }
            while self.unpaired_offers() == 0 && Instant::now() < deadline {
                let Some(template) = self.last_poll.clone() else {
                    break;
                };
                let obs = self.issue(plan, &template).await;
                self.note_offers(&obs);
                if obs.transport.is_some() || !obs.status.is_some_and(|s| s == 200 || s == 204) {
                    break;
                }
            }
            // An offer whose engagement is paired already (its customer's start was replayed)
            // is no recorded offer's.
            self.offers
                .retain(|(n, _)| !self.ids.values().any(|v| v == n));
            match self.offers.pop_front() {
                Some((new_id, new_engagement)) => {
                    self.ids.insert(id, new_id);
                    pair_ids(&engagement, &new_engagement, &mut self.ids, 0);
                }
                None => {
                    differences.push(Difference::NoOffer {
                        waited_s: plan.offer_wait.as_secs(),
                    });
                    // Not waited for again: later requests carry the recorded id.
                    self.ids.insert(id.clone(), id);
                    return;
                }
            }
        }
    }

    /// Offers kept whose engagement is not paired yet.
    fn unpaired_offers(&self) -> usize {
        self.offers
            .iter()
            .filter(|(n, _)| !self.ids.values().any(|v| v == n))
            .count()
    }

    fn note_offers(&mut self, obs: &Observed) {
        for (id, engagement) in obs.body.as_ref().map(offers_in).unwrap_or_default() {
            if self.offered.insert(id.clone()) {
                self.offers.push_back((id, engagement));
            }
        }
    }

    fn learn_token(&mut self, step: &Step, obs: &Observed) {
        self.last_token = Some(step.clone());
        let Some(fresh) = obs.field("access_token").map(str::to_string) else {
            return;
        };
        self.secrets.push(fresh.clone());
        if let Some(old) = step
            .response
            .as_ref()
            .and_then(|r| r.get("access_token"))
            .and_then(Value::as_str)
        {
            self.tokens.insert(old.to_string(), fresh.clone());
        }
        self.latest_token = Some(fresh);
    }

    /// The token for a call that recorded `bearer`: its fresh replacement, else the latest
    /// fresh one, else one fetched now (client credentials).
    async fn bearer_for(&mut self, plan: &ReplayPlan, bearer: &str) -> Option<String> {
        if let Some(t) = self.tokens.get(bearer) {
            return Some(t.clone());
        }
        if let Some(t) = &self.latest_token {
            return Some(t.clone());
        }
        self.fetch_token(plan).await
    }

    /// A token from the client credentials (not a recorded call: not compared).
    async fn fetch_token(&mut self, plan: &ReplayPlan) -> Option<String> {
        let op = crate::aeapi::ops::find("token")?;
        let mut call = Call::new(op, None);
        call.owned_form = Some(vec![("grant_type".into(), "client_credentials".into())]);
        call.headers
            .push(("Authorization".into(), self.basic_header(plan)));
        let obs = client::send(
            &self.http,
            &self.endpoint(op.name, None, Duration::ZERO),
            call,
        )
        .await;
        let fresh = obs.field("access_token")?.to_string();
        self.secrets.push(fresh.clone());
        self.latest_token = Some(fresh.clone());
        Some(fresh)
    }

    fn basic_header(&self, plan: &ReplayPlan) -> String {
        format!(
            "Basic {}",
            basic(&plan.credentials.client_id, &plan.credentials.client_secret)
        )
    }

    fn endpoint(&self, op: &str, output: Option<&str>, recorded: Duration) -> Endpoint {
        let base = if op == "token" {
            &self.target.auth_base
        } else {
            &self.target.api_base
        };
        let format = match output {
            Some(o) if o.eq_ignore_ascii_case("xml") => OutputFormat::Xml,
            _ => OutputFormat::Json,
        };
        // A long-poll may be held as long as it was recorded, and longer.
        let timeout = (self.plan_timeout + recorded * 2).min(Duration::from_secs(120));
        Endpoint::new(base, format, timeout).with_body_limit(self.body_limit)
    }

    /// Sends `step`'s request with the target's ids, fresh credentials and token (pairing
    /// the offers it refers to first).
    async fn send(
        &mut self,
        plan: &ReplayPlan,
        step: &Step,
        differences: &mut Vec<Difference>,
    ) -> Observed {
        let mut carried: Vec<String> = step.query.iter().map(|(_, v)| v.clone()).collect();
        match &step.body {
            StepBody::None => {}
            StepBody::Json(v) => strings(v, &mut carried, 0),
            StepBody::Form(pairs) => carried.extend(pairs.iter().map(|(_, v)| v.clone())),
        }
        for v in carried {
            if !self.ids.contains_key(&v) && self.recorded_offers.iter().any(|(id, _)| *id == v) {
                self.pair_offer(plan, &v, differences).await;
            }
        }
        self.issue(plan, step).await
    }

    /// Sends `step`'s request as it is, with the ids and credentials substituted; when the
    /// target says the token expired (a replay can outlast a token the recording did not),
    /// gets a fresh one and sends once more.
    async fn issue(&mut self, plan: &ReplayPlan, step: &Step) -> Observed {
        let obs = self.issue_once(plan, step).await;
        let Some(bearer) = step.bearer.as_deref().filter(|_| obs.token_expired()) else {
            return obs;
        };
        let Some(stale) = self.bearer_for(plan, bearer).await else {
            return obs;
        };
        let fresh = match self.last_token.clone() {
            Some(t) => {
                let answer = self.issue_once(plan, &t).await;
                answer.field("access_token").map(str::to_string)
            }
            None => self.fetch_token(plan).await,
        };
        let Some(fresh) = fresh else {
            return obs;
        };
        self.secrets.push(fresh.clone());
        for t in self.tokens.values_mut() {
            if *t == stale {
                *t = fresh.clone();
            }
        }
        self.latest_token = Some(fresh);
        self.issue_once(plan, step).await
    }

    async fn issue_once(&mut self, plan: &ReplayPlan, step: &Step) -> Observed {
        let token = match &step.bearer {
            Some(b) => self.bearer_for(plan, b).await,
            None => None,
        };
        let output = step
            .query
            .iter()
            .find(|(k, _)| k == "output")
            .map(|(_, v)| v.clone());
        let mut call = Call::new(step.op, None);
        call.owned_query = step
            .query
            .iter()
            .filter(|(k, _)| k != "output")
            .map(|(k, v)| (k.clone(), self.value(plan, k, v)))
            .collect();
        match &step.body {
            StepBody::None => {}
            StepBody::Json(v) => call.body = Some(self.json(plan, v, 0)),
            StepBody::Form(pairs) => {
                call.owned_form = Some(
                    pairs
                        .iter()
                        .map(|(k, v)| (k.clone(), self.value(plan, k, v)))
                        .collect(),
                );
            }
        }
        if step.basic {
            call.headers
                .push(("Authorization".into(), self.basic_header(plan)));
        }
        if let Some(t) = &token {
            call.headers
                .push(("Authorization".into(), format!("Bearer {t}")));
        }
        let recorded =
            Duration::try_from_secs_f64((step.time_ms / 1e3).clamp(0.0, 60.0)).unwrap_or_default();
        let ep = self.endpoint(step.op.name, output.as_deref(), recorded);
        client::send(&self.http, &ep, call).await
    }

    /// A request value: a credential from the plan, the target's id for a recorded one, or
    /// the recorded value.
    fn value(&self, plan: &ReplayPlan, key: &str, v: &str) -> String {
        match key {
            "password" => plan.credentials.agent_password.clone(),
            "client_secret" => plan.credentials.client_secret.clone(),
            "client_id" => plan.credentials.client_id.clone(),
            _ => self.ids.get(v).cloned().unwrap_or_else(|| v.to_string()),
        }
    }

    fn json(&self, plan: &ReplayPlan, v: &Value, depth: usize) -> Value {
        match v {
            Value::Object(m) if depth < 32 => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let x = match x {
                            Value::String(s) => Value::String(self.value(plan, k, s)),
                            other => self.json(plan, other, depth + 1),
                        };
                        (k.clone(), x)
                    })
                    .collect(),
            ),
            Value::Array(a) if depth < 32 => {
                Value::Array(a.iter().map(|x| self.json(plan, x, depth + 1)).collect())
            }
            Value::String(s) => {
                Value::String(self.ids.get(s).cloned().unwrap_or_else(|| s.clone()))
            }
            other => other.clone(),
        }
    }
}

/// Every string value of `v`.
fn strings(v: &Value, out: &mut Vec<String>, depth: usize) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) if depth < 32 => a.iter().for_each(|x| strings(x, out, depth + 1)),
        Value::Object(m) if depth < 32 => m.values().for_each(|x| strings(x, out, depth + 1)),
        _ => {}
    }
}

/// The engagements the recording was offered, in the order offered (each once).
fn recorded_offers(rec: &Recorded) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for s in rec.steps.iter().filter(|s| s.op.name == "messages.get") {
        for (id, e) in s.response.as_ref().map(offers_in).unwrap_or_default() {
            if !out.iter().any(|(x, _)| *x == id) {
                out.push((id, e));
            }
        }
    }
    out
}

/// The engagements a long-poll answer offers (`newRequest`): their ids and the engagement.
fn offers_in(body: &Value) -> Vec<(String, Value)> {
    let Some(list) = body.get("engagements").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter(|e| {
            e.get("messages")
                .and_then(Value::as_array)
                .is_some_and(|ms| {
                    ms.iter()
                        .any(|m| m.get("messageType").and_then(Value::as_str) == Some("newRequest"))
                })
        })
        .filter_map(|e| Some((scalar(e.get("id")?)?, e.clone())))
        .collect()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Pairs the ids at the same places of a recorded answer and the target's.
fn pair_ids(recorded: &Value, now: &Value, ids: &mut BTreeMap<String, String>, depth: usize) {
    if depth > 16 {
        return;
    }
    match (recorded, now) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, x) in a {
                let Some(y) = b.get(k) else { continue };
                if ID_FIELDS.contains(&k.to_ascii_lowercase().as_str())
                    && let (Some(x), Some(y)) = (scalar(x), scalar(y))
                {
                    // Equal ids pair too: the recorded id is then known as the target's.
                    ids.entry(x).or_insert(y);
                } else {
                    pair_ids(x, y, ids, depth + 1);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (x, y) in a.iter().zip(b) {
                pair_ids(x, y, ids, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_pair_at_the_same_places_and_only_id_fields() {
        let mut ids = BTreeMap::new();
        pair_ids(
            &json!({"registeredId": "r1", "userId": "u", "e": [{"id": "e1", "customerID": 7}], "siteId": "306", "chatId": "c"}),
            &json!({"registeredId": "r2", "userId": "v", "e": [{"id": "e2", "customerID": 9}], "siteId": "154", "chatId": "c"}),
            &mut ids,
            0,
        );
        let got: Vec<(&str, &str)> = ids.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(
            got,
            vec![("7", "9"), ("c", "c"), ("e1", "e2"), ("r1", "r2")]
        );
    }

    #[test]
    fn offers_are_engagements_with_a_new_request() {
        let body = json!({"engagements": [
            {"id": "a", "messages": [{"messageType": "chatLine"}]},
            {"id": "b", "messages": [{"messageType": "newRequest"}]},
        ]});
        let ids: Vec<String> = offers_in(&body).into_iter().map(|(i, _)| i).collect();
        assert_eq!(ids, vec!["b"]);
        assert!(offers_in(&json!({})).is_empty());
    }
}
