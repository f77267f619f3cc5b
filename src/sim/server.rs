//! The accept loop behind [`super::start`]: HTTP/1.1 over hyper, one task per connection.
//!
//! axum's own `serve` cannot close a connection without answering, which the `drop_rate` fault
//! needs, so connections are served here: a response marked [`DropConnection`] becomes a service
//! error and hyper closes the connection. Shutdown stops accepting, wakes long-polls, lets
//! connections finish gracefully for up to a second, and stops the background tasks.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower::ServiceExt;

use super::Sim;
use super::gate::DropConnection;

/// The error that makes hyper drop a connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

/// Serves `router` on `listener` until `stop` fires.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    sim: Arc<Sim>,
    background: Vec<JoinHandle<()>>,
    mut stop: oneshot::Receiver<()>,
) {
    let (close_tx, close_rx) = watch::channel(false);
    let alive = Arc::new(());
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of descriptors or a reset before accept: back off briefly, keep serving.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut close_rx = close_rx.clone();
        let token = alive.clone();
        tokio::spawn(async move {
            let _token = token;
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let resp = match router.oneshot(req.map(Body::new)).await {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        if resp.extensions().get::<DropConnection>().is_some() {
                            Err(Dropped)
                        } else {
                            Ok(resp)
                        }
                    }
                });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = close_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
                }
            }
        });
    }
    drop(listener);
    sim.begin_close();
    let _ = close_tx.send(true);
    for t in &background {
        t.abort();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while Arc::strong_count(&alive) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
