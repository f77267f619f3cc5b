//! `aeapi-harness simulate`: serves the embedded AEAPI simulator until Ctrl-C or SIGTERM.

use std::io::Write;

use super::support;
use super::{AppError, Console, SimulateConfig};
use crate::exit::Exit;
use crate::sim::{self, SimConfig};

/// Serves the simulator. A bad `--config` is exit 2; failing to bind is a harness error.
pub fn execute(console: &mut Console, c: &SimulateConfig) -> Result<Exit, AppError> {
    let config = match &c.config {
        Some(path) => crate::suite::load_yaml::<SimConfig>(path).map_err(AppError::Suite)?,
        None => SimConfig::default(),
    };
    let rt = support::runtime()?;
    rt.block_on(async {
        let handle = sim::start(config, c.listen)
            .await
            .map_err(|cause| AppError::Listen {
                addr: c.listen,
                cause,
            })?;
        let _ = writeln!(console.out, "AEAPI simulator listening on {}", handle.addr);
        let _ = writeln!(console.out, "  api base:      {}", handle.api_base);
        let _ = writeln!(console.out, "  auth base:     {}", handle.auth_base);
        let _ = writeln!(console.out, "  client id:     {}", sim::DEV_CLIENT_ID);
        let _ = writeln!(
            console.out,
            "  client secret: {} (the reference's public sample secret)",
            sim::DEV_CLIENT_SECRET
        );
        let _ = writeln!(console.out, "Press Ctrl-C to stop.");
        let _ = console.out.flush();
        shutdown_signal().await;
        if !console.quiet() {
            let _ = writeln!(console.err, "stopping");
        }
        handle.shutdown().await;
        Ok(Exit::Passed)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
