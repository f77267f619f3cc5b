//! The simulator's settings: agent directory, timing windows, sites, the built-in customer
//! generator and faults. Everything has a documented default (see `src/sim/README.md`); where the
//! reference and the field notes are silent the default is ours, not the vendor's.

use std::time::Duration;

use serde::Deserialize;

use super::faults::{FaultConfig, FaultError};
use super::seed::{Seed, SeedError};
use crate::values::{Distribution, HumanDuration, Range};

/// Why the simulator cannot start with a config (the message names the setting).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("arrival_rate must be a number >= 0, found {0}")]
    ArrivalRate(f64),
    #[error("sites must list at least one site id")]
    NoSites,
    #[error("agents.max_chats must be at least 1")]
    NoChats,
    #[error("reaper_interval must be greater than 0")]
    ReaperInterval,
    #[error("seed_file {}: {cause}", path.display())]
    SeedFile {
        path: std::path::PathBuf,
        cause: String,
    },
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Faults(#[from] FaultError),
    /// The development key pair would not load.
    #[error("{0}")]
    Keys(String),
}

/// Simulator settings (from `--config FILE` or a suite's `simulator:` section).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Who may log in.
    pub agents: AgentDirectory,
    /// Customer engagements per second created by the built-in generator (Poisson); 0 = none.
    pub arrival_rate: f64,
    /// Seeds the generator (arrivals, lines, think times), fault sampling and ids.
    pub seed: u64,
    /// How long GET messages holds before answering 204.
    pub long_poll_hold: HumanDuration,
    /// How long an offer waits for acceptEngagement before it is withdrawn.
    pub accept_window: HumanDuration,
    /// How long an agent may go without polling GET messages before `keepalive_ends` applies.
    pub keepalive_window: HumanDuration,
    /// What a missed keep-alive ends: the agent's session (default) or only its engagements.
    pub keepalive_ends: KeepaliveEnds,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_ttl: HumanDuration,
    /// How often the reaper checks windows, expiries and retention.
    pub reaper_interval: HumanDuration,
    /// How long closed engagements are kept (late calls get 422 instead of 401).
    pub closed_retention: HumanDuration,
    /// Site ids written into tokens (`sites`).
    pub sites: Vec<String>,
    /// Site of engagements created without `siteID` (the built-in generator's).
    pub site_id: String,
    /// The one business unit the simulator serves.
    pub business_unit: String,
    /// Agent group of agents and engagements that name none.
    pub agent_group: String,
    /// Application credentials accepted by the token endpoint.
    pub clients: Vec<ClientCredentials>,
    /// The built-in customers' behaviour.
    pub customers: CustomerBehaviour,
    /// Injected faults.
    pub faults: FaultConfig,
    /// Site seed data from a YAML file (see `src/sim/seed.yaml`); replaces the built-in seed.
    pub seed_file: Option<std::path::PathBuf>,
    /// Site seed data inline (same keys as the file); wins over `seed_file`.
    pub seed_data: Option<Seed>,
    /// How long a conversation closed with `followUp=true` waits in followUpConversations.
    pub follow_up_timeout: HumanDuration,
    /// Browser origins allowed by CORS (default: any loopback origin).
    pub cors: super::cors::CorsConfig,
    /// Where the reference is silent or contradicts itself, take the stricter reading (refuse)
    /// instead of the lenient default; each case is listed in `src/sim/README.md`.
    pub strict: bool,
}

/// What about `keepalive_window` without GET messages ends (issue 16, item 9). The reference
/// (line 204) says the polls keep *the engagement* active and that the system times out after
/// about 30 seconds without them, without saying what else goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepaliveEnds {
    /// The whole agent session: its registeredId gets 401, its offers move on, its chats see
    /// `agentLostConnection` until the agent logs in again and joins them.
    #[default]
    Session,
    /// Only the agent's engagements (as above, offers move on and chats are orphaned until
    /// `joinEngagement`); the session and its registeredId stay valid.
    Engagements,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            agents: AgentDirectory::default(),
            arrival_rate: 0.0,
            seed: 1,
            long_poll_hold: HumanDuration(Duration::from_secs(20)),
            accept_window: HumanDuration(Duration::from_secs(15)),
            keepalive_window: HumanDuration(Duration::from_secs(30)),
            keepalive_ends: KeepaliveEnds::Session,
            token_ttl: HumanDuration(Duration::from_secs(59)),
            reaper_interval: HumanDuration(Duration::from_millis(500)),
            closed_retention: HumanDuration(Duration::from_secs(120)),
            sites: vec!["154".into(), "306".into()],
            site_id: "306".into(),
            business_unit: "22".into(),
            agent_group: "1".into(),
            clients: vec![ClientCredentials {
                client_id: super::DEV_CLIENT_ID.into(),
                client_secret: super::DEV_CLIENT_SECRET.into(),
            }],
            customers: CustomerBehaviour::default(),
            faults: FaultConfig::default(),
            seed_file: None,
            seed_data: None,
            follow_up_timeout: HumanDuration(Duration::from_secs(24 * 3600)),
            cors: Default::default(),
            strict: false,
        }
    }
}

