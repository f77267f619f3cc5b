//! `aeapi-harness simulate`: serves the embedded AEAPI simulator until Ctrl-C or SIGTERM.

use std::fmt::Write as _;
use std::io::Write;

use super::support;
use super::{AppError, Console, SimulateConfig};
use crate::exit::Exit;
use crate::sim::{self, SimConfig, SimHandle};

/// Serves the simulator. A bad `--config` is exit 2; failing to bind is a harness error.
pub fn execute(console: &mut Console, c: &SimulateConfig) -> Result<Exit, AppError> {
    let config = match &c.config {
        Some(path) => crate::suite::load_yaml::<SimConfig>(path).map_err(AppError::Suite)?,
        None => SimConfig::default(),
    };
    if c.print_seed {
        let yaml = config.seed_yaml().map_err(AppError::Usage)?;
        let _ = console.out.write_all(yaml.as_bytes());
        let _ = console.out.flush();
        return Ok(Exit::Passed);
    }
    let rt = support::runtime()?;
    rt.block_on(async {
        let handle = sim::start(config, c.listen)
            .await
            .map_err(|cause| AppError::Listen {
                addr: c.listen,
                cause,
            })?;
        let _ = console.out.write_all(banner(&handle).as_bytes());
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

/// What a person needs to start: the URLs, the application credentials, the agents, the sites
/// with their business units and agent groups (ids first), and three copy-paste commands that get
/// a token, log the first agent in and start a customer chat on the first unit. Every value comes
/// from the running simulator's config and seed.
pub fn banner(handle: &SimHandle) -> String {
    let config = &handle.sim.config;
    let base = &handle.api_base;
    let token_url = format!("{}/oauth-server/oauth/token", handle.auth_base);
    let client = config
        .clients
        .first()
        .map(|c| (c.client_id.as_str(), c.client_secret.as_str()))
        .unwrap_or((sim::DEV_CLIENT_ID, sim::DEV_CLIENT_SECRET));
    let mut b = String::new();
    let _ = writeln!(b, "AEAPI simulator listening on {}", handle.addr);
    let _ = writeln!(b, "  api base:      {base}");
    let _ = writeln!(b, "  auth base:     {}", handle.auth_base);
    let _ = writeln!(b, "  token url:     {token_url}");
    let _ = writeln!(b, "  openapi:       {base}{}", sim::OPENAPI_PATH);
    let (client_id, client_secret) = client;
    let _ = writeln!(b, "  client id:     {client_id}");
    if client_secret == sim::DEV_CLIENT_SECRET {
        let _ = writeln!(
            b,
            "  client secret: {client_secret} (the reference's public sample secret)"
        );
    } else {
        let _ = writeln!(b, "  client secret: {client_secret} (from the config)");
    }
    let first_agent = agents(&mut b, config);
    sites(&mut b, &handle.sim.seed);
    try_it(&mut b, handle, client, &token_url, first_agent);
    b
}

/// The agent directory (a range, or the first ten listed); returns the first agent's user name
/// and password.
fn agents(b: &mut String, config: &sim::SimConfig) -> (String, String) {
    let dir = &config.agents;
    let first_agent = match &dir.list {
        None => {
            let _ = writeln!(
                b,
                "  agents:        {p}1 … {p}{n} (prefix `{p}`, range 1..={n}), password `{pw}`, {m} chat(s) each",
                p = dir.prefix,
                n = dir.count,
                pw = dir.password,
                m = dir.max_chats,
            );
            (format!("{}1", dir.prefix), dir.password.clone())
        }
        Some(list) => {
            let _ = writeln!(b, "  agents:        {} listed in the config:", list.len());
            for e in list.iter().take(10) {
                let _ = writeln!(b, "    {} password `{}`", e.username, e.password);
            }
            if list.len() > 10 {
                let _ = writeln!(b, "    … and {} more", list.len() - 10);
            }
            list.first()
                .map(|e| (e.username.clone(), e.password.clone()))
                .unwrap_or_default()
        }
    };
    let _ = writeln!(
        b,
        "  agents join agent group {} unless the config names another",
        config.agent_group
    );
    first_agent
}

/// Sites, business units and agent groups, ids first, in seed order.
fn sites(b: &mut String, seed: &sim::seed::Seed) {
    let _ = writeln!(b, "Sites, business units and agent groups (ids):");
    let mut sites: Vec<&str> = Vec::new();
    for u in &seed.business_units {
        if !sites.contains(&u.site_id.as_str()) {
            sites.push(&u.site_id);
        }
    }
    for site in &sites {
        let _ = writeln!(b, "  site {site}");
        for u in seed.business_units.iter().filter(|u| u.site_id == *site) {
            let _ = writeln!(
                b,
                "    business unit {} {} ({})",
                u.id,
                u.name,
                u.display_name.as_deref().unwrap_or(&u.name)
            );
            for g in &u.agent_groups {
                let _ = writeln!(
                    b,
                    "      agent group {} {} ({})",
                    g.id,
                    g.name,
                    g.display_name.as_deref().unwrap_or(&g.name)
                );
            }
        }
    }
}

/// Three copy-paste commands: a token, the first agent's login, a customer chat on the
/// configured default unit when the seed has it (else the first unit).
fn try_it(
    b: &mut String,
    handle: &SimHandle,
    (client_id, client_secret): (&str, &str),
    token_url: &str,
    (agent, password): (String, String),
) {
    let config = &handle.sim.config;
    let seed = &handle.sim.seed;
    let api = format!("{}/engagementAPI/v2", handle.api_base);
    let unit = seed
        .business_units
        .iter()
        .find(|u| u.id == config.business_unit)
        .or_else(|| seed.business_units.first());
    let (site_id, unit_id, group_id) = unit
        .map(|u| {
            let g = u
                .agent_groups
                .iter()
                .find(|g| g.id == config.agent_group)
                .or_else(|| u.agent_groups.first())
                .map(|g| g.id.as_str())
                .unwrap_or(config.agent_group.as_str());
            (u.site_id.as_str(), u.id.as_str(), g)
        })
        .unwrap_or((
            config.site_id.as_str(),
            config.business_unit.as_str(),
            config.agent_group.as_str(),
        ));
    let _ = writeln!(b, "Try it (copy-paste into a POSIX shell):");
    let _ = writeln!(
        b,
        "  TOKEN=$(curl -s -u '{client_id}:{client_secret}' -d grant_type=client_credentials '{token_url}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
    );
    let _ = writeln!(
        b,
        "  curl -s -H \"Authorization: Bearer $TOKEN\" -d username={agent} -d password={password} '{api}/agent/login'"
    );
    let _ = writeln!(
        b,
        "  curl -s -H \"Authorization: Bearer $TOKEN\" -d siteID={site_id} -d businessUnitID={unit_id} -d agentGroupID={group_id} '{api}/customer/engagement'"
    );
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
