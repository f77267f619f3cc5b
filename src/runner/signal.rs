//! The signals that stop a run early: SIGTERM and SIGINT (Ctrl-C).
//!
//! Listening replaces the default action (death without reports) for the rest of the process,
//! so a command listens from before its first request: a signal during any wait then ends the
//! run through its normal tail, reports written.

/// Resolves when SIGTERM or SIGINT arrives; says which. Pending forever where neither can be
/// listened to.
pub async fn stop_requested() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM received",
                _ = int.recv() => "interrupted (Ctrl-C)",
            },
            (Ok(mut term), Err(_)) => {
                term.recv().await;
                "SIGTERM received"
            }
            (Err(_), Ok(mut int)) => {
                int.recv().await;
                "interrupted (Ctrl-C)"
            }
            (Err(_), Err(_)) => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "interrupted (Ctrl-C)",
            Err(_) => std::future::pending().await,
        }
    }
}
