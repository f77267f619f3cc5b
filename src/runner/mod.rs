//! The load runner: a suite's fleet of agents on goose, against a remote AEAPI or the embedded
//! simulator, with live checks and the harness's own HDR recording.
//!
//! `run` takes the resolved plan (`plan`: target, credentials, personas, contracts, goose test
//! plan), starts the embedded simulator when the target is embedded, drives goose with its
//! controllers off and `initialize_with_config` (it never parses the process's arguments), shows
//! a progress line, and returns what was recorded even when the run is cut short (Ctrl-C,
//! SIGTERM, or the run's own time bound). Judging the outcome and reporting it is the command
//! layer's (`app::run`).

pub mod agent;
pub mod arrivals;
pub mod credential;
pub mod ctx;
pub mod customers;
pub mod deliveries;
pub mod persona;
pub mod plan;
pub mod progress;
pub mod record;
pub mod rendezvous;
pub mod scenario;
pub mod signal;
pub mod sim_customers;
pub mod term;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::aeapi::client::{Endpoint, Transport};
use crate::aeapi::token::TokenStore;
use crate::metrics::{Observer, Recorder, RunData};
use ctx::{Ctx, Live, Tokens, Windows};
use plan::RunPlan;

/// Why a run could not happen (as opposed to a run whose checks failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan is unusable (exit code 2): an unset secret, an empty agent pool, ...
    #[error("{0}")]
    Plan(String),
    /// The harness could not run (exit code 3): target unreachable at start, goose failed, ...
    #[error("{0}")]
    Harness(String),
}

/// What a finished (or cut-short) run gathered.
pub struct RunResult {
    pub data: RunData,
    /// The API base the run targeted.
    pub target: String,
    pub started: time::OffsetDateTime,
    pub ended: time::OffsetDateTime,
    /// Set when Ctrl-C, SIGTERM or the time bound stopped the run early.
    pub interrupted: Option<String>,
    /// goose's own HTML report, when goose wrote one.
    pub goose_report: Option<PathBuf>,
}

/// Runs a plan to the end (or until interrupted) and returns everything recorded.
pub async fn run(plan: &RunPlan) -> Result<RunResult, RunError> {
    run_observed(plan, None).await
}

/// [`run`], with everything recorded also forwarded to `observer` as it happens (the live
/// metrics and dashboard).
pub async fn run_observed(
    plan: &RunPlan,
    observer: Option<Arc<dyn Observer>>,
) -> Result<RunResult, RunError> {
    let (target, sim) =
        plan.target.start().await.map_err(|e| {
            RunError::Harness(format!("could not start the embedded simulator: {e}"))
        })?;
    // Set-up first (simulator, token), then the start (rendezvous or `--start-at`): the
    // recorder's time line begins when the load does.
    let (ctx, started) = match connect(plan, &target, observer).await {
        Ok(Ok(ctx)) => ctx,
        Ok(Err(why)) => {
            if let Some(s) = sim {
                s.shutdown().await;
            }
            let now = time::OffsetDateTime::now_utc();
            return Ok(RunResult {
                data: Recorder::new(Instant::now(), Duration::from_secs(1)).snapshot(),
                target: target.api_base,
                started: now,
                ended: now,
                interrupted: Some(why),
                goose_report: None,
            });
        }
        Err(e) => {
            if let Some(s) = sim {
                s.shutdown().await;
            }
            return Err(e);
        }
    };
    let sim_customers = Arc::new(sim_customers::SimCustomers::new(ctx.clone()));
    if let Some(s) = &sim {
        s.sim.set_customer_lines(sim_customers.clone());
    }
    let t0 = ctx.recorder.start();
    let recorder = ctx.recorder.clone();
    let fleet = Arc::new(scenario::Fleet {
        ctx: ctx.clone(),
        credentials: plan.credentials.clone(),
        next: AtomicUsize::new(0),
        seed: plan.seed,
    });
    let report_path = plan.out_dir.join("goose-report.html");
    let attack = build_attack(plan, &target.api_base, &report_path, fleet)
        .map_err(|e| RunError::Harness(format!("could not configure goose: {e}")))?;
    let helpers = Helpers::spawn(plan, &ctx, sim.as_ref(), t0);
    let outcome = attack.execute().await;
    let interrupted = helpers.stop(&ctx).await;
    if let Some(s) = sim {
        s.shutdown().await;
    }
    sim_customers.close();
    goose::reset_killswitch();
    let (interrupted, goose_report) = match outcome {
        // goose stopped with an error: keep what was recorded, and say why.
        Err(e) => (
            Some(interrupted.unwrap_or(format!("goose stopped: {e:?}"))),
            None,
        ),
        Ok(_) => (interrupted, report_path.exists().then_some(report_path)),
    };
    Ok(RunResult {
        data: recorder.snapshot(),
        target: target.api_base,
        started,
        ended: time::OffsetDateTime::now_utc(),
        interrupted,
        goose_report,
    })
}

