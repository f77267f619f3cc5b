//! Plain goose against one URL: the baseline the harness's throughput is compared with in
//! `scripts/bench-runner.sh`. One GET per transaction, shared client, no checks of our own.
//!
//! Usage: `goose_plain URL USERS SECONDS` (e.g. `http://127.0.0.1:8080/engagementAPI/v2/agent/preLoginStatus?username=agent1 50 10`).
//! Prints `goose_plain requests=N seconds=S rps=R`.

use std::sync::Arc;

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(users), Some(secs)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: goose_plain URL USERS SECONDS");
        std::process::exit(2);
    };
    let parsed = reqwest::Url::parse(url)?;
    let host = format!("{}://{}", parsed.scheme(), parsed.authority());
    let path: &'static str =
        Box::leak(format!("{}?{}", parsed.path(), parsed.query().unwrap_or("")).into_boxed_str());
    let users: usize = users.parse()?;
    let secs: usize = secs.parse()?;
    let get: TransactionFunction = Arc::new(move |user| {
        Box::pin(async move {
            let _ = user.get(path).await?;
            Ok(())
        })
    });
    let plan = format!("{users},0s;{users},{secs}s;0,0s");
    let metrics = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .set_default(GooseDefault::Host, host.as_str())?
        .set_default(GooseDefault::TestPlan, plan.as_str())?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::Quiet, 1)?
        .set_client_builder_without_cookies(
            goose::client::GooseClientBuilder::new().without_cookies(),
        )?
        .register_scenario(scenario!("plain").register_transaction(Transaction::new(get)))
        .execute()
        .await?;
    let total: usize = metrics
        .requests
        .values()
        .map(|r| r.success_count + r.fail_count)
        .sum();
    let failed: usize = metrics.requests.values().map(|r| r.fail_count).sum();
    println!(
        "goose_plain requests={total} failed={failed} seconds={secs} rps={:.0}",
        total as f64 / secs.max(1) as f64
    );
    Ok(())
}
