//! Customer-side handlers (`/engagementAPI/v2/customer/...`, from the field notes) and the
//! built-in customer generator.
//!
//! HTTP customers create engagements, post lines and typing states, and fetch what the agent
//! sent (GET message answers at once; an empty list when nothing is pending). Built-in customers
//! arrive as a Poisson process at `arrival_rate`, wait (up to `customers.patience`) for an agent,
//! then send `customers.lines` lines `customers.think_time` apart and close, or wait for the
//! agent to close. They act on the world directly, not over HTTP, and never queue messages for
//! themselves.

use std::sync::{Arc, Weak};
use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution as _, Exp};
use serde_json::{Value, json};

use super::Sim;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{Req, engagement_id};
use super::params::Input;
use super::state::{Member, Msg, MsgKind, Phase};

/// How the customer calls name their engagement: `(customerID, engagementID)`; a non-numeric id
/// is simply unknown (401).
fn customer_ids(input: &Input) -> Result<(u64, u64), ApiError> {
    let raw = input.require("customerID")?;
    let cid = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::unknown(format!("no such customer {raw}")))?;
    Ok((cid, engagement_id(input, "engagementID")?))
}

/// Checks `siteID` and `businessUnitID` and returns the agent group (`agentGroupID`, else the
/// configured group when the unit has it, else the unit's first group).
///
/// The unit is the configured one (`business_unit`, which may lie outside the seed) or any
/// seed unit, and a seed unit must be on `siteID`. Without `businessUnitID` (the field notes show
/// it without saying it is required) `customer/engagement` (`unit_optional`) takes, by the
/// lenient default, the configured unit when it is on the site, else the site's first seed unit;
/// `strict: true` refuses it (400). agentAvailability always requires it.
fn group_of(sim: &Sim, input: &Input, site: &str, unit_optional: bool) -> Result<String, ApiError> {
    let seed = &sim.seed;
    let configured = sim.config.business_unit.as_str();
    let on_site = |id: &str| seed.business_unit(id).is_none_or(|u| u.site_id == site);
    let bu: String = match input.get("businessUnitID") {
        Some(bu) => bu.into_owned(),
        None if sim.config.strict || !unit_optional => {
            return Err(ApiError::missing("businessUnitID"));
        }
        None if on_site(configured) => configured.to_string(),
        None => seed
            .business_units
            .iter()
            .find(|u| u.site_id == site)
            .map(|u| u.id.clone())
            .ok_or_else(|| {
                ApiError::invalid(
                    "siteID",
                    format!("site `{site}` has no business unit; name one with businessUnitID"),
                )
            })?,
    };
    let unit = seed.business_unit(&bu);
    match unit {
        None if bu != configured => {
            return Err(ApiError::invalid(
                "businessUnitID",
                format!("unknown business unit `{bu}`"),
            ));
        }
        Some(u) if u.site_id != site => {
            return Err(ApiError::invalid(
                "businessUnitID",
                format!(
                    "business unit `{bu}` belongs to site {}, not site {site}",
                    u.site_id
                ),
            ));
        }
        _ => {}
    }
    if let Some(g) = input.get("agentGroupID") {
        return Ok(g.into_owned());
    }
    let default = &sim.config.agent_group;
    Ok(match unit {
        Some(u) if !u.agent_groups.iter().any(|g| g.id == *default) => u
            .agent_groups
            .first()
            .map(|g| g.id.clone())
            .unwrap_or_else(|| default.clone()),
        _ => default.clone(),
    })
}

/// GET or POST agentAvailability.
pub async fn availability(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let site = input.require("siteID")?;
    let group = group_of(sim, &input, &site, false)?;
    let available = sim.core.lock().available(&group);
    Ok(Reply::ok(
        "AgentAvailabilityResponse",
        json!({
            "availability": available,
            "status": if available { "online" } else { "offline" },
            "inHOP": true,
        }),
    ))
}

/// GET or POST engagement: a new chat, offered at once or QUEUED.
pub async fn engagement(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let site = input.require("siteID")?;
    let group = group_of(sim, &input, &site, true)?;
    let initial: Option<Arc<str>> = input.get("InitialMessage").map(|t| Arc::from(t.as_ref()));
    let (now, ms) = sim.now();
    let (eid, cid, queued) = sim
        .core
        .lock()
        .create_engagement(&group, &site, initial, false, now, ms);
    Ok(Reply::ok(
        "EngagementResponse",
        json!({
            "engagementID": eid.to_string(),
            "customerID": cid.to_string(),
            "status": if queued { "QUEUED" } else { "ACCEPTED" },
        }),
    ))
}