/// The HTTP client, tokens and shared context of a run, and the wall-clock instant its load
/// starts. The target must answer before any agent starts: an unreachable target is a harness
/// error (exit code 3). The shared token is fetched before the start (`plan.start`) is awaited,
/// so a rendezvous releases load, not set-up; it is judged like any call once the context
/// exists. `Ok(Err(why))`: a signal stopped the run while it waited for the first token.
async fn connect(
    plan: &RunPlan,
    target: &plan::ResolvedTarget,
    observer: Option<Arc<dyn Observer>>,
) -> Result<Result<(Arc<Ctx>, time::OffsetDateTime), String>, RunError> {
    let http = crate::aeapi::client::http_client(target.insecure_tls, plan.request_timeout)
        .map_err(|e| RunError::Harness(format!("could not build the HTTP client: {e}")))?;
    let store = |request| {
        Arc::new(
            TokenStore::new(request, http.clone())
                .with_limits(plan.request_timeout, plan.body_limit),
        )
    };
    let tokens = if target.password_grant {
        Tokens::PerAgent(target.token_request())
    } else {
        Tokens::Shared(store(target.token_request()))
    };
    let first = match &tokens {
        Tokens::Shared(store) => tokio::select! {
            got = store.get() => Some(got),
            why = signal::stop_requested() => {
                return Ok(Err(format!("{why} while waiting for the first token")));
            }
        },
        Tokens::PerAgent(_) => None,
    };
    let started = plan
        .start
        .wait()
        .await
        .map_err(|e| RunError::Harness(e.to_string()))?;
    let recorder = Recorder::with_observer(Instant::now(), Duration::from_secs(1), observer);
    let customer_tokens = plan.customers.as_ref().map(|_| match &tokens {
        Tokens::Shared(store) => store.clone(),
        Tokens::PerAgent(_) => store(target.token_request()),
    });
    let endpoint = Endpoint::new(&target.api_base, target.output, plan.request_timeout)
        .with_body_limit(plan.body_limit);
    let ctx = Arc::new(Ctx {
        transport: Transport::for_endpoint(http.clone(), &endpoint),
        endpoint,
        http,
        tokens,
        contracts: plan.contracts.clone(),
        recorder: recorder.clone(),
        windows: Windows::default(),
        site_id: target.site_id.clone(),
        poll_timeout: plan.poll_timeout,
        live: Live::default(),
        stop: CancellationToken::new(),
        deliveries: deliveries::Deliveries::default(),
        per_agent_clients: plan.per_agent_clients,
        customer_tokens,
    });
    if let Some((result, fetch)) = first {
        if let Some(mut f) = fetch {
            let how = record::Context {
                check_budget: true,
                ..Default::default()
            };
            record::response(&ctx, &mut f.observed, "harness", 0.0, how);
        }
        if let Err(e) = result {
            return Err(RunError::Harness(format!(
                "target not usable at start: {e}"
            )));
        }
    }
    Ok(Ok((ctx, started)))
}

/// The tasks beside goose: the stop watcher (SIGTERM here, Ctrl-C through goose's own handler
/// seen as its killswitch, and the run's own time bound), the progress line, the agent sampler,
/// the harness's customers and the simulator's stepped arrival rates.
struct Helpers {
    interrupted: Arc<std::sync::Mutex<Option<String>>>,
    done: Arc<AtomicBool>,
    watcher: tokio::task::JoinHandle<()>,
    progress: progress::Progress,
    sampler: tokio::task::JoinHandle<()>,
    customers: Option<tokio::task::JoinHandle<()>>,
    stepped_arrivals: Option<tokio::task::JoinHandle<()>>,
}

impl Helpers {
    fn spawn(
        plan: &RunPlan,
        ctx: &Arc<Ctx>,
        sim: Option<&crate::sim::SimHandle>,
        t0: Instant,
    ) -> Helpers {
        let interrupted = Arc::new(std::sync::Mutex::new(None::<String>));
        let done = Arc::new(AtomicBool::new(false));
        let watcher = tokio::spawn(watch_stop(
            ctx.stop.clone(),
            interrupted.clone(),
            done.clone(),
            plan.total_time() + plan.grace,
        ));
        let progress = progress::start(ctx.clone(), plan.total_time(), plan.show_progress);
        let sampler = tokio::spawn(sample_agents(ctx.clone()));
        let customers = plan.customers.clone().map(|c| {
            let until = t0 + plan.total_time();
            let arrivals = plan.arrivals.clone();
            tokio::spawn(customers::drive(
                ctx.clone(),
                c,
                arrivals,
                (t0, until),
                plan.seed,
            ))
        });
        let stepped_arrivals = match sim {
            Some(s) if !plan.arrivals.changes.is_empty() => Some(tokio::spawn(step_arrivals(
                s.sim.clone(),
                plan.arrivals.clone(),
                t0,
                ctx.stop.clone(),
            ))),
            _ => None,
        };
        Helpers {
            interrupted,
            done,
            watcher,
            progress,
            sampler,
            customers,
            stepped_arrivals,
        }
    }

