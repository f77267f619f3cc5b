//! The live progress line (indicatif): elapsed/total, agents active, engagements handled,
//! req/s and errors. Hidden with `-q` or when stderr is not a terminal.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ctx::Ctx;

/// A running progress line; `finish` clears it.
pub struct Progress {
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub fn finish(self) {
        if let Some(t) = self.task {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// Starts the line when `show` and stderr is a terminal.
pub fn start(ctx: Arc<Ctx>, total: Duration, show: bool) -> Progress {
    let target = ProgressDrawTarget::stderr();
    if !show || target.is_hidden() {
        return Progress {
            bar: None,
            task: None,
        };
    }
    let bar = ProgressBar::with_draw_target(Some(total.as_secs().max(1)), target);
    let style = ProgressStyle::with_template("{elapsed_precise}/{duration_precise} {bar:20} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let b = bar.clone();
    let task = tokio::spawn(async move {
        let t0 = Instant::now();
        let mut last = (Instant::now(), 0u64);
        let mut every = tokio::time::interval(Duration::from_millis(500));
        loop {
            every.tick().await;
            let live = &ctx.live;
            let requests = live.requests.load(Ordering::Relaxed);
            let now = Instant::now();
            let dt = (now - last.0).as_secs_f64().max(1e-3);
            let rate = (requests.saturating_sub(last.1)) as f64 / dt;
            last = (now, requests);
            b.set_position(t0.elapsed().as_secs());
            b.set_message(format!(
                "agents {}  engagements {}  {:.0} req/s  errors {}",
                live.agents.load(Ordering::Relaxed),
                live.engagements.load(Ordering::Relaxed),
                rate,
                live.errors.load(Ordering::Relaxed),
            ));
        }
    });
    Progress {
        bar: Some(bar),
        task: Some(task),
    }
}