/// GET message: what the agent sent since the last call.
pub async fn get_message(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let (cid, eid) = customer_ids(&input)?;
    input.flag("instantResponse", true)?;
    let mut core = sim.core.lock();
    let e = core.customer_engagement(eid, cid)?;
    let messages: Vec<Value> = e
        .customer_queue
        .drain(..)
        .map(|m| m.customer_json())
        .collect();
    Ok(Reply::ok(
        "CustomerMessagesResponse",
        json!({ "messages": messages }),
    ))
}

/// POST message: a chat line, or `messageType=stateChange&state=closed` to close.
pub async fn post_message(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let (cid, eid) = customer_ids(&input)?;
    let (now, ms) = sim.now();
    let kind = match input.get("messageType").as_deref() {
        None | Some("chatLine") => MsgKind::ChatLine,
        // Field notes: the payload is a JSON string in messageText, passed through as is.
        Some("agentDataPass") => MsgKind::AgentDataPass,
        // `state` can only be `closed` (the operation table's values, checked before).
        Some(_) => {
            input.require("state")?;
            sim.core.lock().close_by_customer(eid, cid, now, ms)?;
            return Ok(Reply::empty());
        }
    };
    let text = input.require("messageText")?;
    let msg = Msg {
        kind,
        ..Msg::line(
            Member::Customer,
            Arc::from(text.as_ref()),
            Some(cid.to_string().into()),
            ms,
        )
    };
    sim.core.lock().customer_message(eid, cid, msg)?;
    Ok(Reply::empty())
}

/// POST customerIsTyping?isTyping=true|false.
pub async fn typing(req: Req) -> ApiResult {
    let (sim, input) = req.parts();
    let (cid, eid) = customer_ids(&input)?;
    input.require("isTyping")?;
    let typing = input.flag("isTyping", false)?;
    let state = if typing {
        "customerStartsTyping"
    } else {
        "customerStopsTyping"
    };
    let (_, ms) = sim.now();
    sim.core
        .lock()
        .customer_message(eid, cid, Msg::state(Member::Customer, state, ms))?;
    Ok(Reply::empty())
}

/// The built-in customer generator: Poisson arrivals at the simulator's current arrival rate,
/// one task per customer. The rate may change at any time (`Sim::set_arrival_rate`): the wait
/// for the next arrival is taken in slices of at most `RECHECK`, and a wait longer than a slice
/// is drawn again at the rate of the moment once the slice is over, which keeps the arrivals
/// Poisson (exponential waits are memoryless) and follows a new rate within `RECHECK`. Holds
/// the state weakly: it stops once the simulator is dropped or closing.
pub async fn generate(weak: Weak<Sim>) {
    const RECHECK: Duration = Duration::from_millis(200);
    loop {
        let wait = {
            let Some(sim) = weak.upgrade() else { return };
            if sim.closing() {
                return;
            }
            match Exp::new(sim.arrival_rate()) {
                Ok(gap) if sim.arrival_rate() > 0.0 => {
                    let mut rng = sim.rng.lock();
                    Some(Duration::from_secs_f64(gap.sample(&mut *rng).min(3600.0)))
                }
                _ => None,
            }
        };
        match wait {
            Some(w) if w <= RECHECK => tokio::time::sleep(w).await,
            _ => {
                tokio::time::sleep(RECHECK).await;
                continue;
            }
        }
        let Some(sim) = weak.upgrade() else { return };
        if sim.closing() {
            return;
        }
        let (now, ms) = sim.now();
        let (eid, cid, _) = {
            let mut core = sim.core.lock();
            let group = sim.config.agent_group.clone();
            core.create_engagement(&group, &sim.config.site_id, None, true, now, ms)
        };
        tokio::spawn(play_customer(sim.clone(), eid, cid));
    }
}

/// Where a built-in customer's engagement stands.
fn phase(sim: &Sim, eid: u64) -> Option<(Phase, bool)> {
    sim.core
        .lock()
        .engagements
        .get(&eid)
        .map(|e| (e.phase.clone(), e.customer_closed))
}

/// How often a built-in customer reads what the agents sent, when lines are watched.
const READ_EVERY: Duration = Duration::from_millis(250);

/// A built-in customer's reading of its engagement's transcript: the agents' external chat
/// lines since the last read go to the simulator's [`super::CustomerLines`].
struct Reader {
    seen: usize,
}

impl Reader {
    fn read(&mut self, sim: &Sim, eid: u64) {
        let Some(lines) = sim.lines.get() else {
            return;
        };
        let texts: Vec<Arc<str>> = {
            let core = sim.core.lock();
            let Some(e) = core.engagements.get(&eid) else {
                return;
            };
            let new = e.transcript.get(self.seen..).unwrap_or(&[]);
            self.seen = e.transcript.len();
            new.iter()
                .filter(|m| m.kind == MsgKind::ChatLine && m.from == Member::Agent && !m.internal)
                .filter_map(|m| m.text.clone())
                .collect()
        };
        for t in texts {
            lines.read(&t);
        }
    }

