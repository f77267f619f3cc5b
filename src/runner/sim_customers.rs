//! The embedded simulator's built-in customers as the run sees them (delivery time both ways
//! in embedded runs, through [`super::deliveries`]).

use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::ctx::Ctx;
use crate::metrics::Direction;

/// The embedded simulator's built-in customers, seen from the run: their lines are tagged
/// here and the agents' lines they read are timed, so an embedded run reports delivery time
/// both ways without harness-driven customers. The simulator's customers are tasks of their own
/// that may outlive the run by a moment: [`SimCustomers::close`] ends their recording before the
/// run's data is taken, so summary.json and the live metrics count the same lines.
pub struct SimCustomers {
    ctx: Arc<Ctx>,
    open: RwLock<bool>,
}

impl SimCustomers {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        SimCustomers {
            ctx,
            open: RwLock::new(true),
        }
    }

    /// Records nothing more; returns once no reading is being recorded.
    pub fn close(&self) {
        *self.open.write().unwrap_or_else(|p| p.into_inner()) = false;
    }
}

impl crate::sim::CustomerLines for SimCustomers {
    fn tag(&self, text: &str) -> String {
        self.ctx.deliveries.tag(Direction::CustomerToAgent, text)
    }

    fn read(&self, text: &str) {
        let open = self.open.read().unwrap_or_else(|p| p.into_inner());
        if !*open {
            return;
        }
        if let Some((dir, took)) = self.ctx.deliveries.seen(text, Instant::now()) {
            self.ctx.recorder.record_delivery(dir, took);
        }
    }
}
