//! `aeapi-harness import FILE.har`: a recorded agent-desktop session (a browser's "Save all as
//! HAR", Playwright's `record_har_path`, mitmproxy's `hardump`) → a suite that `validate`
//! accepts and an agents CSV.
//!
//! Flow: `har` splits the file into entries; `calls` keeps those whose method and path are an
//! AEAPI operation (the rest are counted and left out) and notes every secret; `target`,
//! `behaviour` and `schema` infer the target, the persona and the contracts; `write` renders
//! the YAML with a comment on every value. [`import`] is pure (bytes in, texts out); the command
//! layer (`app::import`) reads and writes the files and prints what was removed.

pub mod behaviour;
pub mod calls;
pub mod drift;
pub mod schema;
pub mod target;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::har::{self, HarError};
use write::{Learnt, OpSeen};

/// Why a recording cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Har(#[from] HarError),
    #[error("{}: entries[{entry}]: {reason}", file.display())]
    Entry {
        file: PathBuf,
        entry: usize,
        reason: String,
    },
    #[error("{}: no AEAPI call among its {entries} entries (is it a recording of an agent desktop?)", file.display())]
    NoCalls { file: PathBuf, entries: usize },
    #[error("{}: refusing to write: a secret from the recording would reach {what} (a bug; please report it)", file.display())]
    Leak { file: PathBuf, what: &'static str },
}

/// What `import` produced.
#[derive(Debug)]
pub struct Imported {
    pub suite_yaml: String,
    pub agents_csv: String,
    /// `Authorization header (Bearer) ×40`, ...: what was left out, by name.
    pub removed: Vec<String>,
    /// AEAPI calls without an answer (aborted, or pending when the HAR was saved): entries.
    pub unanswered: Vec<usize>,
    /// What the user must fill in by hand.
    pub warnings: Vec<String>,
    pub entries: usize,
    pub calls: usize,
    pub left_out: usize,
}

/// Names for the suite and its agents CSV reference.
pub struct Names<'a> {
    pub suite_name: &'a str,
    /// The agents CSV as the suite should refer to it.
    pub agents_csv: &'a str,
}

/// Imports the HAR in `bytes` (`file` names it in messages and comments).
pub fn import(file: &Path, bytes: &[u8], names: &Names) -> Result<Imported, ImportError> {
    let rec = har::parse(file, bytes)?;
    let seen = Seen::scan(file, &rec)?;
    if seen.list.is_empty() {
        return Err(ImportError::NoCalls {
            file: file.to_path_buf(),
            entries: rec.len(),
        });
    }
    let behaviour = behaviour::measure(&seen.list);
    let target = target::guess(&seen.list);
    let warnings = warnings(&target, &behaviour);
    let har_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let left_out = rec.len() - seen.list.len() - seen.unanswered.len();
    let learnt = Learnt {
        name: names.suite_name,
        har_name: &har_name,
        creator: &rec.creator,
        entries: rec.len(),
        calls: seen.list.len(),
        left_out,
        unanswered: seen.unanswered.len(),
        target: &target,
        agents: &seen.agents,
        agents_csv: names.agents_csv,
        behaviour: &behaviour,
        ops: &seen.ops,
    };
    let suite_yaml = write::suite(&learnt);
    let agents_csv = write::agents_csv(&seen.agents).map_err(|reason| ImportError::Entry {
        file: file.to_path_buf(),
        entry: seen.agents.first().map_or(0, |a| a.1),
        reason: format!("cannot write the agents CSV: {reason}"),
    })?;
    if let Some(i) = seen.secrets.leaked_into(&[&suite_yaml, &agents_csv]) {
        return Err(ImportError::Leak {
            file: file.to_path_buf(),
            what: if i == 0 {
                "the suite"
            } else {
                "the agents CSV"
            },
        });
    }
    Ok(Imported {
        suite_yaml,
        agents_csv,
        removed: seen.secrets.summary(),
        unanswered: seen.unanswered,
        warnings,
        entries: rec.len(),
        calls: seen.list.len(),
        left_out,
    })
}

/// What one pass over the recording's entries collected.
struct Seen {
    secrets: calls::Secrets,
    /// The answered AEAPI calls, in recording order.
    list: Vec<calls::Call>,
    ops: BTreeMap<&'static str, OpSeen>,
    /// Agent user names with the entry that first named them.
    agents: Vec<(String, usize)>,
    /// Entries of AEAPI calls without an answer.
    unanswered: Vec<usize>,
}

impl Seen {
    fn scan(file: &Path, rec: &har::Recording) -> Result<Seen, ImportError> {
        let mut seen = Seen {
            secrets: calls::Secrets::default(),
            list: Vec::new(),
            ops: BTreeMap::new(),
            agents: Vec::new(),
            unanswered: Vec::new(),
        };
        let mut secrets = calls::Secrets::default();
        each_call(file, rec, &mut secrets, |_, c| seen.add(c))?;
        seen.secrets = secrets;
        Ok(seen)
    }

    fn add(&mut self, c: calls::Call) {
        if c.status == 0 {
            self.unanswered.push(c.entry);
            return;
        }
        let seen = self.ops.entry(c.op.name).or_default();
        seen.statuses.entry(c.status).or_default().push(c.entry);
        if let (true, Some(body)) = (c.ok(), &c.response) {
            seen.shape.add(body);
        }
        seen.times.ms.push(c.time_ms);
        seen.times.entries.push(c.entry);
        if let Some(u) = agent_user(&c).filter(|u| !u.is_empty())
            && !self.agents.iter().any(|(a, _)| *a == u)
        {
            self.agents.push((u, c.entry));
        }
        self.list.push(c);
    }
}

/// Reads every entry of `rec` in order: notes its secrets in `secrets` and hands each AEAPI
/// call (answered or not) to `f`, with its exchange. Returns how many entries were left out
/// (not AEAPI calls). An entry that cannot be read is an error naming it.
pub fn each_call(
    file: &Path,
    rec: &har::Recording,
    secrets: &mut calls::Secrets,
    mut f: impl FnMut(&har::Exchange, calls::Call),
) -> Result<usize, ImportError> {
    let mut left_out = 0;
    for i in 0..rec.len() {
        let x = rec.entry(i)?;
        let call = calls::to_call(&x).map_err(|b| ImportError::Entry {
            file: file.to_path_buf(),
            entry: b.entry,
            reason: b.reason,
        })?;
        secrets.scan(&x, call.as_ref().map(|c| c.op.name));
        match call {
            Some(c) => f(&x, c),
            None => left_out += 1,
        }
    }
    Ok(left_out)
}

/// The agent user name a login-like call carries, if any.
pub fn agent_user(c: &calls::Call) -> Option<String> {
    match c.op.name {
        "login" | "preLoginStatus" => c.param("username"),
        "token" if c.body_field("grant_type").as_deref() == Some("password") => {
            c.body_field("username")
        }
        _ => None,
    }
}

/// What the user must fill in by hand.
fn warnings(target: &target::TargetGuess, behaviour: &behaviour::Behaviour) -> Vec<String> {
    let mut warnings = Vec::new();
    if target.site_id.is_none() {
        warnings.push(
            "no site id in the recording (queries, engagement settings, token): fill in target.site_id"
                .to_string(),
        );
    }
    if behaviour.think.is_empty() {
        warnings.push(
            "no offer followed by an accept or deny: the persona's think time is the harness default"
                .to_string(),
        );
    }
    warnings
}