    /// Waits `d`, reading every [`READ_EVERY`] when lines are watched.
    async fn pause(&mut self, sim: &Sim, eid: u64, d: Duration) {
        if sim.lines.get().is_none() {
            tokio::time::sleep(d).await;
            return;
        }
        let until = tokio::time::Instant::now() + d;
        loop {
            let now = tokio::time::Instant::now();
            if now >= until || sim.closing() {
                return;
            }
            tokio::time::sleep((until - now).min(READ_EVERY)).await;
            self.read(sim, eid);
        }
    }
}

/// One built-in customer, bounded in time by `patience` and the number of lines.
async fn play_customer(sim: Arc<Sim>, eid: u64, cid: u64) {
    let b = sim.config.customers.clone();
    let mut reader = Reader { seen: 0 };
    let check = Duration::from_millis(250);
    let give_up = tokio::time::Instant::now() + b.patience.0;
    loop {
        match phase(&sim, eid) {
            Some((Phase::Active { .. }, _)) => break,
            Some((Phase::Closed, _)) | None => return,
            _ if tokio::time::Instant::now() >= give_up || sim.closing() => {
                let (now, ms) = sim.now();
                let _ = sim.core.lock().close_by_customer(eid, cid, now, ms);
                return;
            }
            _ => tokio::time::sleep(check).await,
        }
    }
    let lines = {
        let mut rng = sim.rng.lock();
        b.lines.sample(&mut *rng)
    };
    for i in 1..=lines {
        let think = {
            let mut rng = sim.rng.lock();
            b.think_time.sample(&mut *rng)
        };
        if b.typing {
            let (_, ms) = sim.now();
            let m = Msg::state(Member::Customer, "customerStartsTyping", ms);
            if sim.core.lock().customer_message(eid, cid, m).is_err() {
                return;
            }
        }
        reader.pause(&sim, eid, think).await;
        if sim.closing() {
            return;
        }
        let (_, ms) = sim.now();
        let n: u32 = sim.rng.lock().random_range(0..SAMPLE_LINES.len() as u32);
        let text = format!("{} ({i}/{lines})", SAMPLE_LINES[n as usize]);
        let text = match sim.lines.get() {
            Some(l) => l.tag(&text),
            None => text,
        };
        let m = Msg::line(
            Member::Customer,
            text.into(),
            Some(cid.to_string().into()),
            ms,
        );
        if sim.core.lock().customer_message(eid, cid, m).is_err() {
            return;
        }
    }
    if b.close_after_lines {
        let think = {
            let mut rng = sim.rng.lock();
            b.think_time.sample(&mut *rng)
        };
        reader.pause(&sim, eid, think).await;
        let (now, ms) = sim.now();
        let _ = sim.core.lock().close_by_customer(eid, cid, now, ms);
    } else {
        let give_up = tokio::time::Instant::now() + b.patience.0;
        while tokio::time::Instant::now() < give_up && !sim.closing() {
            match phase(&sim, eid) {
                Some((Phase::Closed, _)) | None => return,
                _ => reader.pause(&sim, eid, Duration::from_secs(1)).await,
            }
        }
        let (now, ms) = sim.now();
        let _ = sim.core.lock().close_by_customer(eid, cid, now, ms);
    }
}

const SAMPLE_LINES: &[&str] = &[
    "Hi, I have a question about my order",
    "Can you check the delivery date?",
    "The payment page shows an error",
    "Is there a discount for this plan?",
    "Thanks, that helps",
    "How do I change my address?",
];

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::sim::{Sim, SimConfig, spawn_background};

    fn engagements(sim: &Sim) -> usize {
        sim.core.lock().engagements.len()
    }

    /// On tokio's paused clock: no customers at rate 0, about rate × time once the rate is
    /// raised mid-run, none again once it is set back to 0.
    #[tokio::test(start_paused = true)]
    async fn the_generator_follows_the_arrival_rate_as_it_changes() {
        let config = SimConfig {
            seed: 5,
            ..SimConfig::default()
        };
        let sim = Sim::new(config).unwrap();
        let tasks = spawn_background(&sim);
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(engagements(&sim), 0);
        sim.set_arrival_rate(5.0);
        tokio::time::sleep(Duration::from_secs(20)).await;
        let during = engagements(&sim);
        // Poisson with mean 100: outside 60..140 is a 4-sigma event.
        assert!(
            (60..=140).contains(&during),
            "{during} arrivals in 20 s at 5/s"
        );
        sim.set_arrival_rate(0.0);
        // A change is followed within one 200 ms re-check.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let settled = engagements(&sim);
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(engagements(&sim), settled);
        for t in tasks {
            t.abort();
        }
    }
}
