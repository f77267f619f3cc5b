//! A minimal axum handler, the yardstick of `scripts/bench-sim.sh`: what this machine's
//! loopback and hyper stack can do with no work per request.
//!
//! Prints `listening on http://ADDR` once bound.

use axum::Router;
use axum::routing::{get, post};

#[tokio::main]
async fn main() {
    let listen = std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/", post(|| async { "hello" }));
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot bind {listen}: {e}");
            std::process::exit(1)
        }
    };
    match listener.local_addr() {
        Ok(a) => println!("listening on http://{a}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
    let _ = axum::serve(listener, app).await;
}
