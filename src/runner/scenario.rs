//! goose glue: personas become goose scenarios built from closures at run time; one goose user
//! is one agent. A user's `on_start` takes the next credential from the pool and creates its
//! `Agent`, the one looping transaction runs a bounded `Agent::tick`, and `on_stop` sets the agent
//! busy. The calls an agent made are reported to goose's own metrics (for goose's report) after
//! each tick; the harness's reported figures come from its own HDR recorder.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use goose::prelude::*;
use tokio::sync::Mutex;

use super::agent::{Agent, Made};
use super::credential::Credential;
use super::ctx::Ctx;
use super::persona::PersonaPlan;

/// What every user's closures share.
pub struct Fleet {
    pub ctx: Arc<Ctx>,
    pub credentials: Vec<Credential>,
    pub next: AtomicUsize,
    pub seed: u64,
}

/// A goose user's session data: its agent, taken out for the duration of a tick.
#[derive(Clone)]
struct Slot(Arc<Mutex<Option<Agent>>>);

/// Builds one goose scenario per persona, weighted by the persona's weight.
pub fn scenarios(
    fleet: Arc<Fleet>,
    personas: &[Arc<PersonaPlan>],
) -> Result<Vec<Scenario>, GooseError> {
    let mut out = Vec::with_capacity(personas.len());
    for persona in personas {
        let start_fleet = fleet.clone();
        let start_persona = persona.clone();
        let on_start: TransactionFunction = Arc::new(move |user| {
            let fleet = start_fleet.clone();
            let persona = start_persona.clone();
            Box::pin(async move {
                let i = fleet.next.fetch_add(1, Ordering::Relaxed);
                if let Some(cred) = fleet.credentials.get(i % fleet.credentials.len().max(1)) {
                    let seed = fleet.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let agent = Agent::new(fleet.ctx.clone(), cred.clone(), persona, seed);
                    user.set_session_data(Slot(Arc::new(Mutex::new(Some(agent)))));
                }
                Ok(())
            })
        });
        let tick: TransactionFunction = Arc::new(move |user| {
            Box::pin(async move {
                drive(user, Step::Tick).await;
                Ok(())
            })
        });
        let on_stop: TransactionFunction = Arc::new(move |user| {
            Box::pin(async move {
                drive(user, Step::Finish).await;
                Ok(())
            })
        });
        let scenario = Scenario::new(&persona.name)
            .set_weight(persona.weight.max(1) as usize)?
            .register_transaction(Transaction::new(on_start).set_name("login").set_on_start())
            .register_transaction(Transaction::new(tick).set_name("agent"))
            .register_transaction(Transaction::new(on_stop).set_name("logout").set_on_stop());
        out.push(scenario);
    }
    Ok(out)
}

/// What a transaction asks of the user's agent.
#[derive(Clone, Copy)]
enum Step {
    /// One bounded step of its loop.
    Tick,
    /// The end of its run.
    Finish,
}

/// Runs `step` on the user's agent and reports the calls it made to goose.
async fn drive(user: &mut GooseUser, step: Step) {
    let slot = user.get_session_data::<Slot>().cloned();
    let made = match slot {
        Some(slot) => {
            let mut guard = slot.0.lock().await;
            match (guard.as_mut(), step) {
                (Some(agent), Step::Tick) => agent.tick().await,
                (Some(agent), Step::Finish) => agent.finish().await,
                (None, _) => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    report(user, made).await;
}

/// Hands the calls of a tick to goose's metrics (goose's own report reads them).
async fn report(user: &mut GooseUser, made: Vec<Made>) {
    for m in made {
        // A failed request makes goose return an error here; it is already counted.
        let _ = user
            .record_custom_request_duration(m.method, m.name, m.latency, m.success, m.status, None)
            .await;
    }
}