    /// Stops every helper once goose has returned; says why the run was cut short, if it was.
    async fn stop(self, ctx: &Ctx) -> Option<String> {
        self.done.store(true, Ordering::Relaxed);
        ctx.stop.cancel();
        self.progress.finish();
        self.sampler.abort();
        let _ = self.watcher.await;
        if let Some(c) = self.customers {
            let _ = c.await;
        }
        if let Some(a) = self.stepped_arrivals {
            a.abort();
        }
        self.interrupted.lock().map(|g| g.clone()).unwrap_or(None)
    }
}

fn build_attack(
    plan: &RunPlan,
    host: &str,
    report: &std::path::Path,
    fleet: Arc<scenario::Fleet>,
) -> Result<GooseAttack, GooseError> {
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .set_default(GooseDefault::Host, host)?
        .set_default(GooseDefault::TestPlan, plan.goose_test_plan().as_str())?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoErrorSummary, true)?
        // An agent's "transactions" are bounded ticks of its loop, not user actions: goose's
        // transaction and scenario tables would say nothing, and each costs per-user state.
        .set_default(GooseDefault::NoTransactionMetrics, true)?
        .set_default(GooseDefault::NoScenarioMetrics, true)?
        .set_default(GooseDefault::Quiet, 1)?
        .set_client_builder_without_cookies(
            goose::client::GooseClientBuilder::new().without_cookies(),
        )?;
    if let Some(path) = report.to_str()
        && std::fs::create_dir_all(plan.out_dir.as_path()).is_ok()
    {
        attack = *attack.set_default(GooseDefault::ReportFile, path)?;
    }
    for s in scenario::scenarios(fleet, &plan.personas)? {
        attack = attack.register_scenario(s);
    }
    Ok(attack)
}

/// Cancels the run on SIGTERM, on goose's killswitch (Ctrl-C), or past the time bound, and
/// says why in `interrupted`.
async fn watch_stop(
    stop: CancellationToken,
    interrupted: Arc<std::sync::Mutex<Option<String>>>,
    done: Arc<AtomicBool>,
    bound: Duration,
) {
    let deadline = tokio::time::Instant::now() + bound;
    let mut term = term::Term::listen();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let reason = tokio::select! {
            _ = stop.cancelled() => return,
            _ = term.recv() => Some("SIGTERM received".to_string()),
            _ = tokio::time::sleep_until(deadline) => Some(format!(
                "the run exceeded its time bound of {} s", bound.as_secs())),
            _ = tick.tick() => {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                goose::is_killswitch_triggered().then(|| "interrupted (Ctrl-C)".to_string())
            }
        };
        if let Some(reason) = reason {
            if let Ok(mut g) = interrupted.lock() {
                g.get_or_insert(reason.clone());
            }
            goose::trigger_killswitch(&reason);
            stop.cancel();
            return;
        }
    }
}

/// Sets the embedded simulator's arrival rate at each step that names one, until the run stops.
async fn step_arrivals(
    sim: Arc<crate::sim::Sim>,
    arrivals: arrivals::Arrivals,
    t0: Instant,
    stop: CancellationToken,
) {
    for (at, rate) in arrivals.changes {
        tokio::select! {
            _ = tokio::time::sleep_until((t0 + at).into()) => sim.set_arrival_rate(rate),
            _ = stop.cancelled() => return,
        }
    }
}

/// Samples the number of logged-in agents into the recorder's time series once a second, and
/// every few seconds hands an observer the totals so far.
async fn sample_agents(ctx: Arc<Ctx>) {
    const PROGRESS_EVERY: u64 = 5;
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let t0 = Instant::now();
    for n in 1u64.. {
        every.tick().await;
        ctx.recorder
            .set_active_agents(ctx.live.agents.load(Ordering::Relaxed));
        if let Some(o) = ctx.recorder.observer()
            && n.is_multiple_of(PROGRESS_EVERY)
        {
            o.progress(&ctx.recorder.totals(), t0.elapsed());
        }
    }
}
