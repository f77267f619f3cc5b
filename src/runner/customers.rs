//! Customers driven by the harness through the customer-side calls real clients use
//! (`field-notes.md`): start an engagement, poll for the agent's lines once a second, send lines
//! at think-time intervals, and close. Customers arrive as a Poisson process at the suite's rate.
//!
//! Every line either side sends carries a tag registered in `runner::deliveries`, for the
//! end-to-end delivery time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::arrivals::Arrivals;
use super::ctx::Ctx;
use super::record;
use crate::aeapi::client::{Call, Observed, send};
use crate::aeapi::ops;
use crate::metrics::Direction;
use crate::suite::values::{Distribution, Range};

/// A request's engagement and customer ids, by parameter name.
type Ids = [(&'static str, String)];
/// A request's other parameters, by name.
type Pairs<'a> = [(&'static str, &'a str)];

/// How harness-driven customers behave.
#[derive(Debug, Clone)]
pub struct CustomerPlan {
    /// Arrivals per second.
    pub rate: f64,
    pub lines: Range,
    pub think: Distribution,
    /// Longest a customer waits for an agent before giving up.
    pub patience: Duration,
    pub site_id: String,
    pub business_unit_id: String,
    pub agent_group_id: String,
}

/// Starts customers (at `plan.rate`, or the stepped `arrivals` from their changes on, offsets
/// from `t0`) until `until` or the run stops; returns when every customer has finished.
pub async fn drive(
    ctx: Arc<Ctx>,
    plan: CustomerPlan,
    arrivals: Arrivals,
    (t0, until): (Instant, Instant),
    seed: u64,
) {
    if !arrivals.any_positive(plan.rate) {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xC057_0E45);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = Instant::now();
    let mut n: u64 = 0;
    let plan = Arc::new(plan);
    while let Some(at) = next_arrival(&mut rng, &arrivals, plan.rate, t0, next) {
        next = at;
        if next >= until {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = ctx.stop.cancelled() => break,
        }
        n += 1;
        let customer = Customer {
            ctx: ctx.clone(),
            plan: plan.clone(),
            rng: SmallRng::seed_from_u64(seed.wrapping_add(n)),
        };
        tasks.spawn(customer.live());
        while tasks.try_join_next().is_some() {}
    }
    // Customers still talking end with the run.
    tokio::select! {
        _ = async { while tasks.join_next().await.is_some() {} } => {}
        _ = ctx.stop.cancelled() => tasks.abort_all(),
    }
}

/// The next arrival after `from`: Poisson at the rate of the moment (`base`, or the last change
/// of `arrivals` before it; offsets from `t0`). A wait that would cross a rate change is drawn
/// again from the change on (exponential waits are memoryless). `None`: the rate is 0 and no
/// change is ahead.
fn next_arrival(
    rng: &mut SmallRng,
    arrivals: &Arrivals,
    base: f64,
    t0: Instant,
    mut from: Instant,
) -> Option<Instant> {
    loop {
        let offset = from.saturating_duration_since(t0);
        let rate = arrivals.rate_at(base, offset);
        let change = arrivals.next_change(offset).map(|at| t0 + at);
        let candidate = (rate > 0.0).then(|| {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            from + Duration::from_secs_f64((-u.ln() / rate).min(86_400.0))
        });
        match (candidate, change) {
            (Some(c), Some(ch)) if c > ch => from = ch,
            (None, Some(ch)) => from = ch,
            (None, None) => return None,
            (Some(c), _) => return Some(c),
        }
    }
}

struct Customer {
    ctx: Arc<Ctx>,
    plan: Arc<CustomerPlan>,
    rng: SmallRng,
}

impl Customer {
    async fn live(mut self) {
        let Some((customer_id, engagement_id)) = self.start().await else {
            return;
        };
        let ids = [("customerID", customer_id), ("engagementID", engagement_id)];
        let lines = self.plan.lines.sample(&mut self.rng);
        let started = Instant::now();
        let mut sent = 0;
        let mut agent_spoke = false;
        let mut next_line = None::<Instant>;
        let mut poll_every = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = poll_every.tick() => {}
                _ = self.ctx.stop.cancelled() => return,
            }
            let now = Instant::now();
            if !agent_spoke && now - started > self.plan.patience {
                break;
            }
            let obs = self
                .call("customer.message.get", &ids, &[("instantResponse", "true")])
                .await;
            let closed_by_agent = self.read_messages(&obs, &mut agent_spoke);
            if closed_by_agent {
                return;
            }
            if agent_spoke && next_line.is_none() && sent < lines {
                next_line = Some(now + self.plan.think.sample(&mut self.rng));
            }
            if let Some(t) = next_line
                && t <= now
            {
                let text = self.ctx.deliveries.tag(
                    Direction::CustomerToAgent,
                    &format!("Customer line {}", sent + 1),
                );
                let form = [("messageText", text.as_str()), ("messageType", "chatLine")];
                let _ = self.post("customer.message.post", &ids, &form).await;
                sent += 1;
                next_line = (sent < lines).then(|| now + self.plan.think.sample(&mut self.rng));
            }
            if sent >= lines && next_line.is_none() {
                break;
            }
        }
        let form = [("messageType", "stateChange"), ("state", "closed")];
        let _ = self.post("customer.message.post", &ids, &form).await;
    }

    /// Starts an engagement; `(customerID, engagementID)` on success.
    async fn start(&mut self) -> Option<(String, String)> {
        let plan = self.plan.clone();
        let q = [
            ("siteID", plan.site_id.as_str()),
            ("businessUnitID", plan.business_unit_id.as_str()),
            ("agentGroupID", plan.agent_group_id.as_str()),
            ("InitialMessage", "Hello, I need help with my order"),
        ];
        let obs = self.call("customer.engagement", &[], &q).await;
        let customer = obs.field("customerID")?.to_string();
        let engagement = obs.field("engagementID")?.to_string();
        Some((customer, engagement))
    }

    /// Reads the agent's lines; true when the agent closed the engagement.
    fn read_messages(&self, obs: &Observed, agent_spoke: &mut bool) -> bool {
        let Some(messages) = obs.body.as_ref().and_then(|b| b.get("messages")) else {
            return false;
        };
        let list: Vec<&Value> = match messages {
            Value::Array(v) => v.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        let now = Instant::now();
        let mut closed = false;
        for m in list {
            let kind = m.get("messageType").and_then(Value::as_str).unwrap_or("");
            let text = m.get("messageText").and_then(Value::as_str).unwrap_or("");
            let state = m.get("state").and_then(Value::as_str).unwrap_or("");
            match kind {
                "chatLine" => {
                    *agent_spoke = true;
                    if let Some((dir, latency)) = self.ctx.deliveries.seen(text, now) {
                        self.ctx.recorder.record_delivery(dir, latency);
                    }
                }
                "stateChange" if state == "agentConnected" => *agent_spoke = true,
                "stateChange" if state.starts_with("agentClosed") || state == "closed" => {
                    closed = true
                }
                _ => {}
            }
        }
        closed
    }

    async fn call(&mut self, op: &'static str, ids: &Ids, extra: &Pairs<'_>) -> Observed {
        self.exchange(op, ids, extra, None).await
    }

    async fn post(&mut self, op: &'static str, ids: &Ids, form: &Pairs<'_>) -> Observed {
        let mut f: Vec<(&'static str, String)> = ids.to_vec();
        f.extend(form.iter().map(|(k, v)| (*k, v.to_string())));
        self.exchange(op, &[], &[], Some(f)).await
    }

    async fn exchange(
        &mut self,
        op_name: &'static str,
        ids: &Ids,
        extra: &Pairs<'_>,
        form: Option<Vec<(&'static str, String)>>,
    ) -> Observed {
        let token = match &self.ctx.customer_tokens {
            Some(store) => store.get().await.0.ok(),
            None => None,
        };
        let Some(op) = ops::find(op_name) else {
            unreachable!("customer operations are in the static table")
        };
        let mut call = Call::new(op, token.as_deref());
        for (k, v) in ids {
            call = call.query(k, v.clone());
        }
        for (k, v) in extra {
            call = call.query(k, *v);
        }
        if let Some(f) = form {
            call = call.form(f);
        }
        let mut obs = send(&self.ctx.http, &self.ctx.endpoint, call).await;
        let sample: f64 = self.rng.random();
        let how = record::Context {
            check_budget: true,
            ..Default::default()
        };
        record::response(&self.ctx, &mut obs, "customer", sample, how);
        obs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every arrival from `t0` to `t0 + secs`, as offsets in seconds.
    fn arrivals_until(arrivals: &Arrivals, base: f64, secs: u64) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(9);
        let t0 = Instant::now();
        let end = t0 + Duration::from_secs(secs);
        let mut at = t0;
        let mut out = Vec::new();
        // Bounded: at most 10,000 arrivals.
        for _ in 0..10_000 {
            match next_arrival(&mut rng, arrivals, base, t0, at) {
                Some(next) if next < end => {
                    out.push((next - t0).as_secs_f64());
                    at = next;
                }
                _ => break,
            }
        }
        out
    }

    #[test]
    fn arrivals_follow_the_stepped_rate() {
        let stepped = Arrivals {
            changes: vec![
                (Duration::from_secs(100), 5.0),
                (Duration::from_secs(200), 0.0),
            ],
        };
        let got = arrivals_until(&stepped, 0.0, 1_000);
        assert!(got.iter().all(|t| (100.0..200.0).contains(t)), "{got:?}");
        // Poisson with mean 500: outside 400..600 is a 4.5-sigma event.
        assert!((400..=600).contains(&got.len()), "{} arrivals", got.len());
        let flat = arrivals_until(&Arrivals::default(), 2.0, 300);
        assert!((480..=720).contains(&flat.len()), "{} arrivals", flat.len());
        assert!(arrivals_until(&Arrivals::default(), 0.0, 300).is_empty());
    }
}
