//! SIGTERM as a future: what a Kubernetes pod gets when its Job is deleted or its deadline
//! passes. One listener, made once, awaited as often as needed; never fires where there is
//! no SIGTERM (or the listener cannot be set up).

/// A SIGTERM listener.
pub struct Term {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Term {
    /// Starts listening (needs a tokio runtime).
    pub fn listen() -> Term {
        Term {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    /// Resolves at the next SIGTERM.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = self.signal.as_mut() {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}
