//! The monitor's HTTP listener(s): `/metrics` for Prometheus (`--metrics-listen`), and the live
//! page `/` with its data `/api/live` and, once the run is over, its reports under `/reports/`
//! (`--dashboard`). The two flags may name one address, which then serves everything.
//!
//! Listeners are bound before the run starts (a taken port is an error at once, not a silent
//! run), a ticker closes the timeline's intervals, and [`Server::stop`] lingers a moment after
//! the run so a last scrape and the open pages see the final state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::Monitor;
use super::prom::CONTENT_TYPE;

/// The live page: one self-contained file (inline CSS, JS and SVG; no external assets).
pub const PAGE: &str = include_str!("page.html");

/// What the page may load: only itself and its own JSON (no CDN, no other host).
const PAGE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
     form-action 'none'";

/// Where to listen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listen {
    /// `--metrics-listen`: `/metrics`.
    pub metrics: Option<SocketAddr>,
    /// `--dashboard`: the live page.
    pub dashboard: Option<SocketAddr>,
}

impl Listen {
    /// Whether anything is to be served.
    pub fn any(&self) -> bool {
        self.metrics.is_some() || self.dashboard.is_some()
    }
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ({what})")]
pub struct ListenError {
    pub addr: SocketAddr,
    pub what: &'static str,
    #[source]
    pub source: std::io::Error,
}

/// Running listeners and the timeline's ticker.
pub struct Server {
    /// Where `/metrics` is served, once bound (port 0 resolved).
    pub metrics_addr: Option<SocketAddr>,
    /// Where the live page is served.
    pub dashboard_addr: Option<SocketAddr>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

#[derive(serde::Deserialize)]
struct Since {
    #[serde(default)]
    since: usize,
}

async fn metrics(State(m): State<Arc<Monitor>>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], m.exposition()).into_response()
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

async fn live(State(m): State<Arc<Monitor>>, Query(q): Query<Since>) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(m.state(q.since)),
    )
        .into_response()
}

/// A report the finished run listed, by file name only (nothing else on disk is reachable).
async fn report(State(m): State<Arc<Monitor>>, Path(name): Path<String>) -> Response {
    let Some(link) = m
        .finished()
        .and_then(|f| f.reports.into_iter().find(|r| r.name == name))
    else {
        return (StatusCode::NOT_FOUND, "no such report").into_response();
    };
    let kind = match link.path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        _ => "text/plain; charset=utf-8",
    };
    match tokio::fs::read(&link.path).await {
        Ok(body) => ([(header::CONTENT_TYPE, kind)], body).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, format!("{name}: {e}")).into_response(),
    }
}

/// The routes one listener serves.
pub fn router(monitor: Arc<Monitor>, metrics_route: bool, dashboard: bool) -> Router {
    let mut r = Router::new();
    if metrics_route {
        r = r.route("/metrics", get(metrics));
    }
    if dashboard {
        r = r
            .route("/", get(page))
            .route("/api/live", get(live))
            .route("/reports/{name}", get(report));
    }
    r.with_state(monitor)
}

async fn bind(
    addr: SocketAddr,
    what: &'static str,
) -> Result<tokio::net::TcpListener, ListenError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError { addr, what, source })
}

impl Server {
    /// Binds the listeners of `listen` and starts serving and ticking (on the current tokio
    /// runtime).
    pub async fn start(monitor: Arc<Monitor>, listen: Listen) -> Result<Server, ListenError> {
        let mut planned: Vec<(tokio::net::TcpListener, bool, bool)> = Vec::new();
        match (listen.metrics, listen.dashboard) {
            (Some(m), Some(d)) if m == d => planned.push((
                bind(m, "--metrics-listen and --dashboard").await?,
                true,
                true,
            )),
            (m, d) => {
                if let Some(m) = m {
                    planned.push((bind(m, "--metrics-listen").await?, true, false));
                }
                if let Some(d) = d {
                    planned.push((bind(d, "--dashboard").await?, false, true));
                }
            }
        }
        let stop = CancellationToken::new();
        let mut server = Server {
            metrics_addr: None,
            dashboard_addr: None,
            stop: stop.clone(),
            tasks: Vec::new(),
        };
        for (listener, metrics_route, dashboard) in planned {
            let addr = listener.local_addr().ok();
            if metrics_route {
                server.metrics_addr = addr;
            }
            if dashboard {
                server.dashboard_addr = addr;
            }
            let app = router(monitor.clone(), metrics_route, dashboard);
            let stop = stop.clone();
            server.tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
            }));
        }
        let ticker_stop = stop.clone();
        server.tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(monitor.tick_interval());
            every.tick().await;
            loop {
                tokio::select! {
                    _ = every.tick() => {
                        if monitor.finished().is_none() {
                            monitor.tick();
                        }
                    }
                    _ = ticker_stop.cancelled() => return,
                }
            }
        }));
        Ok(server)
    }

    /// Keeps serving for `linger` (a last scrape, the pages' last poll), then stops. Open
    /// connections get at most a second more.
    pub async fn stop(self, linger: Duration) {
        tokio::time::sleep(linger).await;
        self.stop.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
    }

    /// Binds and serves on a thread of its own (a small runtime beside the run's, so the page
    /// and the scrapes stay answered however busy the run is). Returns once bound.
    pub fn spawn(monitor: Arc<Monitor>, listen: Listen) -> Result<Background, ListenError> {
        let first = listen
            .metrics
            .or(listen.dashboard)
            .unwrap_or(([127, 0, 0, 1], 0).into());
        let thread_error = move |source| ListenError {
            addr: first,
            what: "a thread for the listener",
            source,
        };
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Duration>();
        let thread = std::thread::Builder::new()
            .name("aeapi-live".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = bound_tx.send(Err(thread_error(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match Server::start(monitor, listen).await {
                        Ok(server) => {
                            let _ = bound_tx.send(Ok((server.metrics_addr, server.dashboard_addr)));
                            let linger = stop_rx.await.unwrap_or(Duration::ZERO);
                            server.stop(linger).await;
                        }
                        Err(e) => {
                            let _ = bound_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(thread_error)?;
        match bound_rx.recv() {
            Ok(Ok((metrics_addr, dashboard_addr))) => Ok(Background {
                metrics_addr,
                dashboard_addr,
                stop: stop_tx,
                thread,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(thread_error(std::io::Error::other(
                "the listener thread ended",
            ))),
        }
    }
}

/// A [`Server`] on its own thread.
pub struct Background {
    pub metrics_addr: Option<SocketAddr>,
    pub dashboard_addr: Option<SocketAddr>,
    stop: tokio::sync::oneshot::Sender<Duration>,
    thread: std::thread::JoinHandle<()>,
}

impl Background {
    /// Serves for `linger` more, then stops and waits for the thread (blocking).
    pub fn stop(self, linger: Duration) {
        let _ = self.stop.send(linger);
        let _ = self.thread.join();
    }
}
