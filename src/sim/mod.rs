//! The AEAPI simulator: the embedded default target and a local sandbox for agent desktops.
//!
//! One process serves both the auth server (`/oauth-server/oauth/token`) and the API
//! (`/engagementAPI/v2/...`). Every route is a row of the operation table (`aeapi::ops`: method,
//! path, parameters) joined with the simulator's own (`routes`: handler, summary, example), from
//! which both the router and the OpenAPI document (`openapi`, at `/openapi.json`) are built.
//! Requests pass one middleware (`gate`: operation naming, faults, bearer check, JSON/XML
//! rendering) and then a handler by area (`agent`, `customer`, `auth`, `transfer`, `profile`,
//! `conversation`, `scripts`), which takes its request through one extractor (`extract`) and
//! works on the shared world (`state`, `routing`, `handoff`) behind one short-held lock. The
//! simulator owns its config (`config`, `faults`); it imports nothing from `suite`, `runner`,
//! `report` or `cli`. Site data (business units, groups, scripts, dispositions) is `seed`. A single
//! background task (the reaper) enforces the accept and keep-alive windows; another (when
//! `arrival_rate > 0`) plays customers. See `src/sim/README.md` for endpoints and defaults.

mod agent;
mod auth;
mod config;
mod conversation;
pub mod cors;
mod customer;
mod error;
mod extract;
mod faults;
mod gate;
mod handoff;
#[cfg(test)]
mod model_test;
mod openapi;
mod params;
mod profile;
mod routes;
mod routing;
mod scripts;
pub mod seed;
mod server;
mod state;
mod transfer;
mod xml;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;

pub use auth::Claims;
pub use config::{
    AgentDirectory, AgentEntry, AgentProfile, ClientCredentials, ConfigError, CustomerBehaviour,
    KeepaliveEnds, SimConfig,
};
pub use error::ApiError;
pub use faults::{Drift, DriftAction, FaultConfig, FaultError, JsonType, OpFault, Stall};
pub use gate::operation_of;
pub use openapi::{PATH as OPENAPI_PATH, document as openapi_document};
pub use routes::{ROUTES, RouteDef, RouteDoc};

/// Development application credentials (the reference's sample Basic header decodes to these).
pub const DEV_CLIENT_ID: &str = "ceapiClientId";
pub const DEV_CLIENT_SECRET: &str = "ceapiClientSecret";

/// The shared simulator state behind every handler.
#[derive(Debug)]
pub struct Sim {
    pub(crate) config: SimConfig,
    pub(crate) clock: state::Clock,
    pub(crate) core: Mutex<state::Core>,
    pub(crate) auth: auth::Auth,
    pub(crate) rng: Mutex<StdRng>,
    pub(crate) seed: seed::Seed,
    closing: AtomicBool,
    live: AtomicUsize,
    /// The built-in customers' arrival rate (f64 bits): `config.arrival_rate` until changed.
    arrival: AtomicU64,
    /// Tags the built-in customers' lines and sees the agents' lines they read (set by an
    /// embedded run, for end-to-end delivery time).
    lines: std::sync::OnceLock<Arc<dyn CustomerLines>>,
}

/// What a built-in customer does with chat lines when someone watches delivery time: it sends
/// `tag(text)` instead of `text`, and reports every agent line it reads (it reads what the
/// agents sent every 250 ms, as a chat widget polls).
pub trait CustomerLines: Send + Sync {
    /// The line a built-in customer sends, tagged.
    fn tag(&self, text: &str) -> String;
    /// A built-in customer read this agent line.
    fn read(&self, text: &str);
}

impl std::fmt::Debug for dyn CustomerLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerLines")
    }
}

impl Sim {
    /// Builds the state from a config (validated first).
    pub fn new(config: SimConfig) -> Result<Arc<Self>, ConfigError> {
        config.validate()?;
        let seed = config.load_seed()?;
        let timing = state::Timing {
            accept_window: config.accept_window.0,
            keepalive_window: config.keepalive_window.0,
            keepalive_ends: config.keepalive_ends,
            closed_retention: config.closed_retention.0,
        };
        let site = state::SiteInfo::new(&config.business_unit, &seed);
        Ok(Arc::new(Sim {
            clock: state::Clock::new(),
            core: Mutex::new(state::Core::new(timing, site)),
            auth: auth::Auth::new().map_err(ConfigError::Keys)?,
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            seed,
            closing: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            arrival: AtomicU64::new(config.arrival_rate.to_bits()),
            lines: std::sync::OnceLock::new(),
            config,
        }))
    }

    /// Hands the built-in customers' lines to `lines` from now on (once per simulator; a second
    /// call is ignored).
    pub fn set_customer_lines(&self, lines: Arc<dyn CustomerLines>) {
        let _ = self.lines.set(lines);
    }

