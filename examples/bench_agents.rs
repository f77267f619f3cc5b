//! Load side of `scripts/bench-sim.sh`: many long-polling agents against a running simulator,
//! from a separate process with one shared HTTP client.
//!
//! ```text
//! bench_agents agents --base URL [--agents 15000] [--duration 40] [--concurrency 200]
//! bench_agents post-setup --base URL --lua FILE [--agent agent20000]
//! ```
//! `agents` logs N agents in (`agent1..agentN`), keeps one long-poll per agent open until the
//! duration ends, prints `READY <agents>` once every agent has a poll in flight, and a summary at
//! the end. `post-setup` logs one agent in, gets it an accepted engagement and writes a wrk Lua
//! script that POSTs chat lines to it. Every loop is bounded by count or by the duration; all
//! traffic goes to the given base URL (127.0.0.1 in the script).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::RwLock;

struct Args {
    mode: String,
    base: String,
    agents: u32,
    duration: u64,
    concurrency: usize,
    lua: String,
    agent: String,
}

fn parse() -> Args {
    let mut a = Args {
        mode: String::new(),
        base: "http://127.0.0.1:8080".into(),
        agents: 15_000,
        duration: 40,
        concurrency: 200,
        lua: "post.lua".into(),
        agent: "agent20000".into(),
    };
    let mut it = std::env::args().skip(1);
    a.mode = it.next().unwrap_or_default();
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--base" => a.base = v,
            "--agents" => a.agents = v.parse().unwrap_or(a.agents),
            "--duration" => a.duration = v.parse().unwrap_or(a.duration),
            "--concurrency" => a.concurrency = v.parse().unwrap_or(a.concurrency).max(1),
            "--lua" => a.lua = v,
            "--agent" => a.agent = v,
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    a
}

/// Sends the request and reads its JSON answer.
async fn json_of(request: reqwest::RequestBuilder) -> Result<Value, String> {
    request
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

async fn token(client: &reqwest::Client, base: &str) -> Result<String, String> {
    let basic = base64::engine::general_purpose::STANDARD.encode("ceapiClientId:ceapiClientSecret");
    let v = json_of(
        client
            .post(format!("{base}/oauth-server/oauth/token"))
            .header("authorization", format!("Basic {basic}"))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await?;
    v["access_token"]
        .as_str()
        .map(|t| format!("Bearer {t}"))
        .ok_or_else(|| "no access_token".to_string())
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    auth: &str,
    user: &str,
) -> Result<String, String> {
    let r = client
        .post(format!("{base}/engagementAPI/v2/agent/login?output=json"))
        .header("authorization", auth)
        .form(&[("username", user), ("password", "agent-password")])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("login {user}: {}", r.status()));
    }
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    v["registeredId"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "no registeredId".into())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(40))
        .build()
        .unwrap_or_default()
}

async fn agents(a: Args) -> Result<(), String> {
    let client = client();
    let auth = Arc::new(RwLock::new(token(&client, &a.base).await?));
    let deadline = Instant::now() + Duration::from_secs(a.duration);
    {
        let (client, base, auth) = (client.clone(), a.base.clone(), auth.clone());
        tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(30)).await;
                if let Ok(t) = token(&client, &base).await {
                    *auth.write().await = t;
                }
            }
        });
    }
    let started = Instant::now();
    let logins: Vec<(String, Result<String, String>)> = futures::stream::iter(1..=a.agents)
        .map(|i| {
            let (client, base, auth) = (client.clone(), a.base.clone(), auth.clone());
            async move {
                let user = format!("agent{i}");
                let t = auth.read().await.clone();
                let r = login(&client, &base, &t, &user).await;
                (user, r)
            }
        })
        .buffer_unordered(a.concurrency)
        .collect()
        .await;
    let login_secs = started.elapsed().as_secs_f64();
    let failed = logins.iter().filter(|(_, r)| r.is_err()).count();
    if let Some((_, Err(e))) = logins.iter().find(|(_, r)| r.is_err()) {
        eprintln!("first login error: {e}");
    }
    let polls = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let inflight = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (user, reg) in logins {
        let Ok(reg) = reg else { continue };
        let (client, base, auth) = (client.clone(), a.base.clone(), auth.clone());
        let (polls, errors, inflight) = (polls.clone(), errors.clone(), inflight.clone());
        tasks.push(tokio::spawn(async move {
            let url = format!(
                "{base}/engagementAPI/v2/agent/messages?registeredId={reg}&agentId={user}&output=json"
            );
            let mut first = true;
            while Instant::now() < deadline {
                let t = auth.read().await.clone();
                let fut = client.get(&url).header("authorization", t).send();
                if first {
                    inflight.fetch_add(1, Ordering::Relaxed);
                    first = false;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, fut).await {
                    Err(_) => break,
                    Ok(Ok(r)) if r.status().as_u16() == 200 || r.status().as_u16() == 204 => {
                        let _ = r.bytes().await;
                        polls.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }));
    }
    let total = tasks.len() as u64;
    // Give the polls a moment to reach the server before announcing READY.
    let ready_by = Instant::now() + Duration::from_secs(10);
    while inflight.load(Ordering::Relaxed) < total && Instant::now() < ready_by {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("READY {total} agents (logins {failed} failed, {login_secs:.1} s to log in)");
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "DONE polls answered {} errors {}",
        polls.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed)
    );
    Ok(())
}

async fn post_setup(a: Args) -> Result<(), String> {
    let client = client();
    let auth = token(&client, &a.base).await?;
    let reg = login(&client, &a.base, &auth, &a.agent).await?;
    let v = json_of(
        client
            .get(format!(
                "{}/engagementAPI/v2/customer/engagement?siteID=306&businessUnitID=22&output=json",
                a.base
            ))
            .header("authorization", &auth),
    )
    .await?;
    let eid = v["engagementID"]
        .as_str()
        .ok_or("no engagementID")?
        .to_string();
    let r = client
        .post(format!(
            "{}/engagementAPI/v2/agent/acceptEngagement?registeredId={reg}&output=json",
            a.base
        ))
        .header("authorization", &auth)
        .form(&[
            ("agentId", a.agent.as_str()),
            ("engagementId", eid.as_str()),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("accept: {}", r.status()));
    }
    let body = format!(
        "agentId={}&engagementId={eid}&messageType=chatLine&messageText=benchmark+line",
        a.agent
    );
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.path = \"/engagementAPI/v2/agent/messages?registeredId={reg}&output=json\"\nwrk.body = \"{body}\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.headers[\"Authorization\"] = \"{auth}\"\n"
    );
    std::fs::write(&a.lua, lua).map_err(|e| format!("{}: {e}", a.lua))?;
    println!("wrote {} (engagement {eid})", a.lua);
    Ok(())
}

#[tokio::main]
async fn main() {
    let a = parse();
    let r = match a.mode.as_str() {
        "agents" => agents(a).await,
        "post-setup" => post_setup(a).await,
        _ => Err("usage: bench_agents agents|post-setup --base URL ...".into()),
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
