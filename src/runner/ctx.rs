//! What every agent of a run shares: the HTTP client and pool, the endpoint, the token source,
//! the compiled contracts, the recorder, the API windows, live counters for the progress line,
//! and the stop signal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::deliveries::Deliveries;
use crate::aeapi::client::{Endpoint, Transport};
use crate::aeapi::token::{TokenRequest, TokenStore};
use crate::check::Contracts;
pub use crate::check::window::Windows;
use crate::metrics::Recorder;

/// Where tokens come from.
pub enum Tokens {
    /// client_credentials: one store shared by every agent.
    Shared(Arc<TokenStore>),
    /// password grant: each agent gets a store built from this template plus its credentials.
    PerAgent(TokenRequest),
}

/// Live counters for the progress line (cheap atomics, not the HDR data).
#[derive(Default)]
pub struct Live {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub engagements: AtomicU64,
    pub agents: AtomicU64,
}

impl Live {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Shared by all agents of one run.
pub struct Ctx {
    /// For tokens and harness-driven customers.
    pub http: reqwest::Client,
    /// For the agents' calls: the lean HTTP/1.1 client on `http://` targets, else `http`.
    pub transport: Transport,
    pub endpoint: Endpoint,
    pub tokens: Tokens,
    pub contracts: Contracts,
    pub recorder: Recorder,
    pub windows: Windows,
    /// The site the agents work on (sent where the API takes a site id).
    pub site_id: String,
    /// How long a long-poll may take before the harness gives up on it.
    pub poll_timeout: Duration,
    pub live: Live,
    pub stop: CancellationToken,
    /// Send times of tagged chat lines, for end-to-end delivery time.
    pub deliveries: Deliveries,
    /// Give each agent its own client with a cookie jar instead of sharing `http`.
    pub per_agent_clients: bool,
    /// client_credentials tokens for harness-driven customers (None: customers are not driven).
    pub customer_tokens: Option<Arc<TokenStore>>,
}