impl SimConfig {
    /// Replaces the generated directory (`agent1..agentN`) with exactly these agents.
    pub fn set_agents<I, U, P>(&mut self, agents: I)
    where
        I: IntoIterator<Item = (U, P)>,
        U: Into<String>,
        P: Into<String>,
    {
        self.agents.list = Some(
            agents
                .into_iter()
                .map(|(u, p)| AgentEntry {
                    username: u.into(),
                    password: p.into(),
                    max_chats: None,
                    agent_group: None,
                })
                .collect(),
        );
    }

    /// Builder form of [`SimConfig::set_agents`].
    pub fn with_agents<I, U, P>(mut self, agents: I) -> Self
    where
        I: IntoIterator<Item = (U, P)>,
        U: Into<String>,
        P: Into<String>,
    {
        self.set_agents(agents);
        self
    }

    /// Checks values serde cannot (ranges, empty lists, unknown operation names in faults).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.arrival_rate.is_finite() && self.arrival_rate >= 0.0) {
            return Err(ConfigError::ArrivalRate(self.arrival_rate));
        }
        if self.sites.is_empty() {
            return Err(ConfigError::NoSites);
        }
        if self.agents.max_chats == 0 {
            return Err(ConfigError::NoChats);
        }
        if self.reaper_interval.0.is_zero() {
            return Err(ConfigError::ReaperInterval);
        }
        if let Some(s) = &self.seed_data {
            s.validate()?;
        }
        Ok(self.faults.validate()?)
    }

    /// The site seed as YAML (`simulate --print-seed`): the built-in file or `seed_file` as
    /// written (comments kept), or `seed_data` rendered; checked like [`SimConfig::load_seed`].
    pub fn seed_yaml(&self) -> Result<String, String> {
        if let Some(s) = &self.seed_data {
            return serde_yaml::to_string(s).map_err(|e| format!("seed_data: {e}"));
        }
        match &self.seed_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("seed_file {}: {e}", path.display()))?;
                Seed::parse(&text).map_err(|e| e.to_string())?;
                Ok(text)
            }
            None => Ok(super::seed::DEFAULT_SEED.to_string()),
        }
    }

    /// The site seed: `seed_data`, else `seed_file`, else the built-in default.
    pub fn load_seed(&self) -> Result<Seed, ConfigError> {
        if let Some(s) = &self.seed_data {
            return Ok(s.clone());
        }
        match &self.seed_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::SeedFile {
                    path: path.clone(),
                    cause: e.to_string(),
                })?;
                Ok(Seed::parse(&text)?)
            }
            None => Ok(Seed::default()),
        }
    }
}

/// The agents who may log in: either `prefix1..prefixN` sharing one password, or an explicit list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentDirectory {
    pub prefix: String,
    pub count: u32,
    pub password: String,
    /// Concurrent chats per agent unless an entry says otherwise.
    pub max_chats: u16,
    /// When set, replaces the generated agents.
    pub list: Option<Vec<AgentEntry>>,
}

impl Default for AgentDirectory {
    fn default() -> Self {
        AgentDirectory {
            prefix: "agent".into(),
            count: 20_000,
            password: "agent-password".into(),
            max_chats: 1,
            list: None,
        }
    }
}

/// One agent of an explicit directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEntry {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub max_chats: Option<u16>,
    #[serde(default)]
    pub agent_group: Option<String>,
}

/// What the directory knows about an agent who logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfile {
    pub max_chats: u16,
    pub agent_group: String,
}