    /// Customers the built-in generator starts per second now.
    pub fn arrival_rate(&self) -> f64 {
        f64::from_bits(self.arrival.load(Ordering::Relaxed))
    }

    /// Changes the built-in customers' arrival rate from now on (a stepped load plan does this
    /// at each step); a negative or non-finite rate counts as 0.
    pub fn set_arrival_rate(&self, per_second: f64) {
        let r = if per_second.is_finite() {
            per_second.max(0.0)
        } else {
            0.0
        };
        self.arrival.store(r.to_bits(), Ordering::Relaxed);
    }

    /// Logged-in sessions (as of the last change).
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub(crate) fn set_live(&self, n: usize) {
        self.live.store(n, Ordering::Relaxed);
    }

    /// Whether shutdown has begun (long-polls then answer at once).
    pub(crate) fn closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// Wakes every long-poll so the server can stop promptly.
    pub(crate) fn begin_close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        for s in self.core.lock().sessions.values() {
            s.notify.notify_waiters();
        }
    }

    /// GET messages requests in flight for a logged-in agent (`None` when not logged in).
    pub fn polling(&self, username: &str) -> Option<u16> {
        let core = self.core.lock();
        let sid = core.by_user.get(username)?;
        core.sessions.get(sid).map(|s| s.polling)
    }

    /// A fresh random u32 (registeredId tags).
    pub(crate) fn random_u32(&self) -> u32 {
        rand::Rng::random(&mut *self.rng.lock())
    }

    /// Current tokio time and wall-clock milliseconds.
    pub(crate) fn now(&self) -> (tokio::time::Instant, u64) {
        (tokio::time::Instant::now(), self.clock.unix_ms())
    }

    /// One reaper pass (the background task calls this every `reaper_interval`).
    pub fn reap(&self) {
        let (now, ms) = self.now();
        let live = {
            let mut core = self.core.lock();
            core.reap(now, ms);
            core.live()
        };
        self.set_live(live);
        self.auth.evict(self.clock.unix_secs(), 60);
    }
}

/// Builds the router over a fresh state. Inside a tokio runtime it also starts the background
/// tasks (reaper, customer generator), which end when the router (and so the state) is dropped;
/// outside one, the deadlines are still enforced when calls arrive, but nothing is re-offered or
/// reaped until [`Sim::reap`] runs. Never panics: an invalid config yields a router answering
/// 500 with the reason.
pub fn app(config: SimConfig) -> Router {
    match Sim::new(config) {
        Ok(sim) => {
            if tokio::runtime::Handle::try_current().is_ok() {
                drop(spawn_background(&sim));
            }
            router(sim)
        }
        Err(reason) => Router::new().fallback(move || {
            let reason = reason.clone();
            async move {
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    format!("invalid simulator config: {reason}"),
                )
            }
        }),
    }
}

/// Builds the router over an existing state (tests keep the `Arc<Sim>` to drive the reaper).
pub fn router(sim: Arc<Sim>) -> Router {
    let mut r = Router::new();
    for def in routes::ROUTES.iter() {
        r = r.route(def.path, (def.doc.mount)());
    }
    r.route(openapi::PATH, get(openapi::serve))
        .fallback(|| async {
            ApiError::new(axum::http::StatusCode::NOT_FOUND, "no such operation")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed for this operation",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            sim.clone(),
            gate::gate,
        ))
        .layer(cors::layer(&sim.config.cors))
        .with_state(sim)
}

/// Starts the reaper and the customer generator (idle while the arrival rate is 0). They hold
/// the state weakly and end by themselves once it is dropped; aborting the handles stops them at
/// once.
pub fn spawn_background(sim: &Arc<Sim>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let weak = Arc::downgrade(sim);
    let interval = sim.config.reaper_interval.0;
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match weak.upgrade() {
                Some(sim) if !sim.closing() => sim.reap(),
                _ => return,
            }
        }
    }));
    tasks.push(tokio::spawn(customer::generate(Arc::downgrade(sim))));
    tasks
}

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    /// Base URL of the API (`http://127.0.0.1:PORT`).
    pub api_base: String,
    /// Base URL of the auth server (same listener).
    pub auth_base: String,
    /// The live state (for inspection in tests and tools).
    pub sim: Arc<Sim>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

/// Starts the simulator on `listen` (port 0 for an ephemeral port) in this process.
pub async fn start(config: SimConfig, listen: SocketAddr) -> std::io::Result<SimHandle> {
    let sim =
        Sim::new(config).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = router(sim.clone());
    let background = spawn_background(&sim);
    let task = tokio::spawn(server::serve(listener, router, sim.clone(), background, rx));
    let base = format!("http://{addr}");
    Ok(SimHandle {
        addr,
        api_base: base.clone(),
        auth_base: base,
        sim,
        shutdown: tx,
        task,
    })
}
