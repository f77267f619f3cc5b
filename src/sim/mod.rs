//! The AEAPI simulator: the embedded default target and a local sandbox for agent desktops.
//!
//! SKELETON: the public API below is fixed (the runner and `simulate` call it); the behaviour is
//! built in `src/sim/` by the simulator work.

use std::net::SocketAddr;

use serde::Deserialize;

/// Development application credentials (the reference's sample Basic header decodes to these).
pub const DEV_CLIENT_ID: &str = "ceapiClientId";
pub const DEV_CLIENT_SECRET: &str = "ceapiClientSecret";

/// Simulator settings (from `--config FILE` or a suite's `simulator:` section).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {}

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    /// Base URL of the API (`http://127.0.0.1:PORT`).
    pub api_base: String,
    /// Base URL of the auth server (same listener).
    pub auth_base: String,
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

/// Builds the router.
pub fn app(_config: SimConfig) -> axum::Router {
    axum::Router::new()
}

/// Starts the simulator on `listen` (port 0 for an ephemeral port) in this process.
pub async fn start(config: SimConfig, listen: SocketAddr) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = app(config);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    let base = format!("http://{addr}");
    Ok(SimHandle {
        addr,
        api_base: base.clone(),
        auth_base: base,
        shutdown: tx,
        task,
    })
}
