//! Runs the AEAPI simulator standalone (the `simulate` command's equivalent until the CLI lands).
//!
//! ```text
//! cargo run --release --example sim_server -- --listen 127.0.0.1:0 [--config sim.yaml]
//! ```
//! Prints `listening on http://ADDR` once bound, then serves until stdin closes or Ctrl-C.

use std::net::SocketAddr;

use aeapi_harness::sim::{self, SimConfig};

fn usage() -> ! {
    eprintln!("usage: sim_server [--listen ADDR] [--config FILE.yaml]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut config = SimConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => {
                listen = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--config" => {
                let path = args.next().unwrap_or_else(|| usage());
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: cannot read {path}: {e}");
                        std::process::exit(2)
                    }
                };
                config = match serde_yaml::from_str(&text) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("error: {path}: {e}");
                        std::process::exit(2)
                    }
                };
            }
            _ => usage(),
        }
    }
    let handle = match sim::start(config, listen).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot start the simulator: {e}");
            std::process::exit(1)
        }
    };
    println!("listening on {}", handle.api_base);
    tokio::signal::ctrl_c().await.ok();
    handle.shutdown().await;
}