impl AgentDirectory {
    /// Checks a username and password; `None` for an unknown user or a wrong password.
    pub fn authenticate(
        &self,
        username: &str,
        password: &str,
        group: &str,
    ) -> Option<AgentProfile> {
        match &self.list {
            Some(list) => list
                .iter()
                .find(|e| e.username == username && e.password == password)
                .map(|e| AgentProfile {
                    max_chats: e.max_chats.unwrap_or(self.max_chats).max(1),
                    agent_group: e.agent_group.clone().unwrap_or_else(|| group.to_string()),
                }),
            None => {
                let n: u32 = username.strip_prefix(self.prefix.as_str())?.parse().ok()?;
                let digits_ok = !username[self.prefix.len()..].starts_with('0');
                (digits_ok && (1..=self.count).contains(&n) && password == self.password).then(
                    || AgentProfile {
                        max_chats: self.max_chats,
                        agent_group: group.to_string(),
                    },
                )
            }
        }
    }

    /// The profile of a known agent, without checking a password (after changePassword).
    pub fn profile(&self, username: &str, group: &str) -> Option<AgentProfile> {
        match &self.list {
            Some(list) => list
                .iter()
                .find(|e| e.username == username)
                .map(|e| AgentProfile {
                    max_chats: e.max_chats.unwrap_or(self.max_chats).max(1),
                    agent_group: e.agent_group.clone().unwrap_or_else(|| group.to_string()),
                }),
            None => self.knows(username).then(|| AgentProfile {
                max_chats: self.max_chats,
                agent_group: group.to_string(),
            }),
        }
    }

    /// Whether the username exists (for preLoginStatus).
    pub fn knows(&self, username: &str) -> bool {
        match &self.list {
            Some(list) => list.iter().any(|e| e.username == username),
            None => username
                .strip_prefix(self.prefix.as_str())
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| (1..=self.count).contains(&n)),
        }
    }
}

/// An application's client id and secret (HTTP Basic on the token endpoint).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// How built-in customers behave once their engagement exists.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomerBehaviour {
    /// Chat lines each customer sends after an agent accepts.
    pub lines: Range,
    /// Pause before each line (and before closing).
    pub think_time: Distribution,
    /// Sends customerStartsTyping / customerStopsTyping around each line.
    pub typing: bool,
    /// After the last line: close (true) or wait for the agent to close (false).
    pub close_after_lines: bool,
    /// How long a customer waits for an agent (queued or offered) before giving up and closing;
    /// also bounds the wait for the agent to close.
    pub patience: HumanDuration,
}

impl Default for CustomerBehaviour {
    fn default() -> Self {
        CustomerBehaviour {
            lines: Range { min: 3, max: 3 },
            think_time: Distribution::Constant(Duration::from_secs(5)),
            typing: true,
            close_after_lines: true,
            patience: HumanDuration(Duration::from_secs(120)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_directory_accepts_agent1_to_agent_n_only() {
        let d = AgentDirectory {
            count: 3,
            ..AgentDirectory::default()
        };
        assert!(d.authenticate("agent1", "agent-password", "1").is_some());
        assert!(d.authenticate("agent3", "agent-password", "1").is_some());
        assert!(d.authenticate("agent4", "agent-password", "1").is_none());
        assert!(d.authenticate("agent0", "agent-password", "1").is_none());
        assert!(d.authenticate("agent01", "agent-password", "1").is_none());
        assert!(d.authenticate("agent1", "wrong", "1").is_none());
        assert!(d.authenticate("agent", "agent-password", "1").is_none());
        assert!(d.knows("agent2"));
        assert!(!d.knows("bob"));
    }

    #[test]
    fn explicit_list_replaces_generated_agents() {
        let c = SimConfig::default().with_agents([("bob", "pw")]);
        assert!(c.agents.authenticate("bob", "pw", "1").is_some());
        assert!(
            c.agents
                .authenticate("agent1", "agent-password", "1")
                .is_none()
        );
    }

    #[test]
    fn yaml_config_parses_durations_and_rejects_unknown_fields() {
        let c: SimConfig =
            serde_yaml::from_str("long_poll_hold: 2s\narrival_rate: 1.5\nsites: ['1']\n")
                .expect("valid config");
        assert_eq!(c.long_poll_hold.0, Duration::from_secs(2));
        assert_eq!(c.sites, vec!["1".to_string()]);
        assert!(serde_yaml::from_str::<SimConfig>("long_pol_hold: 2s\n").is_err());
    }
}
